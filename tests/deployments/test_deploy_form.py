"""The deploy form in few steps: it starts from the application (and release) pages with the
application fixed and the latest release preselected, lists only that application's releases, shows
only the fields of the chosen strategy, and still previews the manifests before confirming. A first
release starts from sensible defaults."""

import re

import pytest

from apps.deployments.models import Deployment
from apps.tenants.roles import Role

from .conftest import make_app, make_release

pytestmark = pytest.mark.django_db

NEW = "/t/acme/deployments/new/"


@pytest.fixture
def releases(world):
    shop, web = make_app(world.acme, "shop"), make_app(world.acme, "web")
    first, latest = (
        make_release(shop, image="registry.example/shop:1.0"),
        make_release(shop, image="registry.example/shop:2.0"),
    )
    make_release(web, image="registry.example/web:9.9")
    return first, latest


@pytest.fixture
def dev_client(client, world):
    client.force_login(world.user(Role.DEVELOPER))
    return client


def options(html: str, name: str) -> list[tuple[str, bool]]:
    """(label, selected) of each option of the select named `name`."""
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0)
    return [
        (label, bool(selected)) for selected, label in re.findall(r"<option[^>]*?( selected)?>([^<]*)</option>", select)
    ]


def test_the_application_page_deploys_its_latest_release_with_the_application_fixed(dev_client, releases):
    first, latest = releases
    page = dev_client.get("/t/acme/apps/shop/").content.decode()
    assert f'href="{NEW}?application=shop"' in page
    assert f'href="{NEW}?application=shop&amp;release=1"' in page  # each release row deploys that release

    response = dev_client.get(NEW, {"application": "shop"})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<input type="hidden" name="application" value="{first.application_id}"' in html
    assert '<select name="application"' not in html
    assert options(html, "release") == [
        ("#2 · registry.example/shop:2.0 (latest)", True),
        ("#1 · registry.example/shop:1.0", False),
    ]
    assert "web:9.9" not in html  # another application's release is not offered


def test_the_release_page_preselects_that_release_and_a_named_environment(dev_client, releases):
    assert (
        f'href="{NEW}?application=shop&amp;release=1"'
        in dev_client.get("/t/acme/apps/shop/releases/1/").content.decode()
    )
    html = dev_client.get(NEW, {"application": "shop", "release": "1", "environment": "dev"}).content.decode()
    assert ("#1 · registry.example/shop:1.0", True) in options(html, "release")
    assert ("dev (non-production)", True) in options(html, "environment")


def test_without_an_application_the_form_asks_for_one_first(dev_client, releases):
    html = dev_client.get(NEW).content.decode()
    assert options(html, "application") == [("Choose an application", True), ("shop", False), ("web", False)]
    assert 'name="release"' not in html
    assert 'method="get"' in html and "data-autosubmit" in html  # choosing one reloads with its releases


def test_only_the_chosen_strategys_fields_show(dev_client, releases):
    html = dev_client.get(NEW, {"application": "shop"}).content.decode()
    assert re.search(r'<div data-strategy-only="canary" hidden>\s*<div class="mb-3">\s*<label[^>]*>Canary steps', html)
    assert re.search(r'<div data-strategy-only="blue_green" hidden>', html)
    first, _ = releases
    dev = first.tenant.environments.get(name="dev")
    body = {
        "application": first.application_id,
        "release": first.pk,
        "environment": dev.pk,
        "strategy": "canary",
        "preview": "1",
    }
    html = dev_client.post(NEW, body).content.decode()
    assert re.search(r'<div data-strategy-only="canary">\s*<div class="mb-3">\s*<label[^>]*>Canary steps', html)
    assert re.search(r'<div data-strategy-only="blue_green" hidden>', html)


def test_preview_then_confirm_deploys_the_chosen_release(dev_client, releases, world):
    first, _ = releases
    dev = world.acme.environments.get(name="dev")
    body = {"application": first.application_id, "release": first.pk, "environment": dev.pk, "strategy": "rolling"}
    preview = dev_client.post(NEW, {**body, "preview": "1"})
    assert preview.status_code == 200 and "kind: Deployment" in preview.content.decode()
    response = dev_client.post(NEW, {**body, "confirm": "1"})
    deployment = Deployment.objects.get()
    assert response.status_code == 302 and deployment.release == first and deployment.environment == dev


def test_a_release_of_another_application_is_refused(dev_client, releases, world):
    first, _ = releases
    other = make_app(world.acme, "web").releases.get()
    dev = world.acme.environments.get(name="dev")
    body = {"application": first.application_id, "release": other.pk, "environment": dev.pk, "strategy": "rolling"}
    response = dev_client.post(NEW, {**body, "confirm": "1"})
    assert response.status_code == 400 and not Deployment.objects.exists()


