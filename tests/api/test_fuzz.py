"""Property-based fuzzing of the whole API with schemathesis, once per role, against a live portal.

For every GET, POST and PATCH operation in /api/schema/ schemathesis generates requests (valid and
invalid) with an owner's, a developer's and a viewer's API key, and checks that no response is a
5xx, that every status code is one the schema documents and that every body matches its schema.
DELETE is left out: a fuzzer that deletes at random only tests that things are gone.

Runs in `make test` with a few examples per operation; `make fuzz` runs the same with more
(FUZZ_MAX_EXAMPLES, FUZZ_SEED to replay a run).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

ST = Path(sys.executable).parent / "st"
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "3"))


@pytest.mark.parametrize("role", ["owner", "developer", "viewer"])
def test_fuzzing_the_api_finds_no_server_error_and_no_schema_violation(asgi_server, world, role, tmp_path):
    from tests.deployments.conftest import make_app, make_release

    make_release(make_app(world.acme, "shop"))  # something to read, so GETs of ids hit real rows too
    command = [str(ST), "run", f"{asgi_server}/api/schema/", "--url", asgi_server,
               "--header", f"Authorization: Bearer {world.key(role)}",
               "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--phases", "examples,fuzzing",
               "--include-method", "GET", "--include-method", "POST", "--include-method", "PATCH",
               "--workers", "1", "--request-timeout", "20", "--no-shrink", "--output-truncate", "false",
               "--generation-deterministic" if os.environ.get("FUZZ_SEED") is None else f"--seed={os.environ['FUZZ_SEED']}",
               "--report", "junit", "--report-dir", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                            env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""})
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
