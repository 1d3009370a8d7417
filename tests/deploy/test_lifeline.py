"""The lifeline under every Flower process: SIGKILL of the fedflm process that
started it takes the whole tree down, helpers in new sessions included; a
normal exit passes the command's code through and stops leftover helpers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from fedflm.deploy.procs import Proc

ROOT = Path(__file__).resolve().parents[2]
# The command: starts a helper in a NEW session (as Flower's SuperNode starts its ClientApps), then waits.
COMMAND = ("import subprocess, sys, time; "
           "h = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True); "
           "open(sys.argv[1], 'w').write(str(h.pid)); time.sleep(float(sys.argv[2])); sys.exit(int(sys.argv[3]))")
WRAPPER = ("import sys, time; from pathlib import Path; from fedflm.deploy.procs import Proc; "
           "p = Proc('cmd', [sys.executable, '-c', sys.argv[1], sys.argv[2], '120', '0'], Path(sys.argv[3])); "
           "print(p.pid, flush=True); time.sleep(120)")


def _wait_for(cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sigkill_of_the_wrapper_kills_command_and_its_new_session_helper(tmp_path):
    # Prepare: wrapper -> lifeline -> command -> helper (own session)
    helper_file = tmp_path / "helper.pid"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    wrapper = subprocess.Popen([sys.executable, "-c", WRAPPER, COMMAND, str(helper_file), str(tmp_path / "log")],
                               stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        lifeline_pid = int(wrapper.stdout.readline())
        assert _wait_for(lambda: helper_file.exists() and helper_file.read_text(), 30)
        helper = int(helper_file.read_text())
        command = psutil.Process(lifeline_pid).children()[0].pid

        # Execute
        wrapper.send_signal(signal.SIGKILL)
        wrapper.wait()

        # Assert
        assert _wait_for(lambda: not any(map(_alive, (lifeline_pid, command, helper))), 10), \
            [p for p in (lifeline_pid, command, helper) if _alive(p)]
    finally:  # whatever happened, leave nothing running
        wrapper.kill()
        if helper_file.exists() and helper_file.read_text() and _alive(int(helper_file.read_text())):
            os.kill(int(helper_file.read_text()), signal.SIGKILL)


def test_the_commands_exit_code_passes_through_and_leftover_helpers_stop(tmp_path):
    # Prepare
    helper_file = tmp_path / "helper.pid"

    # Execute: the command exits with 3 after half a second, its helper still running
    proc = Proc("cmd", [sys.executable, "-c", COMMAND, str(helper_file), "0.5", "3"], tmp_path / "log")
    code = proc.popen.wait(timeout=30)

    # Assert
    assert code == 3
    assert not _alive(int(helper_file.read_text()))


def test_a_stop_that_signals_the_whole_tree_ends_the_lifeline_with_the_commands_code(tmp_path):
    # Prepare: lifeline -> command; a normal stop (Proc.stop, `kill_tree`) sends SIGTERM to both at once, so the
    # command is usually dead before the lifeline handles its own SIGTERM
    from fedflm.deploy.lifeline import lifeline_argv
    from fedflm.deploy.procs import kill_tree

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    lifeline = subprocess.Popen(lifeline_argv([sys.executable, "-c", "import time; time.sleep(120)"]), env=env,
                                start_new_session=True)
    try:
        assert _wait_for(lambda: psutil.Process(lifeline.pid).children(), 30)

        # Execute
        kill_tree(lifeline.pid, signal.SIGTERM)

        # Assert: it ends by itself (it used to miss the command's exit and spin until SIGKILL), with the
        # command's code (killed by SIGTERM: 128 + 15)
        assert lifeline.wait(timeout=4) == 128 + signal.SIGTERM
    finally:
        lifeline.kill()
