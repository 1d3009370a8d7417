"""The data owner's settings: one typed boundary between its CLI and its node.

:class:`OwnerPolicy` is what the owner accepts (DP modes, epsilon cap, delta,
accountant, rounds per run, minimum noise, models, tasks, what it publishes,
whether it trains only inside secure aggregation);
:class:`OwnerSettings` adds where its store, key and privacy state live and
how its randomness is drawn. ``fedflm client start`` builds an
:class:`OwnerSettings`, writes it as the SuperNode's node config
(:meth:`OwnerSettings.to_node_config`, a TOML file) and every ClientApp
process parses it back (:meth:`OwnerSettings.from_node_config`). The keys
are the field names with dashes (policy keys under ``policy.``); there are
no other keys, and one boolean parser (:func:`parse_bool`).

Nothing in a server's run config can change these values: the node checks
the server's request against them (``fedflm.owner.policy``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from fedflm.config import check_epsilon_cap
from fedflm.errors import ConfigError

__all__ = ["DP_MODES", "OwnerPolicy", "OwnerSettings", "load_policy", "parse_bool"]

DP_MODES = ("sample", "client", "none")
ACCOUNTANTS = ("rdp", "prv")
_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
POLICY_PREFIX = "policy."


def parse_bool(value: Any, what: str) -> bool:
    """The one boolean parser: a bool, or true/false/yes/no/on/off/1/0 (any case)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{what} must be true or false, got {value!r}")


def _names(value: Any, what: str) -> tuple[str, ...]:
    """A tuple of names from a tuple/list or a comma-separated string."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out = tuple(str(v).strip() for v in items if str(v).strip())
    if any("," in v for v in out):
        raise ConfigError(f"{what}: names must not contain commas, got {out!r}")
    return out


@dataclass(frozen=True)
class OwnerPolicy:
    """What a data owner accepts. Defaults: sample-level DP only, delta 1e-5,
    RDP, at most 20 rounds per run, noise multiplier at least 0.5, any model and task,
    the ledger kept private. ``max_epsilon`` is required on a deployed node."""

    dp_modes: tuple[str, ...] = ("sample",)
    max_epsilon: float | None = None
    delta: float = 1e-5  # the owner's delta: runs may ask for less, never more (and never > 1/(10 n))
    accountant: str = "rdp"
    max_rounds: int = 20
    min_noise_multiplier: float = 0.5
    models: tuple[str, ...] = ()  # accepted model names/paths ("" = any)
    tasks: tuple[str, ...] = ()  # accepted task (dataset) names ("" = any)
    publish_ledger: bool = False  # send the whole ledger text (for an audit) instead of its head hash
    share_leakage_count: bool = False  # answer the leakage check with its exact overlap count (not DP-protected)
    require_secagg: bool = False  # train only inside secure aggregation (SecAgg+): never send a plain update
    #: issue 24: compute an amplified epsilon from a server's claimed secret sampling rate (never used for the cap)
    accept_sampling_amplification: bool = False

    def __post_init__(self) -> None:
        set_ = lambda name, v: object.__setattr__(self, name, v)  # noqa: E731 - frozen normalisation
        for name in ("dp_modes", "models", "tasks"):
            set_(name, _names(getattr(self, name), name))
        bad = [m for m in self.dp_modes if m not in DP_MODES]
        if bad or not self.dp_modes:
            raise ConfigError(f"dp_modes must be a non-empty subset of {', '.join(DP_MODES)}, got {self.dp_modes!r}")
        check_epsilon_cap(self.max_epsilon)
        if not (isinstance(self.delta, (int, float)) and 0 < self.delta < 1):
            raise ConfigError(f"delta must be in (0, 1), got {self.delta!r}")
        if self.accountant not in ACCOUNTANTS:
            raise ConfigError(f"accountant must be one of {', '.join(ACCOUNTANTS)}, got {self.accountant!r}")
        if not (isinstance(self.max_rounds, int) and self.max_rounds >= 1):
            raise ConfigError(f"max_rounds must be an integer >= 1, got {self.max_rounds!r}")
        if not (math.isfinite(self.min_noise_multiplier) and self.min_noise_multiplier >= 0):
            raise ConfigError(f"min_noise_multiplier must be >= 0, got {self.min_noise_multiplier!r}")
        set_("publish_ledger", parse_bool(self.publish_ledger, "publish_ledger"))
        set_("share_leakage_count", parse_bool(self.share_leakage_count, "share_leakage_count"))
        set_("require_secagg", parse_bool(self.require_secagg, "require_secagg"))
        set_("accept_sampling_amplification",
             parse_bool(self.accept_sampling_amplification, "accept_sampling_amplification"))

    @property
    def allows_no_dp(self) -> bool:
        return "none" in self.dp_modes

    def lines(self) -> list[str]:
        """The policy as the owner's console shows it."""
        cap = "NONE (refuses every DP round)" if self.max_epsilon is None else f"{self.max_epsilon:g}"
        return [f"  DP modes accepted   {', '.join(self.dp_modes)}",
                f"  epsilon cap         {cap} (all runs on this data together)",
                f"  delta               {self.delta:g} ({self.accountant.upper()} accountant)",
                f"  rounds per run      at most {self.max_rounds}",
                f"  noise multiplier    at least {self.min_noise_multiplier:g}",
                f"  models              {', '.join(self.models) or 'any'}",
                f"  tasks               {', '.join(self.tasks) or 'any'}",
                f"  ledger to server    {'whole ledger (published for audit)' if self.publish_ledger else 'epsilon and head hash only'}",
                f"  leakage check       {'EXACT overlap count sent (not covered by epsilon)' if self.share_leakage_count else 'matches excluded here, no count sent'}",
                "  secure aggregation  " + ("REQUIRED (plain requests refused)" if self.require_secagg
                                            else "as the run asks"),
                "  sampling claims     " + ("amplified epsilon shown (server's claim; cap stays unamplified)"
                                            if self.accept_sampling_amplification else "not accepted (unamplified only)")]


