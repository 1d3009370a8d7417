"""add_command: every subcommand it adds is listed with its one-line help, shows its description,
and dispatches to its own handler through ``args.handler`` (what ``fedflm.cli.main`` calls)."""

from __future__ import annotations

from fedflm.cli.main import build_parser


def test_export_predict_and_bench_dispatch_to_their_own_handlers():
    # Prepare
    from fedflm.cli import bench, export, predict
    parser = build_parser()

    # Execute
    got = {name: parser.parse_args(argv).handler for name, argv in (
        ("export", ["export", "RUN", "--out", "OUT"]), ("predict", ["predict", "MODEL", "a text"]),
        ("bench", ["bench", "RECIPE"]))}

    # Assert
    assert got == {"export": export.run, "predict": predict.run, "bench": bench._run}


def test_summary_is_listed_and_description_is_shown(capsys):
    # Prepare
    parser = build_parser()

    # Execute
    listing = parser.format_help()
    sub = next(a for a in parser._subparsers._group_actions if a.choices)  # the subcommand table
    export_help = sub.choices["export"].format_help()

    # Assert
    assert "export a finished run (adapter, merged model, ONNX; int8)" in " ".join(listing.split())
    assert "Every export carries a model card: README.md and model_card.json." in " ".join(export_help.split())
