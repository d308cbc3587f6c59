"""Tenants, members, invitations, environments and quotas through the API, bad input included."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.tenants.models import Environment, Invitation, Membership, Tenant, namespace_for
from apps.tenants.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def error(response, status, code, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["detail"]
    if field:
        assert field in body["fields"]
    return body


def test_creating_a_tenant_makes_you_owner_with_three_environments(api):
    user = UserFactory()
    response = api.as_user(user).post("/api/v1/tenants/", {"slug": "initech", "name": "Initech"}, format="json")
    assert response.status_code == 201 and response.json()["role"] == Role.OWNER
    tenant = Tenant.objects.get(slug="initech")
    assert Membership.objects.get(tenant=tenant).user == user
    envs = {e.name: (e.kind, e.namespace) for e in Environment.objects.filter(tenant=tenant)}
    assert envs == {
        "dev": ("non_production", "initech--dev"),
        "staging": ("non_production", "initech--staging"),
        "prod": ("production", "initech--prod"),
    }


def test_duplicate_and_invalid_slugs_are_field_errors(world, api):
    api.as_user(world.user(Role.DEVELOPER))
    error(api.post("/api/v1/tenants/", {"slug": "acme", "name": "Again"}, format="json"), 400, "slug_taken", "slug")
    error(api.post("/api/v1/tenants/", {"slug": "Not OK!", "name": "Bad"}, format="json"), 400, "invalid", "slug")
    assert Tenant.objects.count() == 2


def test_invitation_round_trip(world, api, django_capture_on_commit_callbacks):
    api.as_user(world.user(Role.ADMIN))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/invitations/",
            {"tenant": "acme", "email": "New.Hire@Example.org", "role": Role.DEVELOPER},
            format="json",
        )
    assert response.status_code == 201 and response.json()["state"] == "open"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new.hire@example.org"]
    token = re.search(r"/invitations/([^/\s]+)/", mail.outbox[0].body).group(1)
    assert not Invitation.objects.filter(token_hash=token).exists()  # only its hash is stored

    newcomer = UserFactory(email="new.hire@example.org")
    response = api.as_user(newcomer).post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert response.status_code == 201 and response.json()["role"] == Role.DEVELOPER
    assert Membership.objects.get(tenant=world.acme, user=newcomer).role == Role.DEVELOPER
    error(api.post("/api/v1/invitations/accept/", {"token": token}, format="json"), 410, "invitation_closed")


def test_invitation_bad_input(world, api):
    api.as_user(world.user(Role.ADMIN))
    error(
        api.post("/api/v1/invitations/", {"tenant": "acme", "email": "not-an-email", "role": "viewer"}, format="json"),
        400,
        "invalid",
        "email",
    )
    error(
        api.post(
            "/api/v1/invitations/", {"tenant": "acme", "email": "viewer@acme.test", "role": "viewer"}, format="json"
        ),
        400,
        "already_member",
        "email",
    )
    error(
        api.post(
            "/api/v1/invitations/", {"tenant": "acme", "email": "boss@example.org", "role": "owner"}, format="json"
        ),
        403,
        "permission_denied",
    )
    assert Invitation.objects.count() == 0
    assert not AuditEvent.objects.filter(action="invitation.create").exists()


def test_expired_and_misaddressed_invitations(world, api):
    from apps.tenants.principals import as_principal
    from apps.tenants.services import invitation_create

    _, token = invitation_create(
        actor=as_principal(world.user(Role.OWNER)), tenant=world.acme, email="late@example.org", role=Role.VIEWER
    )
    stranger = UserFactory(email="stranger@example.org")
    error(
        api.as_user(stranger).post("/api/v1/invitations/accept/", {"token": token}, format="json"),
        403,
        "invitation_wrong_user",
    )
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    late = UserFactory(email="late@example.org")
    error(
        api.as_user(late).post("/api/v1/invitations/accept/", {"token": token}, format="json"),
        410,
        "invitation_expired",
    )
    assert not Membership.objects.filter(user=late).exists()


def test_the_last_owner_can_neither_leave_nor_be_demoted(world, api):
    owner = world.user(Role.OWNER)
    membership = Membership.objects.get(tenant=world.acme, user=owner)
    api.as_user(owner)
    error(api.post("/api/v1/tenants/acme/leave/"), 400, "last_owner")
    error(api.patch(f"/api/v1/members/{membership.pk}/", {"role": "admin"}, format="json"), 400, "last_owner", "role")
    membership.refresh_from_db()
    assert membership.role == Role.OWNER

    admin_membership = Membership.objects.get(tenant=world.acme, user=world.user(Role.ADMIN))
    assert api.patch(f"/api/v1/members/{admin_membership.pk}/", {"role": "owner"}, format="json").status_code == 200
    assert api.post("/api/v1/tenants/acme/leave/").status_code == 204
    assert not Membership.objects.filter(tenant=world.acme, user=owner).exists()


def test_admins_cannot_touch_owners_or_make_owners(world, api):
    api.as_user(world.user(Role.ADMIN))
    owner = Membership.objects.get(tenant=world.acme, user=world.user(Role.OWNER))
    viewer = Membership.objects.get(tenant=world.acme, user=world.user(Role.VIEWER))
    error(api.patch(f"/api/v1/members/{owner.pk}/", {"role": "viewer"}, format="json"), 403, "permission_denied")
    error(api.delete(f"/api/v1/members/{owner.pk}/"), 403, "permission_denied")
    error(api.patch(f"/api/v1/members/{viewer.pk}/", {"role": "owner"}, format="json"), 403, "permission_denied")
    assert api.patch(f"/api/v1/members/{viewer.pk}/", {"role": "developer"}, format="json").status_code == 200


def test_namespaces_are_dns_labels_unique_and_stable(world, api):
    long_slug = "a" * 40
    long_name = "b" * 30
    namespace = namespace_for(long_slug, long_name)
    assert len(namespace) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", namespace)
    assert namespace != namespace_for(long_slug, "b" * 29 + "c")

    api.as_user(world.user(Role.ADMIN))
    env = api.post("/api/v1/environments/", {"tenant": "acme", "name": "qa"}, format="json").json()
    renamed = api.patch(f"/api/v1/environments/{env['id']}/", {"name": "quality"}, format="json").json()
    assert renamed["name"] == "quality" and renamed["namespace"] == env["namespace"] == "acme--qa"
    error(
        api.post("/api/v1/environments/", {"tenant": "acme", "name": "quality"}, format="json"),
        400,
        "name_taken",
        "name",
    )


def test_a_suspended_tenant_is_read_only(world, api):
    from apps.tenants.services import tenant_set_status

    tenant_set_status(
        operator=world.operator_principal, tenant=world.acme, status="suspended", reason="unpaid invoices"
    )
    api.as_user(world.user(Role.OWNER))
    assert api.get("/api/v1/environments/", {"tenant": "acme"}).status_code == 200
    error(api.post("/api/v1/environments/", {"tenant": "acme", "name": "qa"}, format="json"), 403, "tenant_suspended")
    error(api.patch("/api/v1/tenants/acme/", {"name": "Acme 2"}, format="json"), 403, "tenant_suspended")


def test_a_suspended_tenants_keys_can_still_be_revoked_and_no_key_made(world, api):
    """Revoking only takes access away: a leaked key is stopped without waiting for reactivation."""
    from apps.apikeys.models import APIKey
    from apps.tenants.services import tenant_set_status
    from apps.traffic.consumer_keys import consumer_key_create

    developers_key = world.key(Role.DEVELOPER)
    leaked = APIKey.objects.get(user=world.user(Role.DEVELOPER))
    first, second = (
        consumer_key_create(actor=world.principal(Role.ADMIN), tenant=world.acme, name=name)[0]
        for name in ("partner-1", "partner-2")
    )
    tenant_set_status(operator=world.operator_principal, tenant=world.acme, status="suspended", reason="a leak")

    api.as_user(world.user(Role.ADMIN))
    assert api.delete(f"/api/v1/api-keys/{leaked.pk}/").status_code == 204
    assert api.delete(f"/api/v1/consumer-keys/{first.pk}/").status_code == 204
    assert api.with_key(developers_key).get("/api/v1/environments/").status_code == 401
    api.as_user(world.user(Role.ADMIN))
    made = api.post("/api/v1/api-keys/", {"tenant": "acme", "name": "new", "scopes": ["apps:read"]}, format="json")
    error(made, 403, "tenant_suspended")
    error(api.post("/api/v1/consumer-keys/", {"tenant": "acme", "name": "p3"}, format="json"), 403, "tenant_suspended")
    # Who may revoke is as before: a developer does not revoke the tenant's consumer keys.
    api.as_user(world.user(Role.DEVELOPER))
    error(api.delete(f"/api/v1/consumer-keys/{second.pk}/"), 403, "permission_denied")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == "revoked" and second.state == "active"
    assert AuditEvent.objects.filter(action__in=("apikey.revoke", "consumerkey.revoke")).count() == 2


def test_usage_report(world, api):
    from apps.tenants.services import quota_set

    quota_set(operator=world.operator_principal, tenant=world.acme, resource="api_keys", limit=5)
    world.key(Role.DEVELOPER)
    world.key(Role.VIEWER)
    report = api.as_user(world.user(Role.VIEWER)).get("/api/v1/tenants/acme/usage/").json()
    assert {"resource": "api_keys", "environment": None, "limit": 5, "used": 2, "remaining": 3} in report
