"""Long lists read newest first a page at a time (apps/core/paging.py). Each has an index the database
walks from the newest row and leaves after one page; without it a tenant's page sorts every row it has."""

import pytest
from django.db import connection
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.deployments.models import Deployment
from apps.deployments.selectors import listed
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db

# A busy tenant beside a quieter one, their rows interleaved as they arrive: too many of the quieter one's to
# sort for each page, too few among all to find a page of them soon by walking every tenant's newest first.
BIG, SMALL = 15000, 600


def _plan(rows) -> str:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE deployments_deployment; ANALYZE audit_auditevent")
    return rows.explain()


def test_a_page_of_a_tenants_deployments_walks_an_index_and_sorts_nothing(world):
    tenants = [world.globex] * (BIG // SMALL) + [world.acme]
    sources = {}
    for tenant in {world.acme, world.globex}:
        app = make_app(tenant, "web")
        sources[tenant] = (app, make_release(app), tenant.environments.first())
    rows = []
    for n in range(BIG + SMALL):
        tenant = tenants[n % len(tenants)]
        app, release, environment = sources[tenant]
        rows.append(
            Deployment(tenant=tenant, application=app, release=release, environment=environment, state="succeeded")
        )
    Deployment.objects.bulk_create(rows)
    page = Deployment.objects.filter(tenant=world.acme).order_by("-id")
    plan = _plan(page.select_related("application", "release", "environment", "requested_by")[:51])
    assert "deployment_tenant_newest" in plan and "Sort" not in plan, plan
    assert len(listed(page[:51])) == 51


def test_a_page_of_a_tenants_audit_trail_walks_an_index_and_sorts_nothing(world):
    tenants = [world.globex] * (BIG // SMALL) + [world.acme]
    AuditEvent.objects.bulk_create(
        AuditEvent(tenant=tenants[n % len(tenants)], action="probe.read", created_at=timezone.now())
        for n in range(BIG + SMALL)
    )
    plan = _plan(AuditEvent.objects.filter(tenant=world.acme).select_related("tenant").order_by("-id")[:51])
    assert "audit_tenant_newest" in plan and "Sort" not in plan, plan
