"""The flat form shared by the non-classification task configs (``--task causal-lm``, ``--task
recommend``): a frozen dataclass with a ``privacy: DPConfig`` field and a class-level ``TASK`` name.

The flat form -- every own field and DPConfig's, side by side -- is what the CLI, a ``--config``
file, ``RUN/config.toml`` and Flower's run config carry; the run config adds ``task = TASK``,
which sends a Flower message to the task's apps (server/app.py, clients/app.py)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Mapping, TypeVar

import tomli_w

from fedflm.config import DPConfig, coerce_fields
from fedflm.errors import ConfigError

T = TypeVar("T", bound="FlatTaskConfig")


class FlatTaskConfig:
    """Mixin of a frozen task config dataclass with a ``privacy: DPConfig`` field."""

    TASK: ClassVar[str] = ""
    privacy: DPConfig

    @classmethod
    def flat_keys(cls) -> set[str]:
        """Every flat key: this task's own settings and DPConfig's."""
        own = {f.name for f in dataclasses.fields(cls)} - {"privacy"}  # type: ignore[arg-type]
        return own | {f.name for f in dataclasses.fields(DPConfig)}

    def to_flat(self) -> dict[str, Any]:
        """Flat dict of all values (None kept; tuples joined by commas)."""
        flat = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "privacy"}  # type: ignore[arg-type]
        flat |= dataclasses.asdict(self.privacy)
        return {k: ",".join(v) if isinstance(v, tuple) else v for k, v in flat.items()}

    def to_run_config(self) -> dict[str, Any]:
        """Flower ``run_config`` form: dashed keys, None as "", and ``task = TASK``."""
        return {"task": self.TASK} | {k.replace("_", "-"): "" if v is None else v for k, v in self.to_flat().items()}

    def to_toml(self) -> str:
        """``RUN/config.toml``: the flat form, which ``fedflm simulate --task TASK --config`` reads back."""
        return tomli_w.dumps(self.to_run_config())

    @classmethod
    def from_flat(cls: type[T], values: Mapping[str, Any]) -> T:
        """Build from flat keys (dashes or underscores; ``task`` may only name this task); unknown keys are errors."""
        clean = {k.replace("-", "_"): v for k, v in values.items()}
        task = clean.pop("task", cls.TASK)
        if task != cls.TASK:
            raise ConfigError(f"task must be {cls.TASK} here, got {task!r}")
        unknown = sorted(set(clean) - cls.flat_keys())
        if unknown:
            raise ConfigError(f"not a --task {cls.TASK} setting: {', '.join(unknown)}")
        dp_names = {f.name for f in dataclasses.fields(DPConfig)}
        privacy = DPConfig(**coerce_fields(DPConfig, {k: v for k, v in clean.items() if k in dp_names}))
        own = coerce_fields(cls, {k: v for k, v in clean.items() if k not in dp_names})
        return cls(**own, privacy=privacy)  # type: ignore[call-arg]
