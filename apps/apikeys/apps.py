from django.apps import AppConfig


class APIKeysConfig(AppConfig):
    """Tenant API keys: scoped, expiring, revocable; verified by an HMAC digest."""

    name = "apps.apikeys"
    label = "apikeys"

    def ready(self):
        from . import policies, ratelimit, schema  # noqa: F401
