"""Every change to tenants, members, invitations, environments and quotas.

Each service checks the policy, validates, writes its rows and one audit event in one transaction,
and raises ApplicationError with a stable code when it refuses.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.template.loader import render_to_string
from django.utils import timezone

from apps.core.audit import audit_record, diff
from apps.core.errors import (
    INVALID,
    NAME_TAKEN,
    NOT_FOUND,
    TENANT_SUSPENDED,
    ApplicationError,
    require,
    validate_model,
)
from apps.core.governance import Change, gate
from apps.core.policies import policy_for
from apps.core.realtime import access_changed_on_commit

from .claims import check_namespace, check_tenant_slug
from .models import Environment, Invitation, Membership, Quota, Tenant, namespace_for
from .principals import Principal
from .quotas import usage_of
from .roles import Role
from .selectors import invitations_pending_for
from .signals import environment_created, quota_changed

DEFAULT_ENVIRONMENTS = [
    ("dev", Environment.Kind.NON_PRODUCTION),
    ("staging", Environment.Kind.NON_PRODUCTION),
    ("prod", Environment.Kind.PRODUCTION),
]
INVITATION_TTL = timedelta(days=7)

# Refusals, as constants that tests import.
SLUG_TAKEN = "slug_taken"
LAST_OWNER = "last_owner"
ALREADY_MEMBER = "already_member"
ALREADY_INVITED = "already_invited"
INVITATION_EXPIRED = "invitation_expired"
INVITATION_CLOSED = "invitation_closed"
INVITATION_WRONG_USER = "invitation_wrong_user"
QUOTA_BELOW_USAGE = "quota_below_usage"
ENVIRONMENT_IN_USE = "environment_in_use"
GOVERNED_ENVIRONMENT = "governed_environment"


# --- Tenants -----------------------------------------------------------------------------------


@transaction.atomic
def tenant_create(*, actor: Principal, slug: str, name: str) -> Tenant:
    """Create a tenant with its default environments; the creator becomes its first owner."""
    require(actor.is_authenticated and actor.api_key is None, "Tenants are created by people, not keys.")
    tenant = Tenant(slug=slug.strip().lower(), name=name.strip())
    validate_model(tenant)
    check_tenant_slug(tenant.slug)
    if Tenant.objects.filter(slug=tenant.slug).exists():
        raise ApplicationError(f"The slug “{tenant.slug}” is taken.", code=SLUG_TAKEN, field="slug")
    try:
        with transaction.atomic():
            tenant.save()
    except IntegrityError:
        raise ApplicationError(f"The slug “{tenant.slug}” is taken.", code=SLUG_TAKEN, field="slug") from None
    Membership.objects.create(tenant=tenant, user=actor.user, role=Role.OWNER)
    for env_name, kind in DEFAULT_ENVIRONMENTS:
        _environment_add(Environment(tenant=tenant, name=env_name, kind=kind))
    audit_record(actor=actor, action="tenant.create", obj=tenant, changes={"name": [None, tenant.name]})
    return tenant


@transaction.atomic
def tenant_update(*, actor: Principal, tenant: Tenant, name: str) -> Tenant:
    require(policy_for(Tenant).can(actor, "change", tenant), tenant=tenant)
    before = {"name": tenant.name}
    tenant.name = name.strip()
    validate_model(tenant)
    tenant.save(update_fields=["name"])
    audit_record(actor=actor, action="tenant.update", obj=tenant, changes=diff(before, {"name": tenant.name}))
    return tenant


@transaction.atomic
def tenant_set_status(*, operator: Principal, tenant: Tenant, status: str, reason: str) -> Tenant:
    """Operators suspend or reactivate a tenant; suspension makes it read-only for its members."""
    require(operator.is_operator)
    if status not in Tenant.Status.values:
        raise ApplicationError(f"Unknown status “{status}”.", code=INVALID, field="status")
    before = tenant.status
    tenant.status = status
    tenant.save(update_fields=["status"])
    audit_record(
        actor=operator,
        action=f"tenant.{'suspend' if status == Tenant.Status.SUSPENDED else 'activate'}",
        obj=tenant,
        changes={"status": [before, status], "reason": [None, reason]},
    )
    return tenant


# --- Members -----------------------------------------------------------------------------------


def _owner_count(tenant: Tenant) -> int:
    owners = Membership.objects.select_for_update(of=("self",)).order_by().filter(tenant=tenant, role=Role.OWNER)
    return len(list(owners.values_list("id", flat=True)))


@transaction.atomic
def member_change_role(*, actor: Principal, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ApplicationError(f"Unknown role “{role}”.", code=INVALID, field="role")
    require(policy_for(Membership).can_change(actor, membership, new_role=role), tenant=membership.tenant)
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(membership.tenant) <= 1:
        raise ApplicationError(
            "A tenant needs at least one owner; make someone else owner first.", code=LAST_OWNER, field="role"
        )
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor=actor,
        action="member.change_role",
        obj=membership,
        tenant=membership.tenant,
        changes={"role": [before, role]},
    )
    return membership


def _remove(actor: Principal, membership: Membership, action: str) -> None:
    if membership.role == Role.OWNER and _owner_count(membership.tenant) <= 1:
        raise ApplicationError(
            "The last owner cannot leave or be removed; make someone else owner first.", code=LAST_OWNER
        )
    audit_record(
        actor=actor, action=action, obj=membership, tenant=membership.tenant, changes={"role": [membership.role, None]}
    )
    membership.delete()
    access_changed_on_commit(membership.user_id)  # the streams they have open of the tenant close


@transaction.atomic
def member_remove(*, actor: Principal, membership: Membership) -> None:
    require(policy_for(Membership).can_delete(actor, membership), tenant=membership.tenant)
    _remove(actor, membership, "member.remove")


@transaction.atomic
def member_leave(*, actor: Principal, membership: Membership) -> None:
    require(policy_for(Membership).can_leave(actor, membership))
    _remove(actor, membership, "member.leave")


# --- Invitations -------------------------------------------------------------------------------


@transaction.atomic
def invitation_create(*, actor: Principal, tenant: Tenant, email: str, role: str) -> tuple[Invitation, str]:
    """Invite an address with a role and email it an accept link. Returns the invitation and the token."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError("Enter a valid email address.", code=INVALID, field="email") from None
    if role not in Role.values:
        raise ApplicationError(f"Unknown role “{role}”.", code=INVALID, field="role")
    require(policy_for(Invitation).can_invite(actor, tenant, role), tenant=tenant)
    if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
        raise ApplicationError(f"{email} is already a member.", code=ALREADY_MEMBER, field="email")
    if Invitation.objects.filter(
        tenant=tenant, email=email, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).exists():
        raise ApplicationError(f"{email} already has an open invitation.", code=ALREADY_INVITED, field="email")
    # An expired, unanswered invitation gives way to the new one.
    Invitation.objects.filter(tenant=tenant, email=email, accepted_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=role,
        token_hash=Invitation.hash_token(token),
        invited_by=actor.user,
        expires_at=timezone.now() + INVITATION_TTL,
    )
    audit_record(actor=actor, action="invitation.create", obj=invitation, changes={"role": [None, role]})
    transaction.on_commit(lambda: _send_invitation(invitation, token))
    return invitation, token


