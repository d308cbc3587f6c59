"""`make run` itself: the whole portal from nothing on embedded services, and a clean stop."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.conftest import free_port

pytestmark = pytest.mark.server

BASE_DIR = Path(__file__).resolve().parents[2]


def devstack(tmp_path, *args, **kwargs):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["PORTAL_VAR_DIR"] = str(tmp_path / "var")
    return subprocess.Popen(
        [sys.executable, "-m", "portal.devstack", *args],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **kwargs,
    )


def test_a_taken_port_gets_a_clear_message_not_a_traceback(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = devstack(tmp_path, "run", "--port", str(port))
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"port {port} is already in use" in output
    assert f"make run PORT={port + 1}" in output
    assert "Traceback" not in output


def test_a_stale_pid_file_is_cleared_and_said(tmp_path):
    (tmp_path / "var").mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "var" / "run.pid").write_text(str(dead.pid))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = devstack(tmp_path, "run", "--port", str(taken.getsockname()[1]))
        output, _ = proc.communicate(timeout=60)
    assert f"removing stale pid file from an earlier run (pid {dead.pid} is gone)" in output


def test_a_second_run_is_refused_while_one_is_alive(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "run.pid").write_text(str(os.getpid()))
    output, _ = devstack(tmp_path, "run", "--port", str(_free_pair())).communicate(timeout=60)
    assert f"the portal is already running (pid {os.getpid()})" in output


def _stop(proc: subprocess.Popen) -> str:
    """Ctrl-C the whole of make run, as the terminal does, and its output; killed if it does not stop."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    try:
        return proc.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # nothing of it may outlive the test, whatever failed
        return proc.communicate(timeout=10)[0] + "\n[did not stop within 60 s of Ctrl-C: killed]"


def _free_pair() -> int:
    """A port whose next port is free too: make run serves the sandbox cluster on PORT + 1."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free neighbouring ports")


def test_run_serves_the_portal_and_ctrl_c_leaves_nothing_behind(tmp_path):
    port = _free_pair()
    proc = devstack(tmp_path, "run", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    ready, family, services = False, [], []
    try:
        deadline = time.monotonic() + 180
        while not ready and proc.poll() is None and time.monotonic() < deadline:
            # A busy machine may take a while over the first answers: a slow one is not a failure.
            with contextlib.suppress(requests.RequestException):
                ready = requests.get(f"{base}/readyz", timeout=10).status_code == 200
            if not ready:
                time.sleep(1)
        if ready:
            login = requests.get(f"{base}/accounts/login/", timeout=10)
            assert login.status_code == 200 and "Sign In" in login.text
            devstack_process = psutil.Process(proc.pid)
            family = [devstack_process, *devstack_process.children(recursive=True)]
            services = [
                p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])
            ]
    finally:
        output = _stop(proc)

    assert ready, f"the portal was not ready within 180 s:\n{output}"
    assert len(family) >= 4 and services  # devstack, web, worker, beat; embedded postgres and redis
    assert proc.returncode == 0, output
    assert "demo login: developer@acme.example.com" in output
    _, alive = psutil.wait_procs(family + services, timeout=15)  # gone, or a moment from it on a busy machine
    left = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert left == [], f"{[' '.join(p.cmdline()) for p in left]} outlived make run:\n{output}"
    # Data survives: the database folder stays for the next run.
    assert (tmp_path / "var" / "postgres" / "PG_VERSION").exists()
