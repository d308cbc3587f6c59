"""Roles within a tenant, ordered from least to most powerful, and the scopes each may hold.

The role matrix (docs/roles.md) is this file in words.
"""

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    DEVELOPER = "developer", "Developer"
    ADMIN = "admin", "Admin"
    OWNER = "owner", "Owner"


RANK: dict[str, int] = {Role.VIEWER: 1, Role.DEVELOPER: 2, Role.ADMIN: 3, Role.OWNER: 4}


def at_least(role: str | None, minimum: str) -> bool:
    return role is not None and RANK[role] >= RANK[minimum]


# API-key scopes are "<resource>:<verb>". Reading is open to every role; writing a resource
# needs the role below. A key's scopes can never exceed its creator's role.
RESOURCES = [
    "tenant",
    "members",
    "invitations",
    "environments",
    "quotas",
    "apikeys",
    "audit",
    "apps",
    "releases",
    "builds",
    "deployments",
    "approvals",
    "cmdb",
    "webhooks",
    "addons",
    "routes",
    "consumers",
]
READ, WRITE = "read", "write"
WRITE_NEEDS = {
    "tenant": Role.OWNER,
    "members": Role.ADMIN,
    "invitations": Role.ADMIN,
    "environments": Role.ADMIN,
    "quotas": Role.OWNER,  # tenants only read quotas; operators set them through the operator API
    "apikeys": Role.VIEWER,  # everyone manages their own keys; admins may revoke anyone's
    "audit": Role.OWNER,  # append-only: nobody writes audit through the API
    "apps": Role.DEVELOPER,
    "releases": Role.DEVELOPER,
    "builds": Role.DEVELOPER,
    "deployments": Role.DEVELOPER,
    "approvals": Role.DEVELOPER,  # deciding; policies and freeze windows need an admin (approvals policies)
    "cmdb": Role.DEVELOPER,
    "webhooks": Role.ADMIN,
    "addons": Role.DEVELOPER,  # service instances and bindings (apps/marketplace)
    "routes": Role.DEVELOPER,  # hosts and paths sent to applications (apps/traffic)
    "consumers": Role.ADMIN,  # usage plans and the keys consumers of the tenant's APIs present (apps/traffic)
}
# Webhook URLs may embed tokens and deliveries carry event data: only owners and admins read them.
READ_NEEDS = {"audit": Role.ADMIN, "webhooks": Role.ADMIN}
ALL_SCOPES = [f"{resource}:{verb}" for resource in RESOURCES for verb in (READ, WRITE)]


def scope_allowed_for(role: str | None, scope: str) -> bool:
    resource, _, verb = scope.partition(":")
    if resource not in RESOURCES or verb not in (READ, WRITE):
        return False
    if resource == "quotas" and verb == WRITE or resource == "audit" and verb == WRITE:
        return False
    needs = WRITE_NEEDS[resource] if verb == WRITE else READ_NEEDS.get(resource, Role.VIEWER)
    return at_least(role, needs)


def scopes_for_role(role: str) -> list[str]:
    return [scope for scope in ALL_SCOPES if scope_allowed_for(role, scope)]
