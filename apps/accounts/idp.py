"""The identity provider in effect: configured by environment (SSO_SERVER_URL and friends, which allauth
reads as a settings app) or, where the environment configures none, by operators in the console (the
SingleSignOn row, its client secret encrypted at rest, offered to allauth by the social account adapter
of apps/tenants/sso.py, which also maps the IdP's groups to tenant roles)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from .models import SingleSignOn

PROVIDER = "openid_connect"
PROVIDER_ID = "sso"
ENVIRONMENT, CONSOLE = "environment", "console"
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class Configuration:
    """The identity provider in effect, wherever it was configured; `source` is empty when there is none."""

    source: str = ""
    name: str = "Single sign-on"
    server_url: str = ""
    groups_claim: str = "groups"
    group_roles: str = ""
    only_domains: tuple[str, ...] = ()
    client_id: str = ""
    client_secret: str = field(default="", repr=False)

    def social_app(self):
        """The console's IdP as an allauth app, built on each request and never stored in allauth's table
        (which would keep the client secret in plain text)."""
        from allauth.socialaccount.models import SocialApp

        return SocialApp(
            provider=PROVIDER,
            provider_id=PROVIDER_ID,
            name=self.name,
            client_id=self.client_id,
            secret=self.client_secret,
            settings={"server_url": self.server_url, "oauth_pkce_enabled": True},
        )

    @property
    def origin(self) -> str:
        parts = urlsplit(self.server_url)
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


def _environment_apps() -> list:
    return settings.SOCIALACCOUNT_PROVIDERS.get(PROVIDER, {}).get("APPS") or []


def configuration() -> Configuration:
    """The environment's IdP when it configures one, else the console's when enabled, else none."""
    if _environment_apps():
        return Configuration(
            source=ENVIRONMENT,
            name=settings.SSO_NAME,
            server_url=settings.SSO_SERVER_URL,
            groups_claim=settings.SSO_GROUPS_CLAIM,
            group_roles=settings.SSO_GROUP_ROLES,
            only_domains=tuple(d.lower() for d in settings.SSO_ONLY_DOMAINS),
        )
    row = SingleSignOn.objects.filter(pk=SingleSignOn.ROW, enabled=True).first()
    if row is None:
        return Configuration()
    return Configuration(
        source=CONSOLE,
        name=row.name,
        server_url=row.server_url,
        groups_claim=row.groups_claim,
        group_roles=row.group_roles,
        only_domains=tuple(domains_of(row.only_domains)),
        client_id=row.client_id,
        client_secret=row.client_secret,
    )


def domains_of(text: str) -> list[str]:
    return [part.strip().lower() for part in re.split(r"[,\s]+", text or "") if part.strip()]
