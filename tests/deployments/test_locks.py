"""A row locked for a change locks that row only. PostgreSQL's FOR UPDATE locks a row of every table the
query joins unless told which: a deployment's every event and state change locked its tenant's row too,
so a tenant's deployments, builds and releases queued behind one another on it, and the watcher's pod
rows (which locked tenant, application and environment) deadlocked against them."""

import threading

import pytest
from django.db import OperationalError, connection, transaction

from apps.deployments.models import Deployment
from apps.deployments.services.state import deployment_locked
from apps.tenants.models import Tenant

from .conftest import make_app, make_release

pytestmark = pytest.mark.django_db(transaction=True)


def locked_elsewhere(model, pk: int) -> bool:
    """Whether another connection finds the row locked (it asks without waiting)."""
    answer = {}

    def ask():
        try:
            with transaction.atomic():
                list(model.objects.select_for_update(nowait=True).filter(pk=pk).values_list("pk", flat=True))
            answer["locked"] = False
        except OperationalError:
            answer["locked"] = True
        finally:
            connection.close()

    thread = threading.Thread(target=ask)
    thread.start()
    thread.join(timeout=30)
    return answer["locked"]


def test_a_deployment_locked_for_a_change_leaves_its_tenant_free(world):
    app = make_app(world.acme)
    deployment = Deployment.objects.create(
        tenant=world.acme,
        application=app,
        release=make_release(app),
        environment=world.acme.environments.get(name="dev"),
        state="applying",
    )
    with transaction.atomic():
        assert deployment_locked(deployment.pk).tenant == world.acme  # the tenant is read with it
        assert locked_elsewhere(Deployment, deployment.pk)
        assert not locked_elsewhere(Tenant, world.acme.pk)
