"""Who may use which repositories of the platform registry, and the pull Secret tenants' pods use.

Two kinds of credentials get tokens at the realm (`/registry/token/`):
- a tenant's pull credential (`RegistryCredential`), written into the tenant's namespaces as a
  `kubernetes.io/dockerconfigjson` Secret: pull of `<tenant>/*`;
- an API key as the password (any user name), for `docker login`: pull of its tenant's repositories
  when its role and scopes may see builds, push too when they may start builds.
Either way the token holds only repositories under the credential's own tenant.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.apikeys.authentication import authenticate_key
from apps.apikeys.keys import parse as parse_key
from apps.core.policies import policy_for
from apps.tenants.models import Environment, Tenant
from apps.tenants.policies import VIEW
from apps.tenants.principals import Principal

from . import engine, tokens
from .models import Build, RegistryCredential

USERNAME_PREFIX = "pull-"


@dataclass(frozen=True)
class Grant:
    subject: str
    access: list[tokens.Access]


def pull_credential(tenant: Tenant) -> RegistryCredential:
    """The tenant's pull credential, made on first use."""
    credential = RegistryCredential.objects.filter(tenant=tenant).first()
    if credential is not None:
        return credential
    credential = RegistryCredential(tenant=tenant, username=f"{USERNAME_PREFIX}{tenant.slug}")
    credential.password = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            credential.save()
    except IntegrityError:  # made at the same moment by another deploy
        return RegistryCredential.objects.get(tenant=tenant)
    return credential


def grant_for(username: str, password: str, scopes: list[str], ip: str | None) -> Grant | None:
    """What a client presenting these credentials may do with the `scopes` it asks for; None when the
    credentials are wrong (the realm answers 401)."""
    requested = [access for access in map(tokens.parse_scope, scopes) if access is not None]
    if parse_key(password) is not None:
        api_key = authenticate_key(password, ip)
        principal = Principal(api_key.user, api_key)
        tenant = api_key.tenant
        allowed = set()
        if policy_for(Build).allows(principal, VIEW, tenant):
            allowed.add(tokens.PULL)
        if policy_for(Build).can_add(principal, tenant):
            allowed.add(tokens.PUSH)
        return Grant(f"key:{api_key.lookup}", tokens.within_tenant(requested, tenant.slug, allowed))
    credential = RegistryCredential.objects.select_related("tenant").filter(username=username).first()
    if credential is None or not hmac.compare_digest(credential.password.encode(), password.encode()):
        return None
    allowed = {tokens.PULL} if credential.tenant.is_active else set()
    return Grant(username, tokens.within_tenant(requested, credential.tenant.slug, allowed))


# --- The pull Secret in a tenant's namespace ------------------------------------------------------


def uses_platform_registry(image: str) -> bool:
    return engine.configured() and image.startswith(f"{engine.registry_host()}/")


def pull_secret_name(image: str) -> str | None:
    """What the render puts in `imagePullSecrets` (installed in apps/core/imagepull.py)."""
    return settings.REGISTRY_PULL_SECRET if uses_platform_registry(image) else None


def pull_secret_for(image: str, environment: Environment) -> dict | None:
    """The pull Secret a deployment of `image` applies first, or None for images from elsewhere."""
    return pull_secret_manifest(environment) if uses_platform_registry(image) else None


def pull_secret_manifest(environment: Environment) -> dict:
    """The namespace's `kubernetes.io/dockerconfigjson` Secret with the tenant's pull credential."""
    credential = pull_credential(environment.tenant)
    auth = base64.b64encode(f"{credential.username}:{credential.password}".encode()).decode()
    config = {"auths": {engine.registry_host(): {"username": credential.username, "auth": auth}}}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {
            "name": settings.REGISTRY_PULL_SECRET,
            "namespace": environment.namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "paas-portal",
                "paas.dev/tenant": environment.tenant.slug,
                "paas.dev/environment": environment.name,
            },
        },
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
    }
