"""The production image ships the portal and nothing of the sandbox cluster, a development tool.

No database and no Docker daemon needed: the shipped code is imported with production settings while
the `sandbox` package is made unimportable, as it is in the image.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.test_settings import PRODUCTION_ENV

ROOT = Path(__file__).resolve().parents[2]
# What .dockerignore keeps out of the build context, besides tests and local state.
LEFT_OUT = ("sandbox", "apps/clusters/management/commands/sandbox_cluster.py")

# Imports every module under apps/ and portal/ that the image contains, with `import sandbox` failing,
# then runs the deployment checks: any shipped module that needs the sandbox fails here. Production never
# lets an operator register a sandbox cluster, whatever the environment says.
IMPORT_EVERYTHING = """
import importlib, pkgutil, sys

class NoSandbox:
    def find_spec(self, name, path=None, target=None):
        if name == "sandbox" or name.startswith("sandbox."):
            raise ImportError(f"{name} is not in the production image")

sys.meta_path.insert(0, NoSandbox())
import django
django.setup()
left_out = {m.replace("/", ".").removesuffix(".py") for m in sys.argv[1:]}
for package in ("apps", "portal"):
    for module in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
        if module.name not in left_out and module.name != "portal.settings.local":
            importlib.import_module(module.name)
from django.core.management import call_command
call_command("check", "--deploy", "--fail-level", "WARNING")
from django.conf import settings
print("imported", len(sys.modules), "modules; sandbox clusters allowed:", settings.SANDBOX_CLUSTERS_ALLOWED)
"""


def test_dockerignore_leaves_the_sandbox_out_of_the_build_context():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert set(LEFT_OUT) <= ignored


@pytest.mark.process
def test_the_shipped_code_runs_its_deployment_checks_without_the_sandbox():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING, *LEFT_OUT],
        cwd=ROOT,
        env={**env, **PRODUCTION_ENV, "SANDBOX_CLUSTERS_ALLOWED": "true"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sandbox clusters allowed: False" in result.stdout
