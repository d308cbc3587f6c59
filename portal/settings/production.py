"""Production: every secret must come from the environment, and the process refuses to start without it."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

REQUIRED = ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "FIELD_ENCRYPTION_KEYS", "API_KEY_PEPPER"]
_missing = [name for name in REQUIRED if not env.str(name, default="").strip()]
if _missing:
    raise ImproperlyConfigured("Production settings need these environment variables: " + ", ".join(_missing))

SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
API_KEY_PEPPER = env("API_KEY_PEPPER")
PORTAL_URL = env("PORTAL_URL", default=f"https://{ALLOWED_HOSTS[0].lstrip('.')}").rstrip("/")
GATEWAY_VERIFY_URL = env("GATEWAY_VERIFY_URL", default=f"{PORTAL_URL}/api/v1/gateway/verify/")
DEBUG = False
# The sandbox cluster is not in the production image and checks no credentials: never registered here.
SANDBOX_CLUSTERS_ALLOWED = False
LOG_JSON = env.bool("LOG_JSON", default=True)
LOGGING = build_logging_config(json_output=LOG_JSON, level=LOG_LEVEL)  # noqa: F405

# HTTPS everywhere; the ingress terminates TLS and says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
if not DATABASE_POOL_SIZE:  # noqa: F405 - a pooled process keeps its connections in the pool
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)  # noqa: F405
