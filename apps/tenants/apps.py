from django.apps import AppConfig


class TenantsConfig(AppConfig):
    """Tenants, their members and roles, environments (namespaces) and quotas."""

    name = "apps.tenants"
    label = "tenants"

    def ready(self):
        from . import policies, sso  # noqa: F401  (registers the policies and the login receiver)
