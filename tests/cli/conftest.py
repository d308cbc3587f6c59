"""Running the real `portalctl` against a live portal: a helper and a quick sandbox cluster."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PORTALCTL = Path(sys.executable).parent / "portalctl"


@pytest.fixture
def sandbox_options():
    return {"ready_after": 0.5}


@pytest.fixture
def portalctl(tmp_path):
    """portalctl(url, key, *args) runs the installed console script with PORTAL_URL/PORTAL_API_KEY and a
    private config directory, and returns the CompletedProcess (text output)."""

    def run(url, key, *args, timeout=90):
        env = {**os.environ, "PORTAL_URL": url, "PORTAL_API_KEY": key, "XDG_CONFIG_HOME": str(tmp_path / "config")}
        if key is None:
            env.pop("PORTAL_API_KEY")
        return subprocess.run([str(PORTALCTL), *args], env=env, capture_output=True, text=True, timeout=timeout)

    return run
