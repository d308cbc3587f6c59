from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhooks: tenants subscribe URLs to platform events; deliveries are signed, retried and recorded."""

    name = "apps.webhooks"
    label = "webhooks"

    def ready(self):
        from . import policies, receivers  # noqa: F401  (receivers subscribe to platform events)
