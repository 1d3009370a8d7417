"""fedflm: privacy-preserving federated LoRA fine-tuning of language models."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["RunConfig", "simulate", "__version__"]


def __getattr__(name: str):  # lazy: importing fedflm stays cheap
    if name == "RunConfig":
        from fedflm.config import RunConfig
        return RunConfig
    if name == "simulate":
        from fedflm.api import simulate
        return simulate
    raise AttributeError(name)
