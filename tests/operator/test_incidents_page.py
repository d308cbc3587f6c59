"""The operator console's incidents: every tenant's, open by default, who acknowledged or resolved
each; staff only."""

import pytest
from django.utils import timezone

from apps.workloads.models import Cause, Incident, Workload
from tests.deployments.conftest import make_app

pytestmark = pytest.mark.django_db


def incident(tenant, name, **fields):
    workload = Workload.objects.create(
        tenant=tenant, application=make_app(tenant, name), environment=tenant.environments.get(name="dev")
    )
    now = timezone.now()
    return Incident.objects.create(
        tenant=tenant,
        workload=workload,
        cause=Cause.CRASH_LOOP,
        message=f"{name} crashes",
        first_seen=now,
        last_seen=now,
        **fields,
    )


def test_operators_see_every_tenants_incidents_and_who_looked_at_them(client, world):
    acknowledged = incident(world.acme, "shop", acknowledged_at=timezone.now(), acknowledged_by=world.user("admin"))
    incident(world.globex, "blog", state="resolved", resolved_at=timezone.now())
    client.force_login(world.operator)

    page = client.get("/operator/incidents/").content.decode()
    assert f'data-incident="{acknowledged.pk}"' in page and "blog crashes" not in page, "open ones by default"
    assert f"acknowledged by {world.user('admin').email}" in page
    every = client.get("/operator/incidents/?state=").content.decode()
    assert "shop crashes" in every and "blog crashes" in every and "by itself" in every

    client.force_login(world.user("owner"))
    assert client.get("/operator/incidents/").status_code == 404
