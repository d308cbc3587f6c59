"""The audit trail is append-only down to the database, and records who, what, when and from where."""

import pytest
from django.db import DatabaseError, connection, transaction

from apps.audit.models import AppendOnlyError, AuditEvent
from apps.core.audit import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(world):
    return audit_record(actor=world.user("owner"), action="test.event", tenant=world.acme, object_display="x")


def test_database_rejects_update(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'forged' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_database_rejects_delete(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_model_refuses_changes(event):
    event.action = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_an_api_write_records_request_id_ip_user_agent_and_changes(world, api):
    api.as_user(world.user("admin"))
    response = api.post(
        "/api/v1/environments/",
        {"tenant": "acme", "name": "qa", "kind": "non_production"},
        format="json",
        HTTP_USER_AGENT="deploy-bot/2.1",
        REMOTE_ADDR="198.51.100.4",
        HTTP_X_REQUEST_ID="req-audit-000123",
    )
    assert response.status_code == 201
    event = AuditEvent.objects.get(action="environment.create")
    assert event.tenant == world.acme
    assert event.actor == world.user("admin") and event.actor_display == "admin@acme.test"
    assert event.request_id == "req-audit-000123"
    assert event.ip == "198.51.100.4" and event.user_agent == "deploy-bot/2.1"
    assert event.object_type == "tenants.environment" and event.object_id == str(response.json()["id"])
    assert event.changes["name"] == [None, "qa"]


def test_a_key_is_named_as_the_actor(world, api):
    api.with_key(world.key("admin", scopes=["environments:write"]))
    api.post("/api/v1/environments/", {"tenant": "acme", "name": "qa"}, format="json")
    event = AuditEvent.objects.get(action="environment.create")
    assert event.api_key_id is not None and "(key " in event.actor_display


def test_audit_api_filters_by_action_actor_and_date(world, api):
    audit_record(actor=world.user("developer"), action="app.deploy", tenant=world.acme)
    api.as_user(world.user("admin"))
    actions = {e["action"] for e in api.get("/api/v1/audit-events/", {"action": "app."}).json()["results"]}
    assert actions == {"app.deploy"}
    actors = {e["actor"] for e in api.get("/api/v1/audit-events/", {"actor": "developer@"}).json()["results"]}
    assert actors == {"developer@acme.test"}
    assert api.get("/api/v1/audit-events/", {"created_after": "2999-01-01T00:00:00Z"}).json()["results"] == []
