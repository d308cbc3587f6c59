"""Rotating a binding's credentials: new ones at once, the old ones still working through the overlap,
then revoked; unbinding during the overlap revokes both."""

import psycopg
import pytest
from django.urls import reverse

from apps.marketplace import services
from apps.marketplace.models import ServiceBinding

from .conftest import bind, provision
from .test_postgres import secret_data

pytestmark = pytest.mark.django_db


def test_rotation_overlaps_then_revokes_the_old_credentials(world, api, cluster, postgres):
    instance = provision(world, postgres)
    binding, old = bind(world, instance)
    api.as_user(world.user("owner"))
    rotated = api.post(reverse("servicebinding-rotate", args=[binding.pk]))
    assert rotated.status_code == 200 and rotated["Cache-Control"] == "no-store"
    new = rotated.json()["credentials"]
    assert new["DATABASE_URL"] != old["DATABASE_URL"]
    assert secret_data(instance.environment, "web-addons")["DATABASE_URL"] == new["DATABASE_URL"]
    for url in (old["DATABASE_URL"], new["DATABASE_URL"]):  # the overlap: both work
        psycopg.connect(url).close()
    again = api.post(reverse("servicebinding-rotate", args=[binding.pk]))
    assert again.status_code == 409

    old_user = ServiceBinding.objects.get(pk=binding.pk).retiring_username
    services.binding_retire_credential(binding_id=binding.pk, username=old_user)  # the task, after the overlap
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(old["DATABASE_URL"])
    psycopg.connect(new["DATABASE_URL"]).close()
    assert ServiceBinding.objects.get(pk=binding.pk).retiring_username == ""


def test_unbinding_during_the_overlap_revokes_both_credentials(world, cluster, postgres):
    instance = provision(world, postgres)
    binding, old = bind(world, instance)
    binding, new = services.binding_rotate(actor=world.principal("developer"), binding=binding)
    services.binding_delete(actor=world.principal("developer"), binding=binding)
    for url in (old["DATABASE_URL"], new["DATABASE_URL"]):
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url)
