"""issue 25: ``fedflm server start --task causal-lm | recommend`` builds the task's config (secure mode on by default,
flags over --config), and refuses, before anything starts, a run without the server's own held-out file, a
``--resume`` (these tasks keep no checkpoints) and a flag of another task."""

from __future__ import annotations

import pytest

from fedflm.cli.deploy import task_server_config
from fedflm.cli.main import build_parser
from fedflm.errors import ConfigError


def _args(*flags: str):
    return build_parser().parse_args(["server", "start", "--insecure", *flags])


def test_task_config_from_flags_is_secure_by_default(tmp_path):
    # Execute
    cfg = task_server_config(_args("--task", "recommend", "--eval-file", "held.csv", "--rounds", "4",
                                   "--embed-dim", "16", "--out", str(tmp_path / "r")))
    # Assert
    assert cfg.TASK == "recommend" and cfg.rounds == 4 and cfg.embed_dim == 16 and cfg.eval_file == "held.csv"
    assert cfg.privacy.secure_mode is True


@pytest.mark.parametrize("flags, match", [
    (("--task", "causal-lm", "--out", "r"), "--eval-file FILE is required with --task causal-lm"),
    (("--task", "recommend", "--eval-file", "h.csv"), "--out RUN_DIR is required"),
    (("--task", "causal-lm", "--eval-file", "h.jsonl", "--out", "r", "--resume", "."), "keeps no checkpoints"),
    (("--task", "causal-lm", "--eval-file", "h.jsonl", "--out", "r", "--embed-dim", "8"),
     "not available with --task causal-lm: --embed-dim"),
    (("--task", "recommend", "--eval-file", "h.csv", "--out", "r", "--partition", "iid"),
     "not available with --task recommend: --partition"),
])
def test_a_task_run_the_server_cannot_serve_is_refused_before_it_starts(flags, match):
    with pytest.raises(ConfigError, match=match):
        task_server_config(_args(*flags))


def test_the_command_hands_the_task_config_with_absolute_paths_to_the_server(tmp_path, monkeypatch, capsys):
    # Prepare: the operator's held-out file, given relative to its working directory; the server run itself is
    # the end-to-end test's (tests/deploy/test_deploy_tasks.py): here only what the command hands it
    import fedflm.deploy.server as server
    from fedflm.cli.main import main

    (tmp_path / "held.jsonl").write_text('{"text": "a held-out record"}\n')
    monkeypatch.chdir(tmp_path)
    seen = {}
    monkeypatch.setattr(server, "run_foreground", lambda cfg, opts: seen.update(cfg=cfg, opts=opts) or 0)
    # Execute
    code = main(["server", "start", "--insecure", "--task", "causal-lm", "--eval-file", "held.jsonl",
                 "--out", "runs/lm", "--dp", "none"])
    # Assert
    assert code == 0 and seen["opts"].insecure
    assert (seen["cfg"].eval_file, seen["cfg"].out) == (str(tmp_path / "held.jsonl"), str(tmp_path / "runs" / "lm"))
    assert "WARNING: --dp none" in capsys.readouterr().out
