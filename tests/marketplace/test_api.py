"""The marketplace API: offerings with plans, instances provisioned by a real worker, bindings whose
credentials are shown once, refusals, isolation, and credentials kept out of audit, events and logs."""

import json
import logging

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.core.events import platform_event
from apps.marketplace.models import ServiceBinding, ServiceInstance
from apps.tenants.roles import Role
from tests.conftest import wait_for

from .conftest import make_app, provision

OFFERINGS = reverse("serviceoffering-list")
INSTANCES = reverse("serviceinstance-list")
BINDINGS = reverse("servicebinding-list")


@pytest.mark.django_db
def test_the_marketplace_lists_offerings_with_their_plans(world, api, postgres):
    api.as_user(world.user("viewer"))
    body = api.get(OFFERINGS).json()
    assert body == [
        {
            "slug": "postgresql",
            "name": "PostgreSQL",
            "description": "",
            "provider": "postgres",
            "plans": [
                {
                    "slug": "small",
                    "name": "Small",
                    "description": "",
                    "limits": {"access": "readwrite", "connections": 5},
                    "needs_approval": False,
                },
                {
                    "slug": "reader",
                    "name": "Reader",
                    "description": "",
                    "limits": {"access": "readonly"},
                    "needs_approval": False,
                },
            ],
        }
    ]
    api.with_key(world.key(Role.OWNER, scopes=["apps:read"]))
    assert api.get(OFFERINGS).json()["code"] == "missing_scope"
    api.logout()
    api.credentials()
    assert api.get(OFFERINGS).status_code == 401


@pytest.mark.django_db
def test_unknown_plan_and_name_clash_are_refused(world, api, postgres):
    api.as_user(world.user("developer"))
    payload = {"tenant": "acme", "environment": "dev", "offering": "postgresql", "plan": "huge", "name": "db"}
    refused = api.post(INSTANCES, payload, format="json")
    assert refused.status_code == 400 and "plan" in refused.json()["fields"]
    assert api.post(INSTANCES, {**payload, "plan": "small"}, format="json").status_code == 202
    clash = api.post(INSTANCES, {**payload, "plan": "small"}, format="json")
    assert clash.status_code == 409 and clash.json()["code"] == "name_taken"


@pytest.mark.django_db
def test_instances_count_against_the_quota(world, api, postgres):
    from apps.tenants.models import Quota

    Quota.objects.create(tenant=world.acme, resource=Quota.Resource.ADDONS, limit=1)
    api.as_user(world.user("developer"))
    payload = {"tenant": "acme", "environment": "dev", "offering": "postgresql", "plan": "small", "name": "one"}
    assert api.post(INSTANCES, payload, format="json").status_code == 202
    refused = api.post(INSTANCES, {**payload, "name": "two"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "quota_exceeded"


@pytest.mark.django_db
def test_binding_another_tenants_instance_or_application_is_a_404(world, api, cluster, postgres):
    ours = provision(world, postgres)
    theirs = provision(world, postgres, tenant="globex")
    our_app, their_app = make_app(world.acme, "web"), make_app(world.globex, "web")
    api.as_user(world.user("owner"))
    for instance, application in ((theirs, our_app.pk), (ours, their_app.pk), (theirs, "web")):
        response = api.post(BINDINGS, {"instance": instance.pk, "application": application}, format="json")
        assert response.status_code == 404 and response.json() == {"code": "not_found", "detail": "Not found."}
    api.as_user(world.user("viewer"))
    response = api.post(BINDINGS, {"instance": ours.pk, "application": our_app.pk}, format="json")
    assert response.status_code == 403
    assert not ServiceBinding.objects.exists()


@pytest.mark.django_db
def test_an_application_is_bound_by_its_name_and_another_tenants_name_is_a_404(world, api, cluster, postgres):
    instance = provision(world, postgres)
    make_app(world.acme, "web")
    make_app(world.globex, "billing")
    api.as_user(world.user("owner"))
    response = api.post(BINDINGS, {"instance": instance.pk, "application": "billing"}, format="json")
    assert response.status_code == 404 and response.json() == {"code": "not_found", "detail": "Not found."}
    response = api.post(BINDINGS, {"instance": instance.pk, "application": "web"}, format="json")
    assert response.status_code == 201, response.content
    assert ServiceBinding.objects.get().application.name == "web"


@pytest.mark.django_db
def test_credentials_are_shown_once_to_owners_and_never_recorded(world, api, cluster, postgres, caplog):
    instance = provision(world, postgres)
    heard = []

    def listen(sender, **kwargs):
        heard.append(kwargs)

    platform_event.connect(listen)
    caplog.set_level(logging.DEBUG)
    try:
        api.as_user(world.user("owner"))
        made = api.post(BINDINGS, {"instance": instance.pk, "application": make_app(world.acme).pk}, format="json")
        api.as_user(world.user("developer"))
        other = api.post(
            BINDINGS, {"instance": instance.pk, "application": make_app(world.acme, "worker").pk}, format="json"
        )
    finally:
        platform_event.disconnect(listen)
    assert made.status_code == 201 and made["Cache-Control"] == "no-store"
    url = made.json()["credentials"]["DATABASE_URL"]
    password = url.split(":")[2].split("@")[0]
    assert other.status_code == 201 and "credentials" not in other.json()
    assert "credentials" not in api.get(reverse("servicebinding-detail", args=[made.json()["id"]])).json()
    trail = json.dumps(list(AuditEvent.objects.values("changes", "object_display")), default=str)
    assert "addon.bind" in set(AuditEvent.objects.values_list("action", flat=True))
    for where in (trail, json.dumps(heard, default=str), caplog.text):
        assert password not in where
    binding = ServiceBinding.objects.get(pk=made.json()["id"])
    assert password not in binding.credentials_encrypted  # encrypted at rest


def test_provision_bind_unbind_deprovision_through_the_api_with_a_worker(world, api, cluster, postgres, celery_worker):
    api.as_user(world.user("developer"))
    payload = {"tenant": "acme", "environment": "dev", "offering": "postgresql", "plan": "small", "name": "main"}
    created = api.post(INSTANCES, payload, format="json")
    assert created.status_code == 202 and created.json()["state"] == "provisioning"
    detail = reverse("serviceinstance-detail", args=[created.json()["id"]])
    wait_for(lambda: api.get(detail).json()["state"] == "ready", timeout=30)

    make_app(world.acme)
    bound = api.post(BINDINGS, {"instance": created.json()["id"], "application": "web"}, format="json")  # by name
    assert bound.status_code == 201, bound.content
    refused = api.delete(detail)
    assert (
        refused.status_code == 409 and refused.json()["code"] == "instance_bound" and "web" in refused.json()["detail"]
    )

    assert api.delete(reverse("servicebinding-detail", args=[bound.json()["id"]])).status_code == 204
    assert api.delete(detail).status_code == 202
    wait_for(lambda: not ServiceInstance.objects.filter(pk=created.json()["id"]).exists(), timeout=30)
    assert api.get(detail).status_code == 404
