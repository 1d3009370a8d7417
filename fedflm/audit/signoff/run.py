"""Run every audit for a run directory and its owners' state directories."""

from __future__ import annotations

import dataclasses
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedflm.audit.ledger.audit import AuditOptions, LedgerAudit, audit_ledgers, find_ledgers
from fedflm.audit.mechanism.config import MechanismConfig
from fedflm.audit.signoff.inputs import manifest

MechanismOutcome = Any  # MechanismResult, or a str saying why the owner was not audited


@dataclass(frozen=True)
class SignOffOptions:
    """Settings of ``fedflm audit all``."""

    ledger: AuditOptions = field(default_factory=AuditOptions)
    mechanism: MechanismConfig = field(default_factory=MechanismConfig)
    owners: tuple[str, ...] = ()  # () = every owner
    empirical: bool = False
    empirical_canaries: int = 500
    secure_mode: bool | None = None  # None: the run config's (the ledger does not record it)


def audit_owner_mechanisms(run_dir: Path, paths: Sequence[Path], ledger_options: AuditOptions,
                           config: MechanismConfig, owners: Sequence[str] = (), secure_mode: bool | None = None
                           ) -> tuple[LedgerAudit, dict[str, MechanismOutcome]]:
    """The ledger audit of the run's and the owners' ledgers, then each owner's mechanism audit."""
    from fedflm.audit.mechanism.audit import audit_mechanism
    from fedflm.audit.mechanism.owner import load_run, owner_claim, owner_model

    ledger = audit_ledgers([run_dir, *paths], ledger_options)
    cfg, labels = load_run(run_dir)
    results: dict[str, MechanismOutcome] = {}
    model = None
    for o in ledger.owners:
        if owners and o.owner not in owners:
            continue
        claim = owner_claim(o, cfg, secure_mode) if cfg.privacy.dp == "sample" else None
        if claim is None:
            results[o.owner] = f"not audited: no sample-level DP-SGD step recorded (run dp = {cfg.privacy.dp})"
            continue
        model = model if model is not None else owner_model(cfg, labels)
        results[o.owner] = audit_mechanism(model, claim, config)
    return ledger, results


@dataclass
class SignOff:
    """Everything ``audit all`` found."""

    run_dir: Path
    ledger: LedgerAudit
    mechanism: dict[str, MechanismOutcome]
    empirical: Any  # EmpiricalResult or None
    manifest: dict[str, Any]
    options: SignOffOptions

    def owner_verdicts(self) -> dict[str, dict[str, str]]:
        """Per owner: 'PASS' / 'FAIL' / 'not run' for each check."""
        failed_owners = {f.owner for f in self.ledger.findings if f.failed}
        out = {}
        for o in self.ledger.owners:
            mech = self.mechanism.get(o.owner, "not run")
            out[o.owner] = {
                "ledger": "FAIL" if o.owner in failed_owners else "PASS",
                "mechanism": mech if isinstance(mech, str) else ("FAIL" if mech.violated else "PASS"),
            }
        return out

    @property
    def ok(self) -> bool:
        mech_ok = all(isinstance(r, str) or not r.violated for r in self.mechanism.values())
        emp_ok = self.empirical is None or not self.empirical.violated
        return self.ledger.ok and mech_ok and emp_ok

    def summary_lines(self) -> list[str]:
        lines = [f.render() for f in self.ledger.findings if f.failed]
        for owner, v in self.owner_verdicts().items():
            lines.append(f"owner {owner}: ledger {v['ledger']}; mechanism {v['mechanism']}")
        if self.empirical is not None:
            lines.append(f"empirical (client {self.empirical.client}): "
                         + ("FAIL" if self.empirical.violated else "PASS"))
        lines.append(f"inputs sha256 {self.manifest['inputs_sha256']}")
        return lines


def _empirical(run_dir: Path, canaries: int, seed: int) -> Any:
    from fedflm.audit.empirical.audit import EmpiricalConfig, run_empirical_audit
    from fedflm.audit.mechanism.owner import load_run

    cfg, _ = load_run(run_dir)
    return run_empirical_audit(cfg, EmpiricalConfig(canaries=canaries, seed=seed))


def sign_off(run_dir: Path, paths: Sequence[Path], options: SignOffOptions) -> SignOff:
    """Ledger + mechanism (+ empirical) audits; the seed is drawn and recorded when none is given."""
    seed = options.mechanism.seed if options.mechanism.seed is not None else secrets.randbits(63)
    mech_cfg = dataclasses.replace(options.mechanism, seed=seed)
    lo = options.ledger
    keys = dict(lo.keys) | ({"*": lo.default_key} if lo.default_key is not None else {})
    files = [run_dir / "config.toml", run_dir / "summary.json", *find_ledgers([run_dir, *paths])]
    settings = {"mechanism": dataclasses.asdict(mech_cfg), "owners": list(options.owners),
                "secure_mode": options.secure_mode,
                "tolerance": lo.tolerance, "every_entry": lo.every_entry, "empirical": options.empirical,
                "empirical_canaries": options.empirical_canaries if options.empirical else None}
    man = manifest([f for f in files if f.is_file()], keys, settings)
    ledger, mech = audit_owner_mechanisms(run_dir, paths, lo, mech_cfg, options.owners, options.secure_mode)
    emp = _empirical(run_dir, options.empirical_canaries, seed) if options.empirical else None
    return SignOff(run_dir, ledger, mech, emp, man, dataclasses.replace(options, mechanism=mech_cfg))


def fmt(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "–"
    return "∞" if math.isinf(x) else f"{x:.{digits}f}"
