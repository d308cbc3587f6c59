from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CmdbConfig(AppConfig):
    """Configuration items, their relationships and history; catalog sync, discovery, impact analysis."""

    name = "apps.cmdb"
    label = "cmdb"
    verbose_name = "CMDB"

    def ready(self):
        from apps.approvals.impact import register_impact

        from . import policies, sync  # noqa: F401  (policies register themselves)
        from .selectors import blast_radius

        sync.connect()
        register_impact(blast_radius)  # change requests show what a production change affects
        post_migrate.connect(_ensure_builtin_types, sender=self)


def _ensure_builtin_types(sender, **kwargs):
    """The built-in CI types are reference data: put back after every migrate and every flush (tests)."""
    from .choices import BUILTIN_TYPES
    from .models import CIType

    for slug, name, is_platform, schema in BUILTIN_TYPES:
        CIType.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "is_platform": is_platform, "attribute_schema": schema, "is_builtin": True},
        )
