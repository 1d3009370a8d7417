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
