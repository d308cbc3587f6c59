"""Test runs: real PostgreSQL and Redis, fast hashing, mail kept in memory."""

import os

from .base import *  # noqa: F403
from .base import env

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Each run gets its own test database and Redis key space, so parallel runs and a running portal
# never collide. Child processes (workers) are handed the parent's values explicitly.
_run = env("TEST_RUN_ID", default=str(os.getpid()))
# `make test` runs pytest-xdist processes (gw0, gw1, ...), each a run of its own: their pids differ, and
# a TEST_RUN_ID given to all of them gets the worker's id added.
if os.environ.get("TEST_RUN_ID") and os.environ.get("PYTEST_XDIST_WORKER"):
    _run = f"{_run}-{os.environ['PYTEST_XDIST_WORKER']}"
DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_run}"}  # noqa: F405
_prefix = env("TEST_REDIS_PREFIX", default=f"portal-test-{_run}")
CACHES["default"]["KEY_PREFIX"] = _prefix  # noqa: F405
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"{_prefix}:asgi"  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = f"{_prefix}-tasks"
BUILD_QUEUE = f"{_prefix}-builds"
CELERY_TASK_ROUTES = {"apps.builds.tasks.*": {"queue": BUILD_QUEUE}}  # noqa: F405
# Build tests clone repositories from the local disk.
BUILD_GIT_ALLOW_LOCAL = True
# WhiteNoise serves straight from the source folders; no collectstatic outside production.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Most tests deploy with a worker and no lifecycle watcher, so nothing asks for looks out of turn:
# the scheduled looks come every second (a test of the watcher's looks sets it long).
DEPLOYMENT_OBSERVE_SECONDS = env.float("DEPLOYMENT_OBSERVE_SECONDS", default=1.0)
# Incidents resolve a second after their cause went (a test of the hold sets it longer).
INCIDENT_RESOLVE_AFTER_SECONDS = env.int("INCIDENT_RESOLVE_AFTER_SECONDS", default=1)
# Tests change the cluster and read the workload at once: every read for a person is a read.
WORKLOAD_FRESH_SECONDS = env.float("WORKLOAD_FRESH_SECONDS", default=0.0)
# The suite deploys to sandbox clusters; tests of the refusal turn it off.
SANDBOX_CLUSTERS_ALLOWED = env.bool("SANDBOX_CLUSTERS_ALLOWED", default=True)
# The API fuzzing probes every operation with a wrong key from one address (schemathesis' ignored_auth
# check); the per-address failure limit would answer it 429. Tests of that limit set their own value.
API_AUTH_FAILURES_PER_IP = env.int("API_AUTH_FAILURES_PER_IP", default=1000)
