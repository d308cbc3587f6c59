"""Local development: debug on, emails printed to the console, readable logs."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
# Emailed links name the port `make run PORT=...` serves on (devstack also sets PORTAL_URL for its processes).
PORTAL_URL = env("PORTAL_URL", default=f"http://127.0.0.1:{env('PORT', default='8000')}").rstrip("/")
GATEWAY_VERIFY_URL = env("GATEWAY_VERIFY_URL", default=f"{PORTAL_URL}/api/v1/gateway/verify/")
# Debug serves static files straight from static/ without collectstatic.
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# WhiteNoise serves straight from the source folders; no collectstatic outside production.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# make run registers its sandbox cluster (seed_demo).
SANDBOX_CLUSTERS_ALLOWED = env.bool("SANDBOX_CLUSTERS_ALLOWED", default=True)
