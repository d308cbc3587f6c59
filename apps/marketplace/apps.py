from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    """Capability services (add-ons): offerings, plans, providers, instances and bindings."""

    name = "apps.marketplace"
    label = "marketplace"

    def ready(self):
        from apps.core import addons

        from . import policies, tasks  # noqa: F401
        from .secrets import addon_secret

        addons.install(addon_secret)
