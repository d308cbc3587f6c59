from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """Applications, their immutable releases, and the platform's service templates."""

    name = "apps.catalog"
    label = "catalog"

    def ready(self):
        from apps.apikeys.developer_console import register_newest_release

        from . import policies, services  # noqa: F401  (services registers the applications quota counter)
        from .selectors import newest_release_of

        register_newest_release(newest_release_of)