def test_a_post_without_an_application_asks_for_one(dev_client, releases):
    response = dev_client.post(NEW, {"strategy": "rolling"})
    assert response.status_code == 400 and "This field is required." in response.content.decode()


def test_a_first_release_starts_from_sensible_defaults(dev_client, world):
    make_app(world.acme, "fresh")
    html = dev_client.get("/t/acme/apps/fresh/").content.decode()
    assert re.search(r'name="replicas" value="1"', html)
    assert re.search(r'name="cpu_request" value="100m"', html)
    assert re.search(r'name="memory_request" value="128Mi"', html)


def test_every_bad_deploy_field_is_marked_at_once(dev_client, releases, world):
    """The progress deadline and the health gate fail in the form itself (out of their ranges); the
    falling canary steps break the strategy's rule. One submit marks all three."""
    first, _ = releases
    dev = world.acme.environments.get(name="dev")
    body = {
        "application": first.application_id,
        "release": first.pk,
        "environment": dev.pk,
        "strategy": "canary",
        "steps": "50, 10",
        "gate_seconds": "99999",
        "progress_deadline_seconds": "1",
        "preview": "1",
    }
    response = dev_client.post(NEW, body)
    assert response.status_code == 400
    html = response.content.decode()
    feedback = re.findall(r"invalid-feedback[^>]*>\s*([^<]*)", html)
    assert any("must rise" in text for text in feedback), feedback
    assert any("less than or equal to 3600" in text for text in feedback), feedback
    assert any("greater than or equal to 2" in text for text in feedback), feedback
    assert not Deployment.objects.exists()


def test_a_cron_job_with_a_canary_and_a_bad_deadline_hears_both(dev_client, world):
    cron = make_app(world.acme, "nightly", kind="cron")
    release = make_release(cron, schedule="@daily")
    dev = world.acme.environments.get(name="dev")
    body = {
        "application": cron.pk,
        "release": release.pk,
        "environment": dev.pk,
        "strategy": "canary",
        "progress_deadline_seconds": "0",
        "preview": "1",
    }
    html = dev_client.post(NEW, body).content.decode()
    assert "rolling strategy only" in html and "greater than or equal to 2" in html


def test_the_strategy_plan_names_every_bad_setting(world):
    from apps.core.errors import ApplicationError
    from apps.deployments.strategies.plan import strategy_plan

    cron = make_app(world.acme, "nightly", kind="cron")
    with pytest.raises(ApplicationError) as refused:
        strategy_plan(strategy="canary", application=cron, steps=[50, 10], gate_seconds=-1, keep_seconds=10**9)
    assert set(refused.value.errors) == {"strategy", "steps", "gate_seconds", "keep_seconds"}


def governed_prod(world):
    """acme's prod with an approval policy: a change there waits for an admin and needs a reason."""
    from apps.approvals.services.configuration import approval_policy_save

    prod = world.acme.environments.get(name="prod")
    approval_policy_save(
        actor=world.principal(Role.OWNER),
        tenant=world.acme,
        environment=prod,
        stages=[{"name": "Admins", "quorum": 1, "roles": [Role.ADMIN, Role.OWNER]}],
    )
    return prod


def test_a_governed_deploy_without_a_reason_hears_it_with_the_other_mistakes(dev_client, releases, world):
    prod = governed_prod(world)
    first, _ = releases
    body = {
        "application": first.application_id,
        "release": first.pk,
        "environment": prod.pk,
        "strategy": "rolling",
        "progress_deadline_seconds": "1",
        "confirm": "1",
    }
    html = dev_client.post(NEW, body).content.decode()
    assert "need approval: say why" in html and "greater than or equal to 2" in html
    assert not Deployment.objects.exists()


def test_a_governed_deploy_asks_for_its_reason_at_the_preview(dev_client, releases, world):
    """Before the manifests are shown, not after Confirm: the preview is not thrown away for a reason."""
    prod = governed_prod(world)
    first, _ = releases
    body = {"application": first.application_id, "release": first.pk, "environment": prod.pk, "strategy": "rolling"}
    refused = dev_client.post(NEW, {**body, "preview": "1"})
    html = refused.content.decode()
    assert refused.status_code == 400 and "need approval: say why" in html and "kind: Deployment" not in html
    preview = dev_client.post(NEW, {**body, "preview": "1", "justification": "the spring sale"})
    assert preview.status_code == 200 and "kind: Deployment" in preview.content.decode()
    assert not Deployment.objects.exists()
