"""``fedflm certs``, ``fedflm server start``, ``fedflm client start``: a real
deployment on Flower's Deployment Engine (SuperLink + SuperNodes over TLS with
node authentication). Guide: server/README.md (operator), clients/README.md
(data owner)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fedflm.config import RunConfig
from fedflm.errors import ConfigError

if TYPE_CHECKING:
    from fedflm.owner.settings import OwnerPolicy


def register(sub: argparse._SubParsersAction) -> None:
    _register_certs(sub)
    server = sub.add_parser("server", help="operator: run the federation server (Flower SuperLink)")
    ssub = server.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    _register_server_start(ssub)
    client = sub.add_parser("client", help="data owner: run a node (Flower SuperNode) on an encrypted store")
    csub = client.add_subparsers(dest="client_command", metavar="ACTION", required=True)
    _register_client_start(csub)


def _register_certs(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("certs", help="make a CA, the server's TLS certificate and node key pairs",
                       description="Write ca.pem/ca.key, server.pem/server.key (SAN = --server-host), "
                                   "checkpoint.key and nodes/NAME.key + NAME.pub; private keys are 0600.")
    p.add_argument("--out", type=Path, required=True, help="folder to write (must not hold a CA yet)")
    p.add_argument("--server-host", required=True, help="the IP address or DNS name clients dial")
    p.add_argument("--nodes", type=int, default=0, help="make node-0 .. node-(N-1) key pairs")
    p.add_argument("--node", action="append", default=[], metavar="NAME", help="make a key pair for NAME")
    p.add_argument("--days", type=int, default=365, help="certificate validity in days")
    p.set_defaults(handler=run_certs)


def run_certs(args: argparse.Namespace) -> int:
    from fedflm.deploy.certs import make_certs

    if args.nodes < 0:
        raise ConfigError(f"--nodes must be >= 0, got {args.nodes}")
    names = [f"node-{i}" for i in range(args.nodes)] + list(args.node)
    b = make_certs(args.out, args.server_host, names, args.days)
    print(f"wrote {b.out}:")
    print(f"  public  {b.ca_cert.name:<16} give to every data owner (--ca-cert)")
    print(f"  secret  {b.ca_key.name:<16} the operator's CA key: keep it offline")
    print(f"  secret  {b.server_key.name:<16} + {b.server_cert.name}: the SuperLink's TLS identity")
    print(f"  secret  {b.checkpoint_key.name:<16} encrypts the server's checkpoints")
    for name, (priv, pub) in b.node_keys.items():
        print(f"  node    nodes/{priv.name} (secret, give to {name} only), nodes/{pub.name} (register)")
    return 0


def _register_server_start(ssub: argparse._SubParsersAction) -> None:
    from fedflm.cli.run_flags import add_run_config_flags

    p = ssub.add_parser("start", help="start the SuperLink, register node keys, run the federation",
                        description="Starts a Flower SuperLink (TLS + SuperNode authentication), registers "
                                    "the data owners' public keys, submits the run and waits for it.")
    p.add_argument("--config", type=Path, help="TOML file with the run's keys (flags override it)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9092, help="the SuperLink's one port (default 9092)")
    p.add_argument("--certs", type=Path, help="folder written by `fedflm certs`")
    p.add_argument("--authorized-keys", type=Path, action="append", default=[], metavar="PUB",
                   help="a node's public key (.pub) or a folder of them; repeatable")
    p.add_argument("--checkpoint-key", type=Path, help="checkpoint key file (default CERTS/checkpoint.key)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue RUN_DIR from its last checkpoint")
    p.add_argument("--max-skipped-rounds", type=int, default=3,
                   help="end the run after this many consecutive rounds below --min-clients (default 3)")
    p.add_argument("--insecure", action="store_true", help="NO TLS, NO node auth (trusted test network only)")
    add_run_config_flags(p, defaults={"secure_mode": True})  # a deployment's default is secure
    from fedflm.cli.causal_lm import add_task_flags  # issue 25: --task causal-lm | recommend
    add_task_flags(p)
    p.set_defaults(handler=run_server_start)


def server_config(args: argparse.Namespace) -> RunConfig:
    """Defaults (secure mode ON), then --config or RUN_DIR/config.toml, then flags."""
    from fedflm.cli.simulate import load_config_file

    cfg = RunConfig()
    cfg = dataclasses.replace(cfg, privacy=dataclasses.replace(cfg.privacy, secure_mode=True))
    if args.resume is not None:
        if not (args.resume / "config.toml").is_file():
            raise ConfigError(f"{args.resume}: no config.toml; not a run directory")
        if (args.resume / "summary.json").exists() and not (args.resume / "INCOMPLETE").exists():
            raise ConfigError(f"{args.resume}: this run is already complete; nothing to resume")
        if not (args.resume / "checkpoint.fedflm").is_file():
            raise ConfigError(f"{args.resume}: no checkpoint.fedflm; the run was started without a "
                              "checkpoint key or never finished a round")
        cfg = RunConfig.from_flat(load_config_file(args.resume / "config.toml"), base=cfg)
        cfg = dataclasses.replace(cfg, fed=dataclasses.replace(cfg.fed, out=str(args.resume)))
    elif args.config is not None:
        cfg = RunConfig.from_flat(load_config_file(args.config), base=cfg)
    flags = {k: v for k, v in vars(args).items() if k in RunConfig.flat_keys() and v is not None}
    cfg = RunConfig.from_flat(flags, base=cfg)
    if not cfg.fed.out:
        raise ConfigError("--out RUN_DIR is required for a deployment run")
    return cfg


def task_server_config(args: argparse.Namespace) -> Any:
    """issue 25: ``--task causal-lm | recommend``: the task's config (secure mode on by default, then --config,
    then the flags; a flag of another task is refused by name). The server's held-out data is its own
    ``--eval-file``; these tasks keep no checkpoints, so ``--resume`` is refused."""
    from fedflm.causal.config import CausalRunConfig
    from fedflm.cli.causal_lm import task_values
    from fedflm.cli.simulate import load_config_file
    from fedflm.recommend.config import RecommendRunConfig

    cls = CausalRunConfig if args.task == "causal-lm" else RecommendRunConfig
    if args.resume is not None:
        raise ConfigError(f"--resume is for classification runs: --task {args.task} keeps no checkpoints")
    file_values = load_config_file(args.config) if args.config is not None else {}
    cfg = cls.from_flat({"secure_mode": True, **task_values(cls, args, file_values)})
    if not cfg.out:
        raise ConfigError("--out RUN_DIR is required for a deployment run")
    if not cfg.eval_file:
        raise ConfigError(f"--eval-file FILE is required with --task {args.task} in a deployment: the server's own "
                          "held-out data (the owners' data never reaches the server)")
    return cfg


def run_server_start(args: argparse.Namespace) -> int:
    from fedflm.deploy.paths import absolute_run_paths, absolute_task_paths, resolve_server_args
    from fedflm.deploy.server import ServerOptions, run_foreground

    resolve_server_args(args)  # before any process starts: Flower's run in other directories
    if getattr(args, "task", "classify") != "classify":
        cfg = absolute_task_paths(task_server_config(args))
        if cfg.privacy.dp == "none":
            print(f"WARNING: --dp none: the --task {cfg.TASK} run asks owners to train WITHOUT any privacy guarantee "
                  "(each owner's node refuses it unless its own policy opts in)")
        elif not cfg.privacy.secure_mode:
            print("WARNING: --secure-mode false: DP-SGD noise from a non-cryptographic generator "
                  "(data owners keep secure mode unless they switch it off themselves)")
        opts = ServerOptions(host=args.host, port=args.port, certs=args.certs,
                             authorized_keys=tuple(args.authorized_keys), insecure=args.insecure,
                             max_skipped_rounds=args.max_skipped_rounds)
        return run_foreground(cfg, opts)
    cfg = absolute_run_paths(server_config(args))
    opts = ServerOptions(host=args.host, port=args.port, certs=args.certs,
                         authorized_keys=tuple(args.authorized_keys), insecure=args.insecure,
                         checkpoint_key=args.checkpoint_key, resume=args.resume is not None,
                         max_skipped_rounds=args.max_skipped_rounds)
    if cfg.fed.init_from:  # issue 23: refuse an unusable earlier run now; show what its owners spent
        from fedflm.cli.init_from import continued_text
        from fedflm.models.init_from import read_prior
        read_prior(cfg.fed.init_from)
        print(continued_text(cfg)[0])
    if not cfg.privacy.secure_mode and cfg.privacy.dp == "sample":
        print("WARNING: --secure-mode false: DP-SGD noise from a non-cryptographic generator "
              "(data owners keep secure mode unless they switch it off themselves)")
    return run_foreground(cfg, opts)


def _register_client_start(csub: argparse._SubParsersAction) -> None:
    p = csub.add_parser("start", help="start this data owner's node (Flower SuperNode)",
                        description="Connects to the server over TLS with this node's key and trains on "
                                    "the owner's encrypted store under the owner's own privacy policy "
                                    "(--policy FILE and the flags below; flags override the file). "
                                    "No server run config can change it: rounds that break it are refused.")
    p.add_argument("--server", required=True, help="HOST:PORT of the server's SuperLink")
    p.add_argument("--store", type=Path, required=True, help="the owner's encrypted store (fedflm data prepare)")
    p.add_argument("--key-file", type=Path, required=True, help="the store's key file (0600); also keys "
                   "the privacy ledger's MACs")
    p.add_argument("--state-dir", type=Path, required=True,
                   help="where this owner's privacy ledger and accountant state live (keep it across runs)")
    p.add_argument("--policy", type=Path, metavar="TOML", help="the owner's privacy policy file (clients/README.md)")
    p.add_argument("--max-epsilon", type=float, help="the owner's epsilon cap over all runs (required, here or "
                   "in --policy)")
    p.add_argument("--delta", type=float, help="the owner's delta (runs may ask for less, never more; default 1e-5)")
    p.add_argument("--accountant", choices=("rdp", "prv"), help="the owner's accountant (default rdp)")
    p.add_argument("--max-rounds", type=int, help="most rounds this node trains per run (default 20)")
    p.add_argument("--min-noise-multiplier", type=float, help="smallest noise multiplier accepted (default 0.5)")
    p.add_argument("--allow-dp", action="append", choices=("client", "none"), default=None, metavar="MODE",
                   help="also accept dp MODE (client: the server sees raw clipped updates; none: NO "
                        "privacy); repeatable. Default: sample-level DP only")
    p.add_argument("--publish-ledger", action="store_true", default=None,
                   help="send the whole ledger text to the server for an audit (default: epsilon and the "
                        "ledger's head hash only)")
    p.add_argument("--share-leakage-count", action="store_true", default=None,
                   help="answer a run's --on-leakage check with the exact number of your records that match "
                        "the server's held-out set (NOT covered by epsilon: a server can test guessed texts). "
                        "Default: matches are excluded here and no count is sent")
    p.add_argument("--require-secagg", action="store_true", default=None,
                   help="train only inside secure aggregation (SecAgg+): a run that asks for this node's plain "
                        "update is refused (code 4042, secagg). Default: as the run asks")
    p.add_argument("--accept-sampling-amplification", action="store_true", default=None,
                   help="under a run's --amplify-by-sampling, also compute an AMPLIFIED epsilon from the server's "
                        "CLAIMED sampling rate (shown and sent as epsilon-amplified, withheld when your own "
                        "participation makes the claim implausible). Valid ONLY against an adversary who sees the "
                        "released models alone and only if the server samples as it claims; your ledger, cap and "
                        "refusals always keep the unamplified epsilon. Default: not accepted")
    p.add_argument("--owner-id", default="owner", help="this owner's id in its privacy ledger")
    p.add_argument("--ca-cert", type=Path, help="the operator's CA certificate (ca.pem)")
    p.add_argument("--auth-key", type=Path, help="this node's private key (NAME.key from `fedflm certs`)")
    p.add_argument("--secure-mode", default="true", metavar="BOOL",
                   help="DP noise and sampling from the OS CSPRNG (default true)")
    p.add_argument("--seed", type=int, help="--secure-mode false only: the owner's seed for reproducible noise")
    p.add_argument("--port", type=int, default=0, help="local port of the node's ClientApp API (default: any)")
    p.add_argument("--insecure", action="store_true", help="NO TLS, NO auth (trusted test network only)")
    _register_node_process_flags(p)
    p.set_defaults(handler=run_client_start)


def _register_node_process_flags(p: argparse.ArgumentParser) -> None:
    """How the owner's node runs its training (fedflm/deploy/node_supervisor.py)."""
    p.add_argument("--no-warm", dest="warm", action="store_false",
                   help="no warm trainer: every message starts a fresh process that imports torch, loads the "
                        "model and decrypts the store (Flower's default; slower)")
    p.add_argument("--heartbeat", type=float, metavar="SECONDS",
                   help="seconds between this node's heartbeats (10..1800; default Flower's 30). The server "
                        "marks the node offline after 2 missed intervals and stops waiting for its replies")
    p.add_argument("--connect-retries", type=int, metavar="N",
                   help="connection retries of one SuperNode before `client start` restarts it and, after 3 "
                        "such attempts, prints a diagnosis (default 4, about 15 s per attempt; 1 diagnoses a "
                        "wrong address in seconds)")


