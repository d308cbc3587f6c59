"""The local stack's supervisor restarts a process that dies and stops, without restarting, on a signal."""

import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import wait_for

# A child that dies on its first run (as a killed worker would) and keeps running on the second.
CHILD = """
import pathlib, sys, time
runs = pathlib.Path(sys.argv[1])
runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
if len(runs.read_text()) == 1:
    sys.exit(3)
time.sleep(60)
"""


@pytest.mark.process
def test_a_dead_process_is_restarted_and_a_signal_stops_it_for_good(tmp_path):
    runs = tmp_path / "runs"
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "portal.supervise", "worker", "--", sys.executable, "-c", CHILD, str(runs)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: runs.exists() and runs.read_text() == "xx", timeout=15)
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(10) != 0  # the child ended on the signal
        time.sleep(1.5)
        assert runs.read_text() == "xx"  # and was not started again
        assert "worker exited with code 3; restarting in 1 s" in supervisor.stdout.read()
    finally:
        supervisor.kill()
