"""`portalctl build`: the current folder uploaded as a context, the log followed to the end, the pushed
digest and the release it cut printed (real ASGI server, worker, engine and registry)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.builds.models import Build
from tests.builds.conftest import BUSYBOX, dockerfile
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db(transaction=True)
CLIENT = Path(__file__).resolve().parents[2] / "clients" / "python"


def portalctl(url, key, *args, cwd):
    # This checkout's client, whatever the virtualenv's editable install points at.
    env = {**os.environ, "PORTAL_URL": url, "PORTAL_API_KEY": key, "PYTHONPATH": str(CLIENT)}
    command = [sys.executable, "-m", "portal_client.cli", *args]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)


def test_portalctl_builds_the_current_folder_and_follows_the_log(
    asgi_server, world, build_stack, celery_worker, tmp_path
):
    make_release(make_app(world.acme, "shop"))
    (tmp_path / "Dockerfile").write_text(dockerfile('RUN ["/bin/sh", "-c", "echo hello from portalctl"]'))
    (tmp_path / "busybox").write_bytes(BUSYBOX.read_bytes())
    (tmp_path / "busybox").chmod(0o755)

    result = portalctl(asgi_server, world.key("developer"), "build", "shop", "--tag", "cli", "--release", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    build = Build.objects.get()
    assert build.state == "succeeded"
    lines = result.stdout.splitlines()
    assert lines[0] == f"Build {build.pk} of shop is queued: {build.image}:cli"
    assert "hello from portalctl" in result.stdout
    # Every log line once, in order, then the outcome.
    assert lines[1 : 1 + build.last_seq] == list(build.log_lines.order_by("seq").values_list("text", flat=True))
    assert lines[-2:] == [f"Pushed {build.pinned_image}", f"Release #{build.release.number} pins it."]


def test_a_failing_build_exits_3(asgi_server, world, build_stack, celery_worker, tmp_path):
    make_app(world.acme, "shop")
    (tmp_path / "README").write_text("no Dockerfile here")
    result = portalctl(asgi_server, world.key("developer"), "build", "shop", cwd=tmp_path)
    assert result.returncode == 3
    assert "The context has no Dockerfile at “Dockerfile”." in result.stdout
