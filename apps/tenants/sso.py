"""Single sign-on: the identity provider's groups become tenant roles at every login through it.

allauth's OpenID Connect provider does the protocol (discovery, PKCE, the ID token's signature); the
portal reads the groups claim of what the IdP said and applies the group mapping:
`acme-admins=acme/admin` makes a member of `acme-admins` an admin of acme.

Where the IdP is configured is apps/accounts/idp.py's business; the adapter below offers the console's
IdP to allauth, and sso_configure saves it. Memberships the mapping made are marked `source=sso` and follow the groups: changed when the highest mapped role changes,
removed when no mapped group is left. Memberships a person granted (invitations, the members page)
are never touched by a login. Every change is audited as the signing-in user's, naming the IdP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import requests
import structlog
from allauth.account.signals import user_logged_in
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.dispatch import receiver

from apps.accounts.idp import CONSOLE, DOMAIN, PROVIDER, PROVIDER_ID, configuration, domains_of
from apps.accounts.models import SingleSignOn
from apps.core.audit import audit_record
from apps.core.errors import ApplicationError

from .models import Membership, Tenant
from .principals import Principal, as_principal
from .roles import RANK, Role

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class GroupRole:
    group: str
    tenant: str
    role: str


def group_roles(spec: str | None = None) -> list[GroupRole]:
    """Parse a group mapping: `group=tenant/role` pairs separated by commas or lines."""
    spec = configuration().group_roles if spec is None else spec
    pairs = []
    for item in filter(None, (part.strip() for part in re.split(r"[,\n]", spec))):
        group, _, target = item.rpartition("=")
        tenant, _, role = target.partition("/")
        if not group or not tenant or role not in Role.values:
            raise ImproperlyConfigured(
                f"SSO_GROUP_ROLES: {item!r} is not group=tenant/role with a role of {', '.join(Role.values)}"
            )
        pairs.append(GroupRole(group.strip(), tenant.strip(), role))
    return pairs


def groups_of(claims: dict, claim: str = "groups") -> list[str]:
    """The groups claim as a list of names; an IdP that sends none (Google) gives no groups."""
    value = claims.get(claim) or []
    if isinstance(value, str):
        value = [value]
    return [str(group) for group in value]


def roles_for(groups: Iterable[str], mappings: list[GroupRole]) -> dict[str, str]:
    """Tenant slug -> the highest role any of the user's groups maps to there."""
    held, roles = set(groups), dict[str, str]()
    for mapping in mappings:
        if mapping.group in held and RANK[mapping.role] > RANK.get(roles.get(mapping.tenant, ""), 0):
            roles[mapping.tenant] = mapping.role
    return roles


@transaction.atomic
def sso_apply_groups(*, user, groups: Iterable[str], provider: str = "") -> None:
    """Bring the user's SSO-made memberships in line with their groups now."""
    config = configuration()
    wanted = roles_for(groups, group_roles(config.group_roles))
    actor = as_principal(user)
    tenants = {t.slug: t for t in Tenant.objects.filter(slug__in=wanted)}
    mine = {
        m.tenant.slug: m
        for m in Membership.objects.select_for_update(of=("self",)).filter(user=user).select_related("tenant")
    }
    changes = {"provider": provider or config.name}
    for slug, role in wanted.items():
        tenant, membership = tenants.get(slug), mine.get(slug)
        if tenant is None:
            logger.warning("SSO group maps to a tenant that does not exist", tenant=slug)
        elif membership is None:
            created = Membership.objects.create(tenant=tenant, user=user, role=role, source=Membership.Source.SSO)
            audit_record(
                actor=actor,
                action="member.sso_add",
                obj=created,
                tenant=tenant,
                changes={**changes, "role": [None, role]},
            )
        elif membership.source == Membership.Source.SSO and membership.role != role:
            before, membership.role = membership.role, role
            membership.save(update_fields=["role"])
            audit_record(
                actor=actor,
                action="member.sso_change_role",
                obj=membership,
                tenant=tenant,
                changes={**changes, "role": [before, role]},
            )
    for slug, membership in mine.items():
        if slug in wanted or membership.source != Membership.Source.SSO:
            continue
        if membership.role == Role.OWNER and not _other_owner(membership):
            logger.warning("SSO keeps the last owner of a tenant", tenant=slug, user=user.pk)
            continue
        audit_record(
            actor=actor,
            action="member.sso_remove",
            obj=membership,
            tenant=membership.tenant,
            changes={**changes, "role": [membership.role, None]},
        )
        membership.delete()