def client_policy(args: argparse.Namespace) -> "OwnerPolicy":
    """--policy FILE, then the flags that were given."""
    from fedflm.owner.settings import load_policy

    base = load_policy(args.policy)
    modes = None
    if args.allow_dp:
        modes = tuple(dict.fromkeys((*base.dp_modes, *args.allow_dp)))
    over = {"max_epsilon": args.max_epsilon, "delta": args.delta, "accountant": args.accountant,
            "max_rounds": args.max_rounds, "min_noise_multiplier": args.min_noise_multiplier,
            "dp_modes": modes, "publish_ledger": args.publish_ledger,
            "share_leakage_count": args.share_leakage_count, "require_secagg": args.require_secagg,
            "accept_sampling_amplification": args.accept_sampling_amplification}
    return dataclasses.replace(base, **{k: v for k, v in over.items() if v is not None})


def run_client_start(args: argparse.Namespace) -> int:
    from fedflm.deploy.client import ClientOptions
    from fedflm.deploy.node_supervisor import run_node
    from fedflm.deploy.paths import resolve_client_args
    from fedflm.owner.settings import parse_bool

    resolve_client_args(args)  # before any process starts: the SuperNode runs in --state-dir
    opts = ClientOptions(server=args.server, store=args.store, key_file=args.key_file,
                         state_dir=args.state_dir, owner_id=args.owner_id, ca_cert=args.ca_cert,
                         auth_key=args.auth_key, policy=client_policy(args),
                         secure_mode=parse_bool(args.secure_mode, "--secure-mode"), seed=args.seed,
                         insecure=args.insecure, port=args.port, heartbeat=args.heartbeat,
                         max_retries=args.connect_retries)
    return run_node(opts, warm=args.warm)  # reconnects with backoff across server restarts and new runs
