"""The owner's node heartbeat (``client start --heartbeat SECONDS``): checked against
the installed Flower's bounds, applied to every Flower module of the SuperNode
that reads it (pinned here: a Flower release that moves it fails this test).
The command line is checked in test_deploy_units.py; the end-to-end effect -- a SIGKILLed
node marked offline within 2 x 10 s -- is checked in test_deploy_faults.py."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

from fedflm.deploy.heartbeat import HEARTBEAT_MODULES, TASK_TOKEN_MODULES, apply_heartbeat, check_heartbeat, main
from fedflm.errors import ConfigError


@pytest.mark.parametrize("bad", [9.9, 1801, float("nan"), float("inf"), "ten", -10])
def test_an_interval_the_superlink_would_refuse_is_refused_naming_it(bad):
    # Execute / Assert: Flower 1.42's SuperLink accepts 10 .. 1800 s
    with pytest.raises(ConfigError, match=r"^--heartbeat must be .*, got " + re.escape(repr(bad)) + "$"):
        check_heartbeat(bad)


def test_the_bounds_themselves_are_accepted():
    assert (check_heartbeat(10), check_heartbeat("1800")) == (10.0, 1800.0)


def test_apply_sets_the_interval_flower_reports_and_the_period_it_sends_at(monkeypatch):
    # Prepare: every patched name is restored after the test (monkeypatch), and the sender's wait is recorded
    for name in (*HEARTBEAT_MODULES, *TASK_TOKEN_MODULES):
        module = importlib.import_module(name)
        monkeypatch.setattr(module, "HEARTBEAT_DEFAULT_INTERVAL", module.HEARTBEAT_DEFAULT_INTERVAL)
    from flwr.common import constant
    from flwr.supercore.heartbeat import HeartbeatSender

    waits: list[float] = []
    sender = HeartbeatSender(lambda: True)
    monkeypatch.setattr(sender._stop_event, "wait", lambda t=None: waits.append(t) or len(waits) >= 3)
    monkeypatch.setattr(sender._stop_event, "is_set", lambda: len(waits) >= 3)

    # Execute
    apply_heartbeat(12)
    sender._run()

    # Assert: the interval the SuperNode reports (fleet connection) and the sending period both follow it
    for name in HEARTBEAT_MODULES:
        assert importlib.import_module(name).HEARTBEAT_DEFAULT_INTERVAL == 12.0, name
    base = (12.0 - constant.HEARTBEAT_CALL_TIMEOUT) * constant.HEARTBEAT_BASE_MULTIPLIER
    low, high = (base + (12.0 - constant.HEARTBEAT_CALL_TIMEOUT) * r for r in constant.HEARTBEAT_RANDOM_RANGE)
    assert len(waits) == 3 and all(low <= w <= high for w in waits), waits


def test_the_clientapp_task_tokens_keep_flowers_interval_in_a_fresh_supernode_process():
    # Prepare: what `python -m fedflm.deploy.heartbeat 10 ...` does before Flower's SuperNode imports its state
    # modules. The ClientApp (a separate flwr-clientapp process) heartbeats every 17.5-22.5 s (Flower's 30 s
    # interval); a task token living 2 x 10 s made the node declare its own ClientApp crashed mid-training
    code = ("import importlib\n"
            "from fedflm.deploy.heartbeat import HEARTBEAT_MODULES, TASK_TOKEN_MODULES, apply_heartbeat\n"
            "apply_heartbeat(10)\n"
            "import flwr.supernode.cli, flwr.common.constant as c\n"
            "print([importlib.import_module(n).HEARTBEAT_DEFAULT_INTERVAL for n in HEARTBEAT_MODULES],\n"
            "      [importlib.import_module(n).HEARTBEAT_DEFAULT_INTERVAL for n in TASK_TOKEN_MODULES],\n"
            "      c.HEARTBEAT_DEFAULT_INTERVAL)\n")
    # Execute
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    # Assert: node-to-server heartbeat 10 s; task tokens and Flower's constant 30 s
    assert out.split() == ["[10.0,", "10.0]", "[30,", "30]", "30"], out


def test_the_wrapper_refuses_a_bad_interval_with_one_line_before_flower_starts():
    # Execute: what `python -m fedflm.deploy.heartbeat 3 --superlink ...` does
    with pytest.raises(SystemExit) as stopped:
        main(["3", "--superlink", "127.0.0.1:9092"])

    # Assert: the message is the process's one stderr line, and its exit status is not 0
    assert str(stopped.value) == ("fedflm: error: --heartbeat must be between 10 and 1800 seconds (Flower's "
                                  "SuperLink refuses other intervals), got '3'")
