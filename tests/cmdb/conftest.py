"""Helpers for CMDB tests: items and edges made directly, and the sandbox cluster registered."""

import secrets

from apps.cmdb.models import CIType, ConfigurationItem, Relationship


def make_item(tenant, name=None, type_slug="database", **fields):
    return ConfigurationItem.objects.create(
        tenant=tenant,
        ci_type=CIType.objects.get(slug=type_slug),
        name=name or f"ci-{secrets.token_hex(3)}",
        key=fields.pop("key", f"declared/{secrets.token_hex(8)}"),
        source="test",
        **fields,
    )


def make_edge(source, target, kind="depends_on", **fields):
    return Relationship.objects.create(
        tenant_id=source.tenant_id or target.tenant_id, source=source, target=target, kind=kind, origin="test", **fields
    )
