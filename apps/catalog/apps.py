from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """Applications, their immutable releases, and the platform's service templates."""

    name = "apps.catalog"
    label = "catalog"

    def ready(self):
        from . import policies, services  # noqa: F401  (services registers the applications quota counter)