def _send_invitation(invitation: Invitation, token: str) -> None:
    context = {"invitation": invitation, "url": f"{settings.PORTAL_URL}/invitations/{token}/"}
    send_mail(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}You are invited to {invitation.tenant.name}",
        message=render_to_string("tenants/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


def invitation_by_token(token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("tenant", "invited_by")
        .filter(token_hash=Invitation.hash_token(token or ""))
        .first()
    )
    if invitation is None:
        raise ApplicationError("This invitation link is not valid.", code=NOT_FOUND, status=404)
    return invitation


def invitation_check(*, invitation: Invitation, user) -> None:
    """Raise the refusal `user` would get on accepting, so a page can say it before they click."""
    if not invitation.is_open:
        raise ApplicationError("This invitation was already used or withdrawn.", code=INVITATION_CLOSED, status=410)
    if invitation.expires_at <= timezone.now():
        raise ApplicationError("This invitation has expired; ask for a new one.", code=INVITATION_EXPIRED, status=410)
    if user.email.lower() != invitation.email:
        raise ApplicationError(
            f"This invitation is for {invitation.email}; sign in with that address.",
            code=INVITATION_WRONG_USER,
            status=403,
        )
    _require_open_to_join(invitation)


def _require_open_to_join(invitation: Invitation) -> None:
    """Nobody joins a suspended tenant: an invitation sent before the suspension waits for its end."""
    if not invitation.tenant.is_active:
        raise ApplicationError(
            f"{invitation.tenant.name} is suspended; this invitation can be accepted once the platform "
            "operators reactivate it.",
            code=TENANT_SUSPENDED,
            status=403,
        )


@transaction.atomic
def invitation_accept(*, user, token: str) -> Membership:
    """The signed-in user whose email the invitation names joins the tenant with its role."""
    invitation = invitation_by_token(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    invitation_check(invitation=invitation, user=user)
    return _join(user=user, invitation=invitation)


@transaction.atomic
def invitation_accept_pending(*, user, invitation_id: int) -> Membership:
    """Accept, from the home page, an invitation to one of the user's verified addresses: the verified
    address proves what the emailed token would. Another address's invitation is as missing as none."""
    invitation = invitations_pending_for(user).select_for_update(of=("self",)).filter(pk=invitation_id).first()
    if invitation is None:
        raise ApplicationError("This invitation is not open for you any more.", code=NOT_FOUND, status=404)
    return _join(user=user, invitation=invitation)


def _join(*, user, invitation: Invitation) -> Membership:
    _require_open_to_join(invitation)
    if Membership.objects.filter(tenant=invitation.tenant, user=user).exists():
        raise ApplicationError("You are already a member.", code=ALREADY_MEMBER, status=409)
    membership = Membership.objects.create(tenant=invitation.tenant, user=user, role=invitation.role)
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(actor=user, action="invitation.accept", obj=invitation, changes={"role": [None, invitation.role]})
    return membership


@transaction.atomic
def invitation_revoke(*, actor: Principal, invitation: Invitation) -> None:
    require(policy_for(Invitation).can(actor, "delete", invitation), tenant=invitation.tenant)
    if not invitation.is_open:
        raise ApplicationError("This invitation was already used or withdrawn.", code=INVITATION_CLOSED, status=409)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action="invitation.revoke", obj=invitation)


# --- Environments ------------------------------------------------------------------------------


@transaction.atomic
def environment_create(
    *, actor: Principal, tenant: Tenant, name: str, kind: str = Environment.Kind.NON_PRODUCTION
) -> Environment:
    require(policy_for(Environment).can_add(actor, tenant), tenant=tenant)
    environment = Environment(tenant=tenant, name=(name or "").strip().lower(), kind=kind)
    validate_model(environment, exclude=["tenant", "namespace"])
    if Environment.objects.filter(tenant=tenant, name=environment.name).exists():
        raise ApplicationError(
            f"There is already an environment called “{environment.name}”.", code=NAME_TAKEN, field="name"
        )
    _environment_add(environment)
    audit_record(
        actor=actor,
        action="environment.create",
        obj=environment,
        changes={"name": [None, environment.name], "kind": [None, kind], "namespace": [None, environment.namespace]},
    )
    return environment


def _environment_add(environment: Environment) -> None:
    """Name the environment's namespace, refuse a reserved or taken one, save, and have it provisioned.

    The namespace scheme cannot collide for names made under it; the check covers namespaces made
    before it, which a unique constraint backs."""
    environment.namespace = namespace_for(environment.tenant.slug, environment.name)
    check_namespace(environment.namespace)
    taken = ApplicationError(
        f"The namespace “{environment.namespace}” is already in use; choose another name.",
        code=NAME_TAKEN,
        status=409,
        field="name",
    )
    if Environment.objects.filter(namespace=environment.namespace).exists():
        raise taken
    try:
        with transaction.atomic():
            environment.save()
    except IntegrityError:
        raise taken from None
    environment_created.send(sender=Environment, environment=environment)


def _refuse_ungoverning(actor, environment: Environment) -> None:
    """Making production non-production would take it out of the production rules (the platform's
    approval rules, tenant-wide freezes): refused while approval governs it, and during a freeze."""
    if gate().governed(environment):
        raise ApplicationError(
            f"Changes to {environment.name} need approval, so it stays production: remove its "
            "approval policy first (the platform's rules for production always apply).",
            code=GOVERNED_ENVIRONMENT,
            status=409,
            field="kind",
        )
    gate().assess(
        Change(
            kind="reclassify",
            tenant=environment.tenant,
            actor=actor,
            environment=environment,
            title=f"Make {environment.name} non-production",
        )
    )  # a freeze refuses it


@transaction.atomic
def environment_update(
    *, actor: Principal, environment: Environment, name: str | None = None, kind: str | None = None
) -> Environment:
    """Rename or re-classify an environment. Its namespace never changes."""
    require(policy_for(Environment).can(actor, "change", environment), tenant=environment.tenant)
    before = {"name": environment.name, "kind": environment.kind}
    if environment.is_production and kind is not None and kind != Environment.Kind.PRODUCTION:
        _refuse_ungoverning(actor, environment)
    if name is not None:
        environment.name = name.strip().lower()
    if kind is not None:
        environment.kind = kind
    validate_model(environment, exclude=["tenant", "namespace"])
    if Environment.objects.filter(tenant=environment.tenant, name=environment.name).exclude(pk=environment.pk).exists():
        raise ApplicationError(
            f"There is already an environment called “{environment.name}”.", code=NAME_TAKEN, field="name"
        )
    environment.save(update_fields=["name", "kind"])
    audit_record(
        actor=actor,
        action="environment.update",
        obj=environment,
        changes=diff(before, {"name": environment.name, "kind": environment.kind}),
    )
    return environment


@transaction.atomic
def environment_delete(*, actor: Principal, environment: Environment) -> None:
    require(policy_for(Environment).can(actor, "delete", environment), tenant=environment.tenant)
    audit_record(actor=actor, action="environment.delete", obj=environment, changes={"name": [environment.name, None]})
    try:
        with transaction.atomic():
            environment.delete()
    except ProtectedError:
        raise ApplicationError(
            f"“{environment.name}” has deployments; it keeps their history and cannot be deleted while they exist.",
            code=ENVIRONMENT_IN_USE,
            status=409,
        ) from None


# --- Quotas (operators) ------------------------------------------------------------------------


@transaction.atomic
def quota_set(
    *, operator: Principal, tenant: Tenant, resource: str, limit: int, environment: Environment | None = None
) -> Quota:
    """Set a limit; refused when it would sit below what is already in use."""
    require(operator.is_operator, "Only platform operators set quotas.")
    if resource not in Quota.Resource.values:
        raise ApplicationError(f"Unknown resource “{resource}”.", code=INVALID, field="resource")
    if limit is None or int(limit) < 0:
        raise ApplicationError("A quota is a whole number, zero or more.", code=INVALID, field="limit")
    if environment is not None and environment.tenant_id != tenant.pk:
        raise ApplicationError("That environment belongs to another tenant.", code=INVALID, field="environment")
    if resource == Quota.Resource.DEPLOYMENTS and (environment is not None or int(limit) < 1):
        raise ApplicationError(
            "Deployments at once is a tenant-wide limit of at least one.", code=INVALID, field="limit"
        )
    used = usage_of(resource, tenant, environment)
    # Deployments beyond their limit wait their turn, so a lower limit than in flight now just makes them wait.
    if used is not None and int(limit) < used and resource != Quota.Resource.DEPLOYMENTS:
        raise ApplicationError(
            f"{used} already in use; the limit cannot be lower than that.", code=QUOTA_BELOW_USAGE, field="limit"
        )
    quota = (
        Quota.objects.select_for_update(of=("self",))
        .order_by()
        .filter(tenant=tenant, environment=environment, resource=resource)
        .first()
    )
    before = quota.limit if quota else None
    if quota is None:
        quota = Quota(tenant=tenant, environment=environment, resource=resource)
    quota.limit = int(limit)
    quota.save()
    audit_record(actor=operator, action="quota.set", obj=quota, tenant=tenant, changes={"limit": [before, quota.limit]})
    quota_changed.send(sender=Quota, tenant=tenant, environment=environment)
    return quota


QUOTA_NOT_AN_INCREASE = "quota_not_an_increase"


def quota_request_increase(
    *,
    actor: Principal,
    tenant: Tenant,
    resource: str,
    limit: int,
    justification: str,
    environment: Environment | None = None,
):
    """An owner or admin asks the platform for more: a change request that operators decide on
    (apps/approvals). The new limit applies when an operator approves it."""
    from apps.core.governance import Change, gate

    from .roles import at_least

    require(
        at_least(actor.role_in(tenant.pk), Role.ADMIN) and tenant.is_active and actor.has_scope("approvals", "write"),
        "Owners and admins ask for more quota.",
        tenant=tenant,
    )
    if resource not in Quota.Resource.values:
        raise ApplicationError(f"Unknown resource “{resource}”.", code=INVALID, field="resource")
    if environment is not None and environment.tenant_id != tenant.pk:
        raise ApplicationError("That environment belongs to another tenant.", code=INVALID, field="environment")
    current = Quota.objects.filter(tenant=tenant, environment=environment, resource=resource).first()
    if not isinstance(limit, int) or (current is not None and limit <= current.limit) or limit < 0:
        raise ApplicationError(
            f"Ask for more than the current limit ({current.limit if current else 'none'}).",
            code=QUOTA_NOT_AN_INCREASE,
            field="limit",
        )
    where = f" in {environment.name}" if environment else ""
    change = Change(
        kind="quota",
        tenant=tenant,
        actor=actor,
        environment=environment,
        justification=justification,
        params={"resource": resource, "limit": limit, "environment": environment.pk if environment else None},
        title=f"Raise the {Quota.Resource(resource).label} quota of {tenant.name}{where} to {limit}",
    )
    verdict = gate().assess(change)
    with transaction.atomic():
        return gate().open(change, verdict)
