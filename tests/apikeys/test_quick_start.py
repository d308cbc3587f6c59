"""The developer console's quick-starts run as shown against the demo data (`seed_demo`): each deploys
the tenant's newest release by name, with a developer key that cannot even read environments."""

import html
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from apps.apikeys.services import apikey_create
from apps.catalog.models import Release
from apps.deployments.models import Deployment
from apps.tenants.models import Tenant
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role, scopes_for_role

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

BIN = Path(sys.executable).parent
CLIENT = Path(__file__).resolve().parents[2] / "clients" / "python"


def _snippets(base_url, user) -> dict[str, str]:
    client = Client(HTTP_HOST=base_url.removeprefix("http://"))
    client.force_login(user)
    page = client.get("/console/?tenant=acme").content.decode()
    blocks = re.findall(r'<code id="code-([\w-]+)"[^>]*>(.*?)</code>', page, re.S)
    return {slug: html.unescape(code) for slug, code in blocks}


def _run(script: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(script, env=env, capture_output=True, text=True, timeout=60)


def _finished(deployment):
    Deployment.objects.filter(pk=deployment.pk).update(state="succeeded")


def test_every_quick_start_deploys_the_demo_release_by_name(asgi_server, tmp_path):
    call_command("seed_demo", stdout=StringIO())
    from django.contrib.auth import get_user_model

    developer = get_user_model().objects.get(email="developer@acme.example.com")
    acme = Tenant.objects.get(slug="acme")
    scopes = [scope for scope in scopes_for_role(Role.DEVELOPER) if scope != "environments:read"]
    _, key = apikey_create(actor=as_principal(developer), tenant=acme, name="quick start", scopes=scopes)
    snippets = _snippets(asgi_server, developer)
    newest = Release.objects.filter(tenant=acme).order_by("-created_at").first()
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONPATH": str(CLIENT), "PORTAL_API_KEY": key}

    curl = snippets["curl"].replace('"pk_…"', f'"{key}"')
    assert f'export PORTAL_URL="{asgi_server}"' in curl
    done = _run(["bash", "-ec", curl], env)
    assert done.returncode == 0 and '"state":"queued"' in done.stdout, done.stdout + done.stderr
    first = Deployment.objects.get()
    assert (first.release, first.environment.name) == (newest, "dev")

    # The Python snippets read the two variables the curl tab exports.
    env["PORTAL_URL"] = asgi_server
    # The same Idempotency-Key: the same deployment again, not a second one.
    done = _run([sys.executable, "-c", snippets["python-requests"]], env)
    assert done.returncode == 0 and done.stdout.split()[-2] == str(first.pk), done.stdout + done.stderr

    _finished(first)  # no worker runs here: a second deploy of the same release waits for the first
    done = _run([sys.executable, "-c", snippets["python-client"]], env)
    assert done.returncode == 0, done.stdout + done.stderr
    second = Deployment.objects.exclude(pk=first.pk).get()
    assert (second.release, second.environment.name) == (newest, "dev")

    _finished(second)
    # portalctl as shown, without installing it again nor following the rollout (no worker runs here).
    lines = [line for line in snippets["portalctl"].splitlines() if not line.startswith("pip install")]
    done = _run(["bash", "-ec", "\n".join(lines).replace(" --watch", "")], {**env, "XDG_CONFIG_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"release #{newest.number} of {newest.application.name} to dev is queued" in done.stdout
    assert Deployment.objects.count() == 3
