"""`make run` itself: the whole portal from nothing on embedded services, and a clean stop."""

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
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "portal did not become ready"
            time.sleep(1)
        login = requests.get(f"{base}/accounts/login/", timeout=5)
        assert login.status_code == 200 and "Sign In" in login.text
        family = [proc.pid] + [child.pid for child in psutil.Process(proc.pid).children(recursive=True)]
        services = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
        assert len(family) >= 4 and services  # devstack, web, worker, beat; embedded postgres and redis
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        output, _ = proc.communicate(timeout=60)

    assert proc.returncode == 0, output
    assert "demo login: developer@acme.example.com" in output
    time.sleep(1)
    leftovers = [
        pid
        for pid in family + [s.pid for s in services]
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    assert leftovers == []
    # Data survives: the database folder stays for the next run.
    assert (tmp_path / "var" / "postgres" / "PG_VERSION").exists()
