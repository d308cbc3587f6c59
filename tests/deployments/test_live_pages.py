"""The application page and the tenant overview show the newest deployment per environment."""

import pytest

from apps.deployments.services import deployment_create

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
