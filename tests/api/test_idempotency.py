"""Idempotency-Key on writes that start work: a retry returns the first answer; a reused key with another
body is refused; failures are not remembered; each caller's keys are their own."""

import pytest

from apps.approvals.services.configuration import approval_policy_save
from apps.catalog.models import Release
from apps.clusters.services import cluster_register
from apps.core.idempotency import KEY_REUSED
from apps.tenants.roles import Role
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db


def _release_body(app, **fields):
    return {"tenant": "acme", "application": app.pk, "image": "registry.example/shop:1.0", **fields}


def test_a_retried_release_create_returns_the_first_release(world, api):
    app = make_app(world.acme, "shop", kind="worker")
    api.with_key(world.key("developer"))
    first = api.post("/api/v1/releases/", _release_body(app), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/releases/", _release_body(app), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Release.objects.count() == 1

    other = api.post("/api/v1/releases/", _release_body(app), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.json()["number"] == 2
    plain = api.post("/api/v1/releases/", _release_body(app), format="json")
    assert plain.json()["number"] == 3 and "Idempotent-Replayed" not in plain


def test_a_key_reused_with_another_body_is_refused(world, api):
    app = make_app(world.acme, "shop", kind="worker")
    api.with_key(world.key("developer"))
    api.post("/api/v1/releases/", _release_body(app), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    reused = api.post("/api/v1/releases/", _release_body(app, replicas=3), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert reused.status_code == 422 and reused.json()["code"] == KEY_REUSED
    assert Release.objects.count() == 1


def test_a_failure_is_not_remembered_and_callers_do_not_share_keys(world, api):
    app = make_app(world.acme, "shop", kind="worker")
    api.with_key(world.key("developer"))
    failed = api.post("/api/v1/releases/", _release_body(app, replicas=1000), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert failed.status_code == 400
    fixed = api.post("/api/v1/releases/", _release_body(app, replicas=1000), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert fixed.status_code == 400  # the same bad body runs (and fails) again rather than replaying
    assert (
        api.post("/api/v1/releases/", _release_body(app), format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    )

    api.with_key(world.key("owner"))
    mine = api.post("/api/v1/releases/", _release_body(app), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert mine.status_code == 201 and "Idempotent-Replayed" not in mine
    assert Release.objects.count() == 2


def test_a_retried_approval_returns_the_decision_instead_of_already_decided(world, api, sandbox):
    cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    prod = world.acme.environments.get(name="prod")
    approval_policy_save(
        actor=world.principal(Role.OWNER),
        tenant=world.acme,
        environment=prod,
        stages=[{"name": "Admins", "quorum": 1, "roles": [Role.ADMIN, Role.OWNER]}],
    )
    release = make_release(make_app(world.acme, "shop"))
    api.as_user(world.user(Role.DEVELOPER))
    deployment = api.post(
        "/api/v1/deployments/",
        {"tenant": "acme", "release": release.pk, "environment": prod.pk, "justification": "Ship the fix"},
        format="json",
    ).json()
    change_request = deployment["change_request"]
    assert change_request

    api.with_key(world.key("admin"))
    url = f"/api/v1/change-requests/{change_request}/approve/"
    first = api.post(url, {"comment": "ok"}, format="json", HTTP_IDEMPOTENCY_KEY="approve-1")
    again = api.post(url, {"comment": "ok"}, format="json", HTTP_IDEMPOTENCY_KEY="approve-1")
    assert first.status_code == again.status_code == 200, first.content
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    without_key = api.post(url, {"comment": "ok"}, format="json")
    assert without_key.status_code == 409  # a genuinely second decision is still refused


def test_a_retried_deploy_says_it_is_a_replay(world, api):
    """Deploys keep their Idempotency-Key in the database, so a retry is known even when the cache that
    holds other answers lost it; the header must say so all the same."""
    release = make_release(make_app(world.acme))
    api.with_key(world.key("developer"))
    body = {"tenant": "acme", "release": release.pk, "environment": world.acme.environments.get(name="dev").pk}
    first = api.post("/api/v1/deployments/", body, format="json", HTTP_IDEMPOTENCY_KEY="deploy-1")
    again = api.post("/api/v1/deployments/", body, format="json", HTTP_IDEMPOTENCY_KEY="deploy-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