@dataclass(frozen=True)
class OwnerSettings:
    """A data owner's node: its data, its privacy state, its randomness, its policy."""

    owner_id: str
    state_dir: Path  # root of the owner's privacy state; the ledger is state_dir/owner_id/ledger.jsonl
    store: Path | None = None  # encrypted store (None: a simulated owner)
    key_file: Path | None = None  # the store's key; also keys the ledger MACs (HKDF-separated)
    secure_mode: bool = True  # DP noise and sampling from the OS CSPRNG
    seed: int | None = None  # secure_mode off only: the owner's own seed (None: fresh OS entropy)
    policy: OwnerPolicy = field(default_factory=OwnerPolicy)

    def __post_init__(self) -> None:
        if not isinstance(self.owner_id, str) or not _OWNER_RE.match(self.owner_id):
            raise ConfigError(f"owner_id must be 1-128 characters [A-Za-z0-9._-], got {self.owner_id!r}")
        for name in ("state_dir", "store", "key_file"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, Path):
                object.__setattr__(self, name, Path(str(v)))
        object.__setattr__(self, "secure_mode", parse_bool(self.secure_mode, "secure_mode"))
        if self.store is not None and self.key_file is None:
            raise ConfigError(f"owner {self.owner_id!r}: a store needs its key file")
        if self.secure_mode and self.seed is not None:
            raise ConfigError("seed is for secure_mode=false only (secure noise is never seeded)")

    @property
    def deployed(self) -> bool:
        return self.store is not None

    @property
    def owner_dir(self) -> Path:
        return self.state_dir / self.owner_id

    # ------------------------------------------------------------ node config
    def to_node_config(self) -> dict[str, Any]:
        """The SuperNode's node config (TOML-able: strings, numbers, booleans, one table)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name != "policy" and v is not None:
                out[f.name.replace("_", "-")] = str(v.resolve()) if isinstance(v, Path) else v
        out["policy"] = {f.name.replace("_", "-"): _flat(getattr(self.policy, f.name))
                         for f in fields(OwnerPolicy) if getattr(self.policy, f.name) is not None}
        return out

    @classmethod
    def from_node_config(cls, node_config: Mapping[str, Any]) -> OwnerSettings:
        """Parse what :meth:`to_node_config` wrote (as Flower flattens it: ``policy.KEY``)."""
        mine = {f.name.replace("_", "-"): f.name for f in fields(cls) if f.name != "policy"}
        pol = {f.name.replace("_", "-"): f for f in fields(OwnerPolicy)}
        top: dict[str, Any] = {}
        policy: dict[str, Any] = {}
        for key, value in node_config.items():
            if key.startswith(POLICY_PREFIX) and key[len(POLICY_PREFIX):] in pol:
                f = pol[key[len(POLICY_PREFIX):]]
                policy[f.name] = _typed(f, value, key)
            elif key in mine:
                top[mine[key]] = value
            elif key not in ("partition-id", "num-partitions"):  # Flower's simulation keys
                raise ConfigError(f"node config: unknown key {key!r}")
        if "owner_id" not in top or "state_dir" not in top:
            raise ConfigError("node config must name owner-id and state-dir")
        if "seed" in top:
            top["seed"] = int(top["seed"])
        return cls(**top, policy=OwnerPolicy(**policy))

    def replace(self, **changes: Any) -> OwnerSettings:
        return dataclasses.replace(self, **changes)


def _flat(v: Any) -> Any:
    return ",".join(v) if isinstance(v, tuple) else v


def _typed(f: dataclasses.Field, value: Any, key: str) -> Any:
    t = str(f.type)
    try:
        if t.startswith("bool"):
            return parse_bool(value, key)
        if t.startswith("int"):
            return int(value)
        if t.startswith("float"):
            return None if value in ("", None) else float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be of type {t}, got {value!r}") from None
    return value


def load_policy(path: Path | None, **overrides: Any) -> OwnerPolicy:
    """An owner policy from a TOML file (keys = OwnerPolicy fields, dashes or underscores;
    a ``[policy]`` table is also accepted), then the flags that were given (``overrides``)."""
    if path is None:
        return OwnerPolicy(**{k: v for k, v in overrides.items() if v is not None})
    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: policy file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    raw = raw.get("policy", raw) if isinstance(raw.get("policy"), dict) else raw
    known = {f.name: f for f in fields(OwnerPolicy)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"{path}: unknown policy key {key!r} (known: {', '.join(sorted(known))})")
        values[name] = _typed(known[name], value, f"{path}: {key}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return OwnerPolicy(**values)
