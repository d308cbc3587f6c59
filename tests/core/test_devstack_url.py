"""`make run PORT=8110`: the links the portal emails name the port it serves on, not 8000."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.sites.models import Site
from django.core.management import call_command

from portal.devstack import run_env

BASE_DIR = Path(__file__).resolve().parents[2]
PRINT_URL = "from django.conf import settings; print(settings.PORTAL_URL)"


def _portal_url_under(env: dict[str, str]) -> str:
    shell = [sys.executable, "manage.py", "shell", "-c", PRINT_URL]
    output = subprocess.run(shell, cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True).stdout
    return output.strip().splitlines()[-1]


@pytest.fixture(autouse=True)
def configured_build_stack(monkeypatch):
    """An engine and a registry given by the environment, so run_env uses them instead of starting dockerd
    and the registry under var/ (the engine tier's work): these tests are about the portal's address."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("REGISTRY_URL", "http://127.0.0.1:9")


@pytest.mark.process
def test_run_on_another_port_emails_links_to_that_port(monkeypatch):
    monkeypatch.delenv("PORTAL_URL", raising=False)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    env = run_env("127.0.0.1", 8110)
    assert _portal_url_under(env) == "http://127.0.0.1:8110"
    assert run_env("0.0.0.0", 8110)["PORTAL_URL"] == "http://127.0.0.1:8110"


def test_an_explicit_portal_url_still_wins(monkeypatch):
    monkeypatch.setenv("PORTAL_URL", "https://portal.example.com")
    assert run_env("127.0.0.1", 8110)["PORTAL_URL"] == "https://portal.example.com"


@pytest.mark.process
def test_make_manage_follows_the_port_too(monkeypatch):
    env = {k: v for k, v in os.environ.items() if k not in ("PORTAL_URL",)}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings.local", PORT="8110")
    assert _portal_url_under(env) == "http://127.0.0.1:8110"


def test_the_demo_site_names_the_served_address(db, settings):
    settings.PORTAL_URL = "http://127.0.0.1:8110"
    call_command("seed_demo", stdout=StringIO())
    assert Site.objects.get(pk=settings.SITE_ID).domain == "127.0.0.1:8110"
