"""Pages show what serves now from the lifecycle watcher's live model while a watcher leads, and only
what it read since it began leading; otherwise they read the cluster themselves."""

import html
import re

import pytest
from django.utils import timezone

from apps.core import leases
from apps.deployments.models import Deployment
from apps.workloads.models import Workload
from apps.workloads.watcher import LEASE
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db


@pytest.fixture
def row(world):
    """A finished deployment of web to dev, and the workload row a watcher made of it: 3 of 4 ready."""
    app = make_app(world.acme)
    release = make_release(app)
    dev = world.acme.environments.get(name="dev")
    Deployment.objects.create(tenant=world.acme, application=app, release=release, environment=dev, state="succeeded")
    return Workload.objects.create(
        tenant=world.acme, application=app, environment=dev, release=release, replicas=4, ready_replicas=3
    )


def overview(client, world) -> str:
    """What the deployments block's "Serving now" cell of web in dev says."""
    client.force_login(world.user("viewer"))
    page = client.get("/t/acme/").content.decode()
    [cell] = re.findall(r'<td class="small" data-field="serving">(.*?)</td>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", cell).strip())


def test_while_a_watcher_leads_the_page_shows_what_it_read(client, world, row):
    token = leases.try_acquire(LEASE, "watcher-a", 30)
    Workload.objects.filter(pk=row.pk).update(observed_at=timezone.now())
    assert overview(client, world) == "Release #1, 3 of 4 replicas ready"

    # Its read fails: the page says so rather than showing the last good read.
    Workload.objects.filter(pk=row.pk).update(read_error="connection refused")
    assert overview(client, world) == "The cluster could not be read: connection refused"

    # The watcher stops leading: the model is history, so the page reads the cluster itself (dev was
    # never placed on one, so nothing of web can run there).
    leases.give_up(LEASE, "watcher-a", token)
    assert overview(client, world) == "Nothing runs there now"


def test_a_row_read_before_the_leader_began_is_not_trusted(client, world, row):
    Workload.objects.filter(pk=row.pk).update(observed_at=timezone.now() - timezone.timedelta(minutes=5))
    leases.try_acquire(LEASE, "watcher-b", 30)
    assert overview(client, world) == "Nothing runs there now"


def test_what_runs_out_of_sync_with_its_release_says_so_where_it_says_what_serves(client, world, row):
    """A hand-set image under release #1 is not release #1 serving: the cell says how it differs."""
    leases.try_acquire(LEASE, "watcher-c", 30)
    Workload.objects.filter(pk=row.pk).update(
        observed_at=timezone.now(), sync="out_of_sync", image="registry.example/web:hotfix"
    )
    assert overview(client, world) == (
        "Release #1, 3 of 4 replicas ready; out of sync: the cluster runs registry.example/web:hotfix, "
        f"not the release's {row.release.image}"
    )
    Workload.objects.filter(pk=row.pk).update(image=row.release.image)  # a field other than the image
    assert overview(client, world).endswith(
        "out of sync: the cluster differs from the release (the workload's page shows where)"
    )
    Workload.objects.filter(pk=row.pk).update(sync="synced")
    assert overview(client, world) == "Release #1, 3 of 4 replicas ready"
