"""Every operation that changes what runs in an environment goes through the governance gate.

The operations are enumerated from the API router and the deployment pages' URLs, and each must be
classified here, so an action added later without a decision fails `test_every_*_is_classified`:

- gated: a freeze refuses it (409 change_freeze); under an approval policy it waits (202 with the
  change request, or a deployment in pending_approval) and nothing changes yet;
- carries on: it continues a change approved as a whole (resume, a canary's next step): a freeze
  refuses it, approval is not asked again;
- restorative: it stops or undoes damage (cancel, pause, switch back, roll back to the last good
  release): it goes ahead even in a freeze and opens a post-hoc review.

Everything runs against the sandbox cluster; the rows a scenario needs are seeded before the freeze or
the policy is set, then each call goes through the real API or page.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import URLPattern
from django.utils import timezone

from apps.approvals.gate import FROZEN
from apps.approvals.models import ChangeRequest
from apps.approvals.services.configuration import freeze_window_create
from apps.audit.models import AuditEvent
from apps.deployments.choices import State, Strategy
from apps.deployments.manifests import render
from apps.deployments.models import Deployment, DeploymentEvent
from apps.deployments.services import deploy_settings_for, deployment_create
from apps.tenants.roles import Role
from tests.approvals.conftest import govern, make_app, make_release

pytestmark = pytest.mark.django_db

GATED, CARRIES_ON, RESTORATIVE, READ = "gated", "carries on", "restorative", "read"

# (viewset basename, action) of every state-changing API route of the deployments app.
API_OPERATIONS = {
    ("deployment", "create"): GATED,
    ("deployment", "promote"): GATED,
    ("deployment", "scale"): GATED,
    ("deployment", "restart"): GATED,
    ("deployment", "remove"): GATED,
    ("deploysettings", "update"): GATED,
    ("deploysettings", "partial_update"): GATED,
    ("deployment", "resume"): CARRIES_ON,
    ("deployment", "continue_rollout"): CARRIES_ON,
    ("deployment", "rollback"): RESTORATIVE,
    ("deployment", "cancel"): RESTORATIVE,
    ("deployment", "pause"): RESTORATIVE,
    ("deployment", "switch_back"): RESTORATIVE,
}

# Every page of /t/<tenant>/deployments/ by URL name.
PAGE_OPERATIONS = {
    "list": READ,
    "detail": READ,
    "settings": READ,
    "new": GATED,
    "promote": GATED,
    "scale": GATED,
    "restart": GATED,
    "remove": GATED,
    "settings-update": GATED,
    "resume": CARRIES_ON,
    "continue": CARRIES_ON,
    "rollback": RESTORATIVE,
    "cancel": RESTORATIVE,
    "pause": RESTORATIVE,
    "switch-back": RESTORATIVE,
}


def test_every_state_changing_api_route_is_classified():
    from portal.api_router import router

    found = set()
    for pattern in router.urls:
        view = pattern.callback
        if not getattr(view, "cls", None) or not view.cls.__module__.startswith("apps.deployments"):
            continue
        basename = view.initkwargs["basename"]
        found |= {(basename, action) for method, action in view.actions.items() if method not in ("get", "head")}
    assert found == set(API_OPERATIONS), "classify the new operation here and prove it is gated"


def test_every_deployment_page_is_classified():
    from apps.deployments.urls import urlpatterns

    assert {p.name for p in urlpatterns if isinstance(p, URLPattern)} == set(PAGE_OPERATIONS)


# --- The stage: what runs in acme's prod before the freeze or the policy ----------------------


@dataclass
class Stage:
    world: object
    prod: object
    staging_good: Deployment  # succeeded in staging: can be promoted
    web_old: Deployment  # the last good release before web_live
    web_live: Deployment  # what runs now, in the cluster
    new_release: object  # a release of web never deployed
    api_rolling: Deployment  # a rolling update in flight, in the cluster
    canary: Deployment  # waiting at step 1
    blue_green: Deployment  # green went live, blue still kept
    kube: object


def _seed(world, release, environment, state=State.SUCCEEDED, **fields) -> Deployment:
    deployment, _ = deployment_create(actor=world.principal(Role.OWNER), release=release, environment=environment)
    Deployment.objects.filter(pk=deployment.pk).update(state=state, **fields)
    deployment.refresh_from_db()
    return deployment


@pytest.fixture
def stage(world, cluster):
    prod, staging = world.acme.environments.get(name="prod"), world.acme.environments.get(name="staging")
    web = make_app(world.acme, "web")
    oldest, old, live = make_release(web), make_release(web), make_release(web, image="registry.example/web:2.0")
    _seed(world, oldest, prod)
    web_old, web_live = _seed(world, old, prod), _seed(world, live, prod)
    api_release = make_release(make_app(world.acme, "api"))
    for release in (live, api_release):
        cluster.apply([obj for obj in render(release, prod) if obj["kind"] == "Deployment"])
    api_rolling = _seed(world, api_release, prod, State.PROGRESSING)
    canary = _seed(
        world,
        make_release(make_app(world.acme, "shop")),
        prod,
        State.PROGRESSING,
        strategy=Strategy.CANARY,
        strategy_config={"steps": [10, 50, 100]},
        step=1,
        waiting=True,
    )
    bg = make_app(world.acme, "bg")
    _seed(world, make_release(bg), prod, strategy=Strategy.BLUE_GREEN, colour="blue")
    blue_green = _seed(
        world,
        make_release(bg),
        prod,
        strategy=Strategy.BLUE_GREEN,
        colour="green",
        switch_back_until=timezone.now() + timedelta(minutes=10),
    )
    staging_good = _seed(world, make_release(make_app(world.acme, "promo")), staging)
    deploy_settings_for(prod)
    return Stage(
        world,
        prod,
        staging_good,
        web_old,
        web_live,
        make_release(web, image="registry.example/web:3.0"),
        api_rolling,
        canary,
        blue_green,
        cluster,
    )


def freeze(stage):
    now = timezone.now()
    freeze_window_create(
        actor=stage.world.principal(Role.OWNER),
        tenant=stage.world.acme,
        name="Sale",
        environment=stage.prod,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )


def require_approval(stage):
    govern(stage.world, stage.prod, ("Admins", 1, [Role.ADMIN, Role.OWNER], []))


# --- Each operation through the API ------------------------------------------------------------

WHY = {"justification": "Evening peak", "reason": "Errors after the release"}


def _api(method, path, body):
    return lambda stage, api: getattr(api, method)(path(stage), {**WHY, **body(stage)}, format="json")


D = "/api/v1/deployments/"
API_CALLS = {
    ("deployment", "create"): _api(
        "post", lambda s: D, lambda s: {"tenant": "acme", "release": s.new_release.pk, "environment": s.prod.pk}
    ),
    ("deployment", "promote"): _api(
        "post", lambda s: f"{D}{s.staging_good.pk}/promote/", lambda s: {"environment": s.prod.pk}
    ),
    ("deployment", "scale"): _api("post", lambda s: f"{D}{s.web_live.pk}/scale/", lambda s: {"replicas": 3}),
    ("deployment", "restart"): _api("post", lambda s: f"{D}{s.web_live.pk}/restart/", lambda s: {}),
    ("deployment", "remove"): _api(
        "post", lambda s: f"{D}remove/", lambda s: {"application": s.web_live.application_id, "environment": s.prod.pk}
    ),
    ("deploysettings", "update"): _api(
        "put", lambda s: f"/api/v1/deploy-settings/{s.prod.deploy_settings.pk}/", lambda s: {"auto_rollback": False}
    ),
    ("deploysettings", "partial_update"): _api(
        "patch", lambda s: f"/api/v1/deploy-settings/{s.prod.deploy_settings.pk}/", lambda s: {"auto_rollback": False}
    ),
    ("deployment", "resume"): _api("post", lambda s: f"{D}{s.api_rolling.pk}/resume/", lambda s: {}),
    ("deployment", "continue_rollout"): _api("post", lambda s: f"{D}{s.canary.pk}/continue/", lambda s: {}),
    ("deployment", "rollback"): _api("post", lambda s: f"{D}{s.web_live.pk}/rollback/", lambda s: {}),
    ("deployment", "cancel"): _api("post", lambda s: f"{D}{s.api_rolling.pk}/cancel/", lambda s: {}),
    ("deployment", "pause"): _api("post", lambda s: f"{D}{s.api_rolling.pk}/pause/", lambda s: {}),
    ("deployment", "switch_back"): _api("post", lambda s: f"{D}{s.blue_green.pk}/switch-back/", lambda s: {}),
}


def prepare(stage, operation):
    """Resuming needs a paused rollout."""
    if operation in (("deployment", "resume"), "resume"):
        Deployment.objects.filter(pk=stage.api_rolling.pk).update(paused_at=timezone.now())


def snapshot():
    """What a refused or waiting operation must leave as it was (change requests aside)."""
    return (
        AuditEvent.objects.exclude(action__startswith="change_request.").count(),
        DeploymentEvent.objects.count(),
        list(Deployment.objects.order_by("pk").values_list("pk", "state", "paused_at", "step")),
    )


def of(kind):
    return [operation for operation, how in API_OPERATIONS.items() if how in kind]


@pytest.mark.parametrize("operation", of((GATED, CARRIES_ON)), ids="-".join)
def test_a_freeze_refuses_every_operation_that_is_not_restorative(stage, api, operation):
    prepare(stage, operation)
    freeze(stage)
    before = snapshot()
    api.as_user(stage.world.user(Role.ADMIN))
    response = API_CALLS[operation](stage, api)
    assert response.status_code == 409, response.content
    assert response.json()["code"] == FROZEN
    assert snapshot() == before
    assert stage.kube.get("apps/v1", "Deployment", "web", stage.prod.namespace) is not None


@pytest.mark.parametrize("operation", of((GATED,)), ids="-".join)
def test_under_an_approval_policy_every_ordinary_operation_waits_and_changes_nothing(stage, api, operation):
    require_approval(stage)
    before = snapshot()
    api.as_user(stage.world.user(Role.ADMIN))
    response = API_CALLS[operation](stage, api)
    assert response.status_code in (201, 202), response.content
    if response.status_code == 202:
        waiting = ChangeRequest.objects.get(pk=response.json()["change_request"])
        assert snapshot() == before
    else:  # a deploy: the new deployment waits in pending_approval
        assert response.json()["state"] == State.PENDING_APPROVAL
        waiting = ChangeRequest.objects.get(deployment=response.json()["id"])
    assert waiting.state == "pending" and waiting.justification == "Evening peak"
    assert stage.kube.get("apps/v1", "Deployment", "web", stage.prod.namespace) is not None
    assert deploy_settings_for(stage.prod).auto_rollback is True


@pytest.mark.parametrize("operation", of((CARRIES_ON,)), ids="-".join)
def test_carrying_on_an_approved_rollout_is_not_asked_for_approval_again(stage, api, operation):
    prepare(stage, operation)
    require_approval(stage)
    api.as_user(stage.world.user(Role.ADMIN))
    response = API_CALLS[operation](stage, api)
    assert response.status_code == 200, response.content
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize("operation", of((RESTORATIVE,)), ids="-".join)
def test_restorative_operations_go_ahead_in_a_freeze_and_open_a_post_hoc_review(stage, api, operation):
    require_approval(stage)
    freeze(stage)
    api.as_user(stage.world.user(Role.ADMIN))
    response = API_CALLS[operation](stage, api)
    assert response.status_code in (200, 201), response.content
    made = ChangeRequest.objects.get(review_of__isnull=True)
    review = ChangeRequest.objects.get(review_of=made)
    assert made.state == "approved" and made.executed_at is not None and not made.break_glass
    assert review.kind == "review" and review.state == "pending"
    assert AuditEvent.objects.filter(action="change_request.restorative", object_id=str(made.pk)).exists()


def test_rolling_back_an_older_deployment_is_an_ordinary_deploy(stage, api):
    """Only going back from what runs now is restorative: rolling back an older deployment would deploy
    an even older release over newer ones, so a freeze refuses it."""
    freeze(stage)
    api.as_user(stage.world.user(Role.ADMIN))
    response = api.post(f"{D}{stage.web_old.pk}/rollback/", {"reason": "go back further"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == FROZEN
    assert not ChangeRequest.objects.exists()


def test_a_cancelled_request_for_approval_opens_no_review(stage, api):
    require_approval(stage)
    api.as_user(stage.world.user(Role.ADMIN))
    waiting = API_CALLS[("deployment", "create")](stage, api).json()
    assert api.post(f"{D}{waiting['id']}/cancel/", {}, format="json").status_code == 200
    assert not ChangeRequest.objects.filter(kind="review").exists()


def test_an_approved_restart_is_carried_out_as_the_requester(stage, api):
    from apps.approvals.services.requests import change_request_execute
    from tests.approvals.conftest import reauthenticate

    require_approval(stage)
    api.as_user(stage.world.user(Role.ADMIN))
    pk = API_CALLS[("deployment", "restart")](stage, api).json()["change_request"]
    api.as_user(stage.world.user(Role.OWNER))
    reauthenticate(api)
    assert api.post(f"/api/v1/change-requests/{pk}/approve/", {}, format="json").status_code == 200
    change_request_execute(change_request=ChangeRequest.objects.get(pk=pk))  # the task's body, after commit
    assert ChangeRequest.objects.get(pk=pk).outcome == "Approved and carried out"
    template = stage.kube.get("apps/v1", "Deployment", "web", stage.prod.namespace)["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"].get("annotations", {})


# --- The same through the pages ----------------------------------------------------------------


def _page(name, pk=None, **data):
    def call(stage, client):
        target = pk(stage) if pk else None
        path = f"/t/acme/deployments/{target}/{name}/" if target else f"/t/acme/deployments/{name}/"
        return client.post(
            path, {"justification": "Evening peak", **{k: v(stage) for k, v in data.items()}}, follow=True
        )

    return call


PAGE_CALLS = {
    "new": _page(
        "new",
        application=lambda s: s.new_release.application_id,
        release=lambda s: s.new_release.pk,
        environment=lambda s: s.prod.pk,
        strategy=lambda s: "rolling",
        confirm=lambda s: "1",
    ),
    "promote": _page("promote", lambda s: s.staging_good.pk, environment=lambda s: s.prod.pk),
    "scale": _page("scale", lambda s: s.web_live.pk, replicas=lambda s: 3),
    "restart": _page("restart", lambda s: s.web_live.pk),
    "remove": _page("remove", lambda s: s.web_live.pk),
    "settings-update": lambda stage, client: client.post(
        f"/t/acme/deployments/settings/{stage.prod.deploy_settings.pk}/", {"justification": "Evening peak"}, follow=True
    ),
    "resume": _page("resume", lambda s: s.api_rolling.pk),
    "continue": _page("continue", lambda s: s.canary.pk),
}


@pytest.mark.parametrize("name", [name for name, how in PAGE_OPERATIONS.items() if how in (GATED, CARRIES_ON)])
def test_a_freeze_refuses_every_page_operation_that_is_not_restorative(stage, client, name):
    prepare(stage, name)
    freeze(stage)
    before = snapshot()
    client.force_login(stage.world.user(Role.ADMIN))
    response = PAGE_CALLS[name](stage, client)
    assert "are frozen until" in response.content.decode()
    assert snapshot() == before
    assert not Deployment.objects.filter(release=stage.new_release).exists()


@pytest.mark.parametrize("name", ["restart", "remove", "settings-update"])
def test_under_an_approval_policy_a_page_operation_says_it_waits(stage, client, name):
    require_approval(stage)
    client.force_login(stage.world.user(Role.ADMIN))
    response = PAGE_CALLS[name](stage, client)
    waiting = ChangeRequest.objects.get(state="pending")
    assert f"waits for approval in change request {waiting.pk}" in response.content.decode()
    assert stage.kube.get("apps/v1", "Deployment", "web", stage.prod.namespace) is not None


def test_the_deployment_page_asks_why_once_for_every_operation(stage, client):
    client.force_login(stage.world.user(Role.OWNER))
    page = client.get(f"/t/acme/deployments/{stage.web_live.pk}/").content.decode()
    operations = page[page.index('id="operations-form"') : page.index("</form>", page.index('id="operations-form"'))]
    for button in ("scale", "restart", "remove"):
        assert f'id="{button}-button"' in operations
    assert operations.count('name="justification"') == 1 and operations.count('name="break_glass_reason"') == 1
