"""Production settings fail fast without secrets, and pass Django's deployment checks with them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.production",
    "SECRET_KEY": "p" * 20 + "-production-secret-key-with-enough-entropy-9f8e7d6c5b4a",
    "ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "postgres://portal:secret@db.example.com:5432/portal",
    "REDIS_URL": "redis://redis.example.com:6379/0",
    "FIELD_ENCRYPTION_KEYS": "kndpErX0RCc-gq0Z6tErYnZCe0axWi5_4E0Mc24WluY=",
    "API_KEY_PEPPER": "pepper-for-the-production-settings-test",
}


def run_manage(env_overrides: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.process
def test_production_refuses_to_start_without_its_secrets():
    result = run_manage({"DJANGO_SETTINGS_MODULE": "portal.settings.production"}, "check")
    assert result.returncode != 0
    for name in PRODUCTION_ENV:
        if name == "DJANGO_SETTINGS_MODULE":
            continue
        assert name in result.stderr


@pytest.mark.process
def test_production_names_only_the_missing_secret():
    env = {**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": ""}
    result = run_manage(env, "check")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr
    assert "SECRET_KEY" not in result.stderr.split("need these environment variables:")[-1]


@pytest.mark.process
def test_check_deploy_is_clean_with_production_settings():
    result = run_manage(PRODUCTION_ENV, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


@pytest.mark.process
def test_a_malformed_encryption_key_stops_the_checks_naming_the_setting():
    result = run_manage({**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"}, "check")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS entry 1 is not a valid Fernet key" in result.stderr


@pytest.mark.process
@pytest.mark.parametrize(
    ("pooled", "said"),
    [({"DATABASE_POOL_SIZE": "8"}, "0 {'min_size': 1, 'max_size': 8, 'timeout': 10.0}"), ({}, "60 None")],
)
def test_a_pooled_production_process_keeps_its_connections_in_the_pool_alone(pooled, said):
    """Django refuses persistent connections beside a pool: with DATABASE_POOL_SIZE (the web) the
    production default of 60 s gives way; without it (workers) it stays."""
    shown = "from django.conf import settings; d = settings.DATABASES['default']; print(d['CONN_MAX_AGE'], d['OPTIONS'].get('pool'))"
    result = run_manage({**PRODUCTION_ENV, **pooled}, "shell", "--no-imports", "-c", shown)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == said
