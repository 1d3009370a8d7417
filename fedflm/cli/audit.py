"""`fedflm audit ledger|mechanism|empirical|all`: thin argparse layer over fedflm.audit.

Handlers return an exit code: 0 all checks passed, 1 verification failed;
user errors raise FedflmError subclasses (exit code 2 via the main CLI).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fedflm.audit.ledger.defaults import DEFAULT_TOLERANCE
from fedflm.audit.ledger.findings import FAIL
from fedflm.audit.ledger.keyfile import read_owner_key
from fedflm.audit.mechanism.config import MechanismConfig
from fedflm.errors import ConfigError

LEDGER_HELP = """\
Verify privacy ledgers without trusting the training code: hash chain,
truncation, round order, MACs (with the owner's key) and every recorded
epsilon against independent accountants (Opacus RDP/PRV, dp-accounting
RDP/PLD). PATH: an owner's state dir (holding ledger.jsonl), a state dir of
several owners (holding OWNER/ledger.jsonl), a ledger file, or a run
directory (holding ledgers/*.jsonl). Writes report.md, report.json and
epsilon_per_round.png into --out. Exit 0: all checks passed; 1: a check failed.
"""

EMPIRICAL_HELP = """\
Empirical lower bound on epsilon (Steinke, Nasr & Jagielski 2023, one
training run): insert canaries into one client's data, each with probability
1/2, train with the configuration's settings, score the canaries by loss and
turn correct membership guesses into an epsilon lower bound at the stated
confidence. A bound above the claimed epsilon means the DP path is broken.
"""


MECHANISM_HELP = """\
White-box audit of each owner's DP-SGD step: the node's own Opacus wiring
(sampler, clipping, noise, secure mode) runs the owner's recorded sigma, q
and steps on the run's model, with Dirac gradient canaries (one coordinate
each, included with probability 1/2) on canary-only batches: no data of the
owner is read. Every step's update is observed, and the one-run (Steinke,
Nasr & Jagielski 2023) and composed per-step (Nasr et al. 2023) lower bounds
on epsilon are compared with the claim, and the batches with Poisson
sampling. Exit 0: every owner passes; 1: a bound exceeds a claim or the
sampler is not Poisson.
"""

ALL_HELP = """\
An auditor's sign-off: the ledger audit of the run's and the owners' ledgers,
the mechanism audit of every owner's DP-SGD step, and with --empirical the
black-box canary audit, in one audit.html (verdict per owner, what was
checked, what was trusted, the limits, a hash of the inputs). Exit 0 when
every check passes, 1 when one fails.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``audit`` command group to a top-level parser's subparsers."""
    audit = subparsers.add_parser("audit", help="audit privacy: ledgers and empirical leakage",
                                  description="Privacy audit for an auditor who was not part of training.")
    sub = audit.add_subparsers(dest="audit_command", metavar="{ledger,mechanism,empirical,all}")
    sub.required = True
    ledger = sub.add_parser("ledger", help="verify ledgers and recompute epsilon", description=LEDGER_HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    ledger.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    _add_ledger_options(ledger)
    ledger.add_argument("--out", type=Path, default=Path("audit-ledger"), help="report directory")
    ledger.set_defaults(handler=cmd_ledger)
    _add_mechanism(sub)
    _add_empirical(sub)
    _add_all(sub)


def _add_ledger_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key-file", action="append", default=[], metavar="[OWNER=]FILE",
                        help="owner key (32 raw bytes, hex or base64) to verify MACs; repeat per owner; "
                             "without OWNER= it applies to every ledger")
    parser.add_argument("--final-only", action="store_true",
                        help="evaluate the slow accountants (PRV, PLD) only where needed and at each "
                             "owner's last entry, not after every entry")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                        help=f"relative disagreement that fails an entry (default {DEFAULT_TOLERANCE:g})")


def _add_mechanism_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--canaries", type=int, default=MechanismConfig.canaries,
                        help=f"Dirac canaries per run (default {MechanismConfig.canaries}; at most the model's "
                             f"trainable coordinates)")
    parser.add_argument("--runs", type=int, default=MechanismConfig.runs,
                        help=f"repetitions of the owner's steps (default {MechanismConfig.runs})")
    parser.add_argument("--confidence", type=float, default=MechanismConfig.confidence,
                        help="confidence of the bounds (default 0.95)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the canaries' coin flips and, unless the owners used secure mode, the "
                             "steps' noise and batches: same inputs and seed, same verdict (default: the OS CSPRNG)")
    parser.add_argument("--owner", action="append", default=[], help="audit only this owner (repeatable)")
    parser.add_argument("--secure-mode", choices=("on", "off"), default=None,
                        help="the owners' DP secure mode (the ledger does not record it; default: the run config's; "
                             "deployed nodes default to on)")


def _add_mechanism(sub: argparse._SubParsersAction) -> None:
    mech = sub.add_parser("mechanism", help="white-box gradient-canary audit of each owner's DP-SGD step",
                          description=MECHANISM_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    mech.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    mech.add_argument("paths", nargs="*", type=Path, metavar="STATE_DIR",
                      help="owners' state dirs or ledgers (default: the run's copies in RUN_DIR/ledgers)")
    _add_ledger_options(mech)
    _add_mechanism_options(mech)
    mech.add_argument("--out", type=Path, default=None, help="write mechanism.json here")
    mech.set_defaults(handler=cmd_mechanism)


def _add_all(sub: argparse._SubParsersAction) -> None:
    every = sub.add_parser("all", help="ledger + mechanism (+ empirical) audit, one audit.html",
                           description=ALL_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    every.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    every.add_argument("paths", nargs="*", type=Path, metavar="STATE_DIR", help="owners' state dirs or ledgers")
    _add_ledger_options(every)
    _add_mechanism_options(every)
    every.add_argument("--empirical", action="store_true", help="also run the black-box canary audit (trains)")
    every.add_argument("--empirical-canaries", type=int, default=500, help="canaries of the empirical audit")
    every.add_argument("--out", type=Path, default=Path("audit-all"), help="directory for audit.html and audit.json")
    every.set_defaults(handler=cmd_all)


def _add_empirical(sub: argparse._SubParsersAction) -> None:
    emp = sub.add_parser("empirical", help="empirical epsilon lower bound (one training run)",
                         description=EMPIRICAL_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = emp.add_mutually_exclusive_group()
    src.add_argument("--config", type=Path, help="run config TOML (as for `fedflm simulate --config`)")
    src.add_argument("--run", type=Path, help="a run directory: audits the settings in RUN/config.toml")
    emp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config key (e.g. samples_per_client=2000); repeatable")
    emp.add_argument("--canaries", type=int, default=500, help="number of canaries m (default 500)")
    emp.add_argument("--kind", default="unique-token",
                     help="unique-token (default), far-token (far apart under the public encoder) or random-label")
    emp.add_argument("--confidence", type=float, default=0.95, help="confidence of the bound (default 0.95)")
    emp.add_argument("--guess", choices=("both", "out", "in"), default="both",
                     help="canaries guessed on: both = the lowest and highest losses (default); out = only the "
                          "highest losses, guessed excluded, abstaining on the rest (stronger for a frozen-encoder head)")
    emp.add_argument("--rounds", type=int, default=None, help="rounds to train (default: the run's)")
    emp.add_argument("--client", type=int, default=0, help="partition id of the audited client (default 0)")
    emp.add_argument("--seed", type=int, default=None, help="seed for the coin flips (default: OS CSPRNG)")
    emp.add_argument("--delta", type=float, default=None, help="delta of the bound (default: the run's)")
    emp.add_argument("--feature-cache", choices=("run", "on", "off"), default="run",
                     help="frozen-feature cache while training: run = the run's setting, what its nodes do "
                          "(default); off = run the encoder every step")
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
    from fedflm.audit.empirical.audit import EmpiricalConfig
    from fedflm.audit.empirical.report import write_empirical_report

    audit = EmpiricalConfig(canaries=args.canaries, kind=args.kind, confidence=args.confidence,
                            rounds=args.rounds, client=args.client, seed=args.seed, delta=args.delta,
                            feature_cache={"run": None, "on": True, "off": False}[args.feature_cache],
                            guess=args.guess)
    cfg = _empirical_run_config(args)
    from fedflm.audit.empirical.audit import run_empirical_audit

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


def _ledger_options(args: argparse.Namespace):
    from fedflm.audit.ledger.audit import AuditOptions

    if not 0 < args.tolerance < 1:
        raise ConfigError(f"--tolerance must be in (0, 1), got {args.tolerance}")
    keys, default = _parse_keys(args.key_file)
    return AuditOptions(keys=keys, default_key=default, every_entry=not args.final_only, tolerance=args.tolerance)


def _mechanism_config(args: argparse.Namespace) -> MechanismConfig:
    return MechanismConfig(canaries=args.canaries, runs=args.runs, confidence=args.confidence, seed=args.seed)


def _secure_mode(args: argparse.Namespace) -> bool | None:
    return None if args.secure_mode is None else args.secure_mode == "on"


def cmd_mechanism(args: argparse.Namespace) -> int:
    """Run `audit mechanism`; one verdict per owner, exit 1 when one fails."""
    import json

    from fedflm.audit.signoff.run import audit_owner_mechanisms

    ledger, results = audit_owner_mechanisms(args.run_dir, args.paths, _ledger_options(args),
                                             _mechanism_config(args), args.owner, _secure_mode(args))
    for f in ledger.findings:
        if f.failed:
            print(f.render(), file=sys.stderr)
    for owner, res in results.items():
        print(f"owner {owner}: " + (res if isinstance(res, str) else res.describe()))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        data = {o: (r if isinstance(r, str) else r.to_json()) for o, r in results.items()}
        (args.out / "mechanism.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    failed = not ledger.ok or any(not isinstance(r, str) and r.violated for r in results.values())
    print("FAIL" if failed else "PASS")
    return 1 if failed else 0


def cmd_all(args: argparse.Namespace) -> int:
    """Run `audit all`; writes audit.html and audit.json, exit 1 when a check fails."""
    from fedflm.audit.signoff.html import write_signoff
    from fedflm.audit.signoff.run import SignOffOptions, sign_off

    options = SignOffOptions(ledger=_ledger_options(args), mechanism=_mechanism_config(args),
                             owners=tuple(args.owner), empirical=args.empirical,
                             empirical_canaries=args.empirical_canaries, secure_mode=_secure_mode(args))
    result = sign_off(args.run_dir, args.paths, options)
    paths = write_signoff(result, args.out)
    for line in result.summary_lines():
        print(line)
    print(("PASS" if result.ok else "FAIL") + f"; report: {paths['html']}")
    return 0 if result.ok else 1


def cmd_ledger(args: argparse.Namespace) -> int:
    """Run `audit ledger`; prints one line per finding and the report paths."""
    from fedflm.audit.ledger.audit import audit_ledgers
    from fedflm.audit.ledger.report import write_ledger_report

    audit = audit_ledgers(args.paths, _ledger_options(args))
    paths = write_ledger_report(audit, args.out)
    for f in audit.findings:
        print(f.render(), file=sys.stderr if f.severity == FAIL else sys.stdout)
    fed = audit.federation()
    print(f"{len(audit.owners)} owner(s), {len(audit.files)} ledger file(s); max recorded epsilon "
          f"{fed['epsilon_recorded_max']}; max opacus-rdp {fed['epsilon_max']['opacus-rdp']}")
    n_fail = sum(f.failed for f in audit.findings)
    print(("PASS" if audit.ok else f"FAIL: {n_fail} check(s) failed") + f"; report: {paths['markdown']}")
    return 0 if audit.ok else 1
