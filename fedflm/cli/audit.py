"""`fedflm audit ledger|empirical`: thin argparse layer over fedflm.audit.

Handlers return an exit code: 0 all checks passed, 1 verification failed;
user errors raise FedflmError subclasses (exit code 2 via the main CLI).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fedflm.audit.findings import FAIL
from fedflm.audit.keyfile import read_owner_key
from fedflm.errors import ConfigError

LEDGER_HELP = """\
Verify privacy ledgers without trusting the training code: hash chain,
truncation, round order, MACs (with the owner's key) and every recorded
epsilon against independent accountants (Opacus RDP/PRV, dp-accounting
RDP/PLD). PATH: a client state dir (holding ledger.jsonl), a ledger file, or
a run directory (holding ledgers/*.jsonl). Writes report.md, report.json and
epsilon_per_round.png into --out. Exit 0: all checks passed; 1: a check failed.
"""

EMPIRICAL_HELP = """\
Empirical lower bound on epsilon (Steinke, Nasr & Jagielski 2023, one
training run): insert canaries into one client's data, each with probability
1/2, train with the configuration's settings, score the canaries by loss and
turn correct membership guesses into an epsilon lower bound at the stated
confidence. A bound above the claimed epsilon means the DP path is broken.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``audit`` command group to a top-level parser's subparsers."""
    audit = subparsers.add_parser("audit", help="audit privacy: ledgers and empirical leakage",
                                  description="Privacy audit for an auditor who was not part of training.")
    sub = audit.add_subparsers(dest="audit_command", metavar="{ledger,empirical}")
    sub.required = True
    ledger = sub.add_parser("ledger", help="verify ledgers and recompute epsilon", description=LEDGER_HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    ledger.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    ledger.add_argument("--key-file", action="append", default=[], metavar="[OWNER=]FILE",
                        help="owner key (32 raw bytes, hex or base64) to verify MACs; repeat per owner; "
                             "without OWNER= it applies to every ledger")
    ledger.add_argument("--out", type=Path, default=Path("audit-ledger"), help="report directory")
    ledger.add_argument("--final-only", action="store_true",
                        help="evaluate the slow accountants (PRV, PLD) only where needed and at each "
                             "owner's last entry, not after every entry")
    ledger.add_argument("--tolerance", type=float, default=None,
                        help="relative disagreement that fails an entry, e.g. 0.05 = 5%% "
                             "(default: the library's AuditOptions.tolerance, 1%%)")
    ledger.set_defaults(handler=cmd_ledger)
    _add_empirical(sub)


def _add_empirical(sub: argparse._SubParsersAction) -> None:
    emp = sub.add_parser("empirical", help="empirical epsilon lower bound (one training run)",
                         description=EMPIRICAL_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = emp.add_mutually_exclusive_group()
    src.add_argument("--config", type=Path, help="run config TOML (as for `fedflm simulate --config`)")
    src.add_argument("--run", type=Path, help="a run directory: audits the settings in RUN/config.toml")
    emp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config key (e.g. samples_per_client=2000); repeatable")
    emp.add_argument("--canaries", type=int, default=500, help="number of canaries m (default 500)")
    emp.add_argument("--kind", default="unique-token", help="unique-token (default) or random-label")
    emp.add_argument("--confidence", type=float, default=0.95, help="confidence of the bound (default 0.95)")
    emp.add_argument("--rounds", type=int, default=None, help="rounds to train (default: the run's)")
    emp.add_argument("--client", type=int, default=0, help="partition id of the audited client (default 0)")
    emp.add_argument("--seed", type=int, default=None, help="seed for the coin flips (default: OS CSPRNG)")
    emp.add_argument("--delta", type=float, default=None, help="delta of the bound (default: the run's)")
    emp.add_argument("--out", type=Path, default=None, help="write empirical.json and empirical.md here")
    emp.set_defaults(handler=cmd_empirical)


def _empirical_run_config(args: argparse.Namespace):
    import tomllib

    from fedflm.config import RunConfig

    path = args.run / "config.toml" if args.run is not None else args.config
    values: dict = {}
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    cfg = RunConfig.from_flat(values)
    overrides = {}
    for spec in args.set:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {spec!r}")
        overrides[key] = value
    return RunConfig.from_flat(overrides, base=cfg)


def cmd_empirical(args: argparse.Namespace) -> int:
    """Run `audit empirical`; exit 1 when the measured bound exceeds the claimed epsilon."""
    from fedflm.audit.empirical import EmpiricalConfig
    from fedflm.audit.empirical_report import write_empirical_report

    audit = EmpiricalConfig(canaries=args.canaries, kind=args.kind, confidence=args.confidence,
                            rounds=args.rounds, client=args.client, seed=args.seed, delta=args.delta)
    cfg = _empirical_run_config(args)
    from fedflm.audit.empirical import run_empirical_audit

    result = run_empirical_audit(cfg, audit)
    print(result.describe())
    if args.out is not None:
        paths = write_empirical_report(result, cfg, args.out)
        print(f"report: {paths['markdown']}")
    return 1 if result.violated else 0


def _parse_keys(specs: list[str]) -> tuple[dict[str, bytes], bytes | None]:
    keys: dict[str, bytes] = {}
    default: bytes | None = None
    for spec in specs:
        if "=" in spec and not Path(spec).exists():
            owner, path = spec.split("=", 1)
            if not owner:
                raise ConfigError(f"--key-file {spec!r}: empty owner before '='")
            keys[owner] = read_owner_key(path)
        elif default is not None:
            raise ConfigError("--key-file without OWNER= given twice; use OWNER=FILE for each owner")
        else:
            default = read_owner_key(spec)
    return keys, default


def cmd_ledger(args: argparse.Namespace) -> int:
    """Run `audit ledger`; prints one line per finding and the report paths."""
    from fedflm.audit.ledger_audit import AuditOptions, audit_ledgers
    from fedflm.audit.ledger_report import write_ledger_report

    if args.tolerance is not None and not 0 < args.tolerance < 1:
        raise ConfigError(f"--tolerance must be in (0, 1), got {args.tolerance}")
    keys, default = _parse_keys(args.key_file)
    tolerance = {} if args.tolerance is None else {"tolerance": args.tolerance}  # else the library's default
    options = AuditOptions(keys=keys, default_key=default, every_entry=not args.final_only, **tolerance)
    audit = audit_ledgers(args.paths, options)
    paths = write_ledger_report(audit, args.out)
    for f in audit.findings:
        print(f.render(), file=sys.stderr if f.severity == FAIL else sys.stdout)
    fed = audit.federation()
    print(f"{len(audit.owners)} owner(s), {len(audit.files)} ledger file(s); max recorded epsilon "
          f"{fed['epsilon_recorded_max']}; max opacus-rdp {fed['epsilon_max']['opacus-rdp']}")
    n_fail = sum(f.failed for f in audit.findings)
    print(("PASS" if audit.ok else f"FAIL: {n_fail} check(s) failed") + f"; report: {paths['markdown']}")
    return 0 if audit.ok else 1
