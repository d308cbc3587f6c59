"""Single sign-on: the identity provider's groups become tenant roles at every login through it.

allauth's OpenID Connect provider does the protocol (discovery, PKCE, the ID token's signature); the
portal reads the groups claim (SSO_GROUPS_CLAIM) of what the IdP said and applies SSO_GROUP_ROLES:
`acme-admins=acme/admin` makes a member of `acme-admins` an admin of acme. Memberships the mapping
made are marked `source=sso` and follow the groups: changed when the highest mapped role changes,
removed when no mapped group is left. Memberships a person granted (invitations, the members page)
are never touched by a login. Every change is audited as the signing-in user's, naming the IdP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import structlog
from allauth.account.signals import user_logged_in
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.dispatch import receiver

from apps.core.audit import audit_record

from .models import Membership, Tenant
from .principals import as_principal
from .roles import RANK, Role

logger = structlog.get_logger(__name__)

PROVIDER = "openid_connect"


@dataclass(frozen=True)
class GroupRole:
    group: str
    tenant: str
    role: str


def group_roles(spec: str | None = None) -> list[GroupRole]:
    """Parse SSO_GROUP_ROLES: `group=tenant/role` pairs separated by commas."""
    spec = settings.SSO_GROUP_ROLES if spec is None else spec
    pairs = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        group, _, target = item.rpartition("=")
        tenant, _, role = target.partition("/")
        if not group or not tenant or role not in Role.values:
            raise ImproperlyConfigured(
                f"SSO_GROUP_ROLES: {item!r} is not group=tenant/role with a role of {', '.join(Role.values)}"
            )
        pairs.append(GroupRole(group.strip(), tenant.strip(), role))
    return pairs


def groups_of(claims: dict) -> list[str]:
    """The groups claim as a list of names; an IdP that sends none (Google) gives no groups."""
    value = claims.get(settings.SSO_GROUPS_CLAIM) or []
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
    wanted = roles_for(groups, group_roles())
    actor = as_principal(user)
    tenants = {t.slug: t for t in Tenant.objects.filter(slug__in=wanted)}
    mine = {m.tenant.slug: m for m in Membership.objects.select_for_update().filter(user=user).select_related("tenant")}
    changes = {"provider": provider or settings.SSO_NAME}
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
    if sociallogin is None or sociallogin.account.provider != "sso":
        return
    data = sociallogin.account.extra_data or {}
    claims = {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}
    sso_apply_groups(user=user, groups=groups_of(claims), provider=settings.SSO_NAME)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """People the company's IdP vouches for may always get an account, even where sign-up is closed."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return True
