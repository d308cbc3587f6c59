"""The application page and the tenant overview show the newest deployment per environment."""

import re

import pytest

from apps.deployments.models import Deployment
from apps.deployments.services import deployment_create
from apps.deployments.templatetags.deployment_live import OVERVIEW_SLOTS

from .conftest import make_app, make_release


@pytest.fixture
def deployed(world):
    release = make_release(make_app(world.acme, "shop"))
    deployment, _ = deployment_create(
        actor=world.principal("developer"), release=release, environment=world.acme.environments.get(name="dev")
    )
    return deployment


def test_the_overview_shows_each_applications_newest_deployment(client, world, deployed):
    client.force_login(world.user("viewer"))
    page = client.get("/t/acme/").content.decode()
    assert f'data-slot="{deployed.application_id}:{deployed.environment_id}" data-deployment="{deployed.pk}"' in page
    assert 'data-state="queued"' in page and "Release #1 queued for dev" in page
    assert 'data-socket="/ws/tenants/acme/"' in page


def test_the_application_page_gives_every_environment_a_row(client, world, deployed):
    client.force_login(world.user("viewer"))
    page = client.get("/t/acme/apps/shop/").content.decode()
    assert page.count('data-slot="') == world.acme.environments.count()
    assert f'data-deployment="{deployed.pk}"' in page
    assert page.count("not deployed") == world.acme.environments.count() - 1


def test_another_tenants_deployments_stay_off_the_overview(client, world, deployed):
    client.force_login(world.outsider)
    page = client.get("/t/globex/").content.decode()
    assert "Nothing deployed yet." in page and "shop" not in page


def test_the_overview_shows_the_places_deployed_to_most_recently_newest_first(client, world):
    environments = list(world.acme.environments.order_by("pk"))
    places = []
    for n in range(OVERVIEW_SLOTS + 2):
        app = make_app(world.acme, f"app{n}")
        release = make_release(app)
        environment = environments[n % len(environments)]
        for _ in range(1 + n % 2):  # deployed again: the same place, one row
            Deployment.objects.create(
                tenant=world.acme, application=app, release=release, environment=environment, state="succeeded"
            )
        places.append(f"{app.pk}:{environment.pk}")
    client.force_login(world.user("viewer"))

    page = client.get("/t/acme/").content.decode()
    shown = re.findall(r'data-slot="(\d+:\d+)"', page)
    assert shown == places[::-1][:OVERVIEW_SLOTS]
    assert 'id="latest-deployments-more"' in page and f'data-slots="{OVERVIEW_SLOTS}"' in page
    # An application's own page is not cut short: every environment, newest deployment in each.
    app = client.get("/t/acme/apps/app1/").content.decode()
    assert app.count('data-slot="') == len(environments) and "latest-deployments-more" not in app


def test_a_deployment_not_running_yet_says_when_its_operations_come(client, world, deployed):
    client.force_login(world.user("developer"))
    page = client.get(f"/t/acme/deployments/{deployed.pk}/").content.decode()
    assert 'id="operations-later"' in page and "once this deployment is what runs in dev" in page
    assert "Remove from dev…" in page
