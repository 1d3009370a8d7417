"""``fedflm data``: keygen, prepare, inspect, rotate-key for data owners.

Each handler takes the parsed arguments and returns an exit code; user errors
raise :class:`~fedflm.errors.FedflmError` subclasses (``fedflm.cli.main``
prints them as one line). Usable alone: ``python -m fedflm.cli.data ...``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from fedflm.errors import ConfigError, DecryptionError, FedflmError

KEY_HELP = "key file (from 'fedflm data keygen'); default: $FEDFLM_DATA_KEY (hex or base64)"


def _key(path: Path | None):
    """Load a key, printing permission warnings as one line each on stderr."""
    from fedflm.protect.keys import resolve_key
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        key = resolve_key(path)
    for w in caught:
        print(f"fedflm: warning: {w.message}", file=sys.stderr)
    return key


def cmd_keygen(args: argparse.Namespace) -> int:
    from fedflm.protect.keys import write_key_file
    key = write_key_file(args.out)
    print(f"wrote a new 256-bit key to {args.out} (mode 0600, key id {key.key_id})")
    print("keep it secret and backed up: without it the data cannot be decrypted")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from fedflm.protect.deid import DeidConfig
    from fedflm.protect.prepare import DEID_OFF_WARNING, PrepareConfig, prepare_file
    key = _key(args.key_file)
    deid = args.deid == "on"
    if not deid:
        bar = "!" * 78
        print(f"{bar}\nWARNING: {DEID_OFF_WARNING}.\nThis is recorded in the store's manifest.\n{bar}",
              file=sys.stderr)
    if args.task == "classify" and not (args.text_column and args.label_column):
        raise ConfigError("--text-column and --label-column are required with --task classify (the default)")
    if args.task != "classify" and (args.text_column or args.label_column):
        raise ConfigError(f"--text-column / --label-column are for --task classify; --task {args.task} reads "
                          "its own format (fedflm/owner/task_store.py)")
    cfg = PrepareConfig(text_column=args.text_column or "text", label_column=args.label_column or "label",
                        deid=deid, deid_config=DeidConfig(engine=args.deid_engine), chunk_rows=args.chunk_rows,
                        rows_per_shard=args.rows_per_shard)
    t0 = time.perf_counter()
    if args.task == "classify":
        summary = prepare_file(args.input, args.out, key, cfg)
    else:  # issue 25: the task's own format, de-identified and encrypted the same way
        from fedflm.owner.task_store import prepare_task_file
        summary = prepare_task_file(args.task, args.input, args.out, key, cfg)
    elapsed = time.perf_counter() - t0
    print(f"wrote {args.out}: {summary['rows']} rows in {summary['shards']} encrypted shard(s), "
          f"{len(summary['label_names'])} labels, key id {key.key_id}, {elapsed:.1f}s")
    print(_deid_line(summary["deid"]))
    return 0


def _deid_line(report: dict[str, Any]) -> str:
    if not report.get("enabled"):
        return f"de-identification: OFF — {report.get('warning', '')}"
    counts = ", ".join(f"{k} {v}" for k, v in report.get("counts", {}).items()) or "nothing found"
    return (f"de-identification: on ({report.get('engine')}): {counts}; "
            f"{report.get('records_changed', 0)} of {report.get('records', 0)} records changed")


def cmd_inspect(args: argparse.Namespace) -> int:
    from fedflm.protect.store import open_store, verify_store
    key = _key(args.key_file)
    manifest, status = verify_store(args.store, key)
    body, header = manifest.body, manifest.header
    print(f"store {args.store}: format {header.format_version}, dataset {header.dataset_id}, "
          f"key id {header.key_id}, generation {header.generation}")
    tool = body.get("tool", {})
    print(f"written by {tool.get('name')} {tool.get('version')} at {body.get('written_at')}"
          + (f", key rotated at {body['rotated_at']}" if "rotated_at" in body else ""))
    print(f"rows: {body['rows']} in {len(body['shards'])} shard(s); task {body.get('task', 'classify')}")
    width = max((len(n) for n in manifest.label_names), default=0)
    print("labels:")
    for name, count in zip(manifest.label_names, body["label_counts"]):
        print(f"  {name:<{width}}  {count}")
    print(_deid_line(body.get("deid", {})))
    for warning in body.get("warnings", []):
        print(f"WARNING: {warning}")
    bad = [s for s in status if not s["ok"]]
    print(f"shards: {len(status) - len(bad)} of {len(status)} authenticated")
    for s in bad:
        print(f"  FAILED {s['error']}")
    if bad:
        raise DecryptionError(f"{len(bad)} of {len(status)} shard(s) failed: {bad[0]['error']}")
    if args.show or args.risk is not None:
        ds = open_store(args.store, key)
        for row in ds.select(range(min(args.show, len(ds)))):
            print(f"[{manifest.label_names[row['label']]}] {row['text']!r}")
        if args.risk is not None:
            _print_risk(ds["text"], args.risk)
    return 0


def _print_risk(texts: list[str], top: int) -> None:
    """Residual-risk tokens, on this console only (never logged or saved)."""
    from fedflm.protect.deid_lexicon import build_lexicon, common_vocab
    from fedflm.protect.deid_risk import risk_tokens
    tokens = risk_tokens(texts, common_vocab(), top, build_lexicon().is_name)
    print(f"residual risk: {len(tokens)} token(s) most likely to be missed names or numbers "
          f"(shown on this console only; review them before training):")
    width = max((len(t.token) for t in tokens), default=0)
    for t in tokens:
        print(f"  {t.token:<{width}}  {t.count:>6}x  {t.reason}")


def cmd_rotate(args: argparse.Namespace) -> int:
    from fedflm.protect.store import rotate_key
    old, new = _key(args.key_file), _key(args.new_key_file)
    manifest = rotate_key(args.store, old, new)
    print(f"re-encrypted {len(manifest.body['shards'])} shard(s) of {args.store} under key id "
          f"{new.key_id}; key id {old.key_id} no longer opens it")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``data`` command group to a top-level parser's subparsers."""
    data = subparsers.add_parser("data", help="data owners: keys, de-identified encrypted stores",
                                 description="Prepare a data owner's labelled text: de-identify, "
                                             "encrypt at rest, inspect, rotate keys.")
    sub = data.add_subparsers(dest="data_command", metavar="{keygen,prepare,inspect,rotate-key}")
    sub.required = True
    p = sub.add_parser("keygen", help="create a 256-bit key file (mode 0600, never overwritten)")
    p.add_argument("--out", type=Path, required=True, metavar="KEYFILE")
    p.set_defaults(handler=cmd_keygen)
    p = sub.add_parser("prepare", help="de-identify and encrypt a CSV/TSV/JSONL/Parquet file (or a task's records)")
    p.add_argument("input", type=Path, metavar="INPUT")
    p.add_argument("--task", choices=("classify", "causal-lm", "recommend"), default="classify",
                   help="classify (default): labelled text (--text-column, --label-column) | causal-lm: "
                        "instruction/response .jsonl or plain .txt | recommend: an interaction log .csv/.jsonl "
                        "(user_id,item_id,item_text,timestamp,label; user ids pseudonymised, timestamps kept "
                        "as order only)")
    p.add_argument("--text-column", metavar="T", help="--task classify: the text column (required)")
    p.add_argument("--label-column", metavar="L", help="--task classify: the label column (required)")
    p.add_argument("--out", type=Path, required=True, metavar="STORE", help="new store directory")
    p.add_argument("--key-file", type=Path, metavar="KEYFILE", help=KEY_HELP)
    p.add_argument("--deid", choices=("on", "off"), default="on",
                   help="de-identification (default on; 'off' stores raw text and says so loudly)")
    p.add_argument("--deid-engine", choices=("learned", "patterns", "spacy"), default="learned",
                   help="learned (default): recognizers + name lexicon + fedflm's shipped NER model for "
                        "names and addresses in any case; patterns: recognizers + lexicon only (fastest); "
                        "spacy: third-party spaCy NER persons instead of fedflm's model")
    p.add_argument("--rows-per-shard", type=int, default=5000)
    p.add_argument("--chunk-rows", type=int, default=1000, help="rows read and de-identified at a time")
    p.set_defaults(handler=cmd_prepare)
    p = sub.add_parser("inspect", help="rows, labels, de-id report, shard integrity")
    p.add_argument("store", type=Path, metavar="STORE")
    p.add_argument("--key-file", type=Path, metavar="KEYFILE", help=KEY_HELP)
    p.add_argument("--show", type=int, default=0, metavar="N", help="also print the first N records")
    p.add_argument("--risk", type=int, nargs="?", const=30, default=None, metavar="N",
                   help="also list the N (default 30) tokens most likely to be missed names or numbers "
                        "(capitalised out-of-vocabulary words, long digit runs), for your review")
    p.set_defaults(handler=cmd_inspect)
    p = sub.add_parser("rotate-key", help="re-encrypt a store under a new key (atomic)")
    p.add_argument("store", type=Path, metavar="STORE")
    p.add_argument("--key-file", type=Path, metavar="OLD", help=KEY_HELP)
    p.add_argument("--new-key-file", type=Path, required=True, metavar="NEW")
    p.set_defaults(handler=cmd_rotate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fedflm")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.handler(args) or 0)
    except FedflmError as exc:
        print(f"fedflm: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
