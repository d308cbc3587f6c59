"""The sandbox on its own: `manage.py sandbox_cluster` (which needs no database) and `python -m`."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import urllib3

from sandbox.tests.conftest import free_port

pytestmark = pytest.mark.sandbox

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "launcher", [["manage.py", "sandbox_cluster"], ["-m", "sandbox"]], ids=["manage-py", "python-m"]
)
def test_the_standalone_server_serves_until_terminated_and_keeps_its_state(tmp_path, launcher):
    port, state = free_port(), tmp_path / "state.json"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/unreachable",
    }
    proc = subprocess.Popen(
        [sys.executable, *launcher, "--port", str(port), "--state-file", str(state)],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first_line = proc.stdout.readline()
        assert f"sandbox cluster listening on http://127.0.0.1:{port}" in first_line
        url = f"http://127.0.0.1:{port}"
        created = urllib3.request(
            "POST",
            f"{url}/api/v1/namespaces/default/configmaps",
            json={"metadata": {"name": "kept"}, "data": {"k": "v"}},
        )
        assert created.status == 201
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    saved = json.loads(state.read_text())
    assert [c["metadata"]["name"] for c in saved["objects"]["configmaps"]] == ["kept"]


def test_the_state_file_must_be_valid_json(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{not json")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--port", str(free_port()), "--state-file", str(state)],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0 and time.monotonic() - started < 30
    assert "is not valid JSON" in result.stderr and "Traceback" not in result.stderr
