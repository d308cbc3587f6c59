"""Test runs: real PostgreSQL and Redis, fast hashing, mail kept in memory."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Each run gets its own Redis key space so parallel runs and a running portal do not collide.
_prefix = env("TEST_REDIS_PREFIX", default="portal-test")
CACHES["default"]["KEY_PREFIX"] = _prefix  # noqa: F405
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"{_prefix}:asgi"  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = f"{_prefix}-tasks"
# WhiteNoise serves straight from the source folders; no collectstatic outside production.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