def _other_owner(membership: Membership) -> bool:
    return Membership.objects.filter(tenant=membership.tenant, role=Role.OWNER).exclude(pk=membership.pk).exists()


@receiver(user_logged_in)
def apply_groups_at_login(sender, request, user, **kwargs):
    """Every login through the IdP re-reads the groups; a password login changes nothing."""
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is None or sociallogin.account.provider != PROVIDER_ID:
        return
    data = sociallogin.account.extra_data or {}
    claims = {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}
    config = configuration()
    sso_apply_groups(user=user, groups=groups_of(claims, config.groups_claim), provider=config.name)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """People the company's IdP vouches for may always get an account, even where sign-up is closed; the
    console's IdP joins the apps allauth knows when the environment configures none."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return True

    def list_apps(self, request, provider=None, client_id=None):
        apps = super().list_apps(request, provider=provider, client_id=client_id)
        config = configuration()
        if config.source != CONSOLE or provider not in (None, PROVIDER, PROVIDER_ID):
            return apps
        if client_id not in (None, config.client_id):
            return apps
        return [*apps, config.social_app()]


# --- The console's configuration -------------------------------------------------------------------


def _discovery_problem(server_url: str) -> str:
    """Why the provider's discovery document cannot be read, or "" when it can: saving an IdP that
    cannot be reached would only fail later, at somebody's login."""
    url = f"{server_url.rstrip('/')}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        return f"The provider's discovery document ({url}) could not be read: {exc}"
    if not isinstance(document, dict) or "authorization_endpoint" not in document:
        return f"{url} is not an OpenID Connect discovery document (it names no authorization_endpoint)."
    return ""


def _mapping_problem(spec: str) -> str:
    try:
        group_roles(spec)
    except ImproperlyConfigured as exc:
        return str(exc).removeprefix("SSO_GROUP_ROLES: ")
    return ""


@transaction.atomic
def sso_configure(
    *,
    operator: Principal,
    enabled: bool,
    name: str,
    server_url: str,
    client_id: str,
    client_secret: str | None,
    groups_claim: str,
    group_roles: str,
    only_domains: str,
) -> SingleSignOn:
    """Save the console's IdP. A blank `client_secret` keeps the stored one. Enabling checks that the
    mapping parses, the domains are domains and the provider's discovery document can be read."""
    from .services import require

    require(operator.is_operator, "Only platform operators configure single sign-on.")
    row = SingleSignOn.objects.select_for_update().filter(pk=SingleSignOn.ROW).first() or SingleSignOn(
        pk=SingleSignOn.ROW
    )
    errors: dict[str, list[str]] = {}
    mapping_problem = _mapping_problem(group_roles)
    if mapping_problem:
        errors["group_roles"] = [mapping_problem]
    bad = [domain for domain in domains_of(only_domains) if not DOMAIN.match(domain)]
    if bad:
        errors["only_domains"] = [f"Not a domain name: {', '.join(bad)}."]
    if enabled:
        for field_name, value in (("server_url", server_url), ("client_id", client_id)):
            if not value.strip():
                errors[field_name] = ["Needed to sign in through the provider."]
        if not (client_secret or row.client_secret_encrypted):
            errors["client_secret"] = ["Needed to sign in through the provider."]
        if server_url.strip() and "server_url" not in errors:
            problem = _discovery_problem(server_url.strip())
            if problem:
                errors["server_url"] = [problem]
    if errors:
        raise ApplicationError.invalid(errors)
    audited = ("enabled", "name", "server_url", "client_id", "groups_claim", "group_roles", "only_domains")
    before = {field_name: getattr(row, field_name) for field_name in audited}
    row.enabled, row.name, row.server_url, row.client_id = enabled, name.strip(), server_url.strip(), client_id.strip()
    row.groups_claim = groups_claim.strip() or "groups"
    row.group_roles, row.only_domains = group_roles.strip(), ", ".join(domains_of(only_domains))
    if client_secret:
        row.client_secret = client_secret
    row.save()
    changes = {key: [value, getattr(row, key)] for key, value in before.items() if value != getattr(row, key)}
    if client_secret:
        changes["client_secret"] = ["…", "changed"]  # never the secret itself
    audit_record(actor=operator, action="sso.configure", obj=row, changes=changes)
    return row
