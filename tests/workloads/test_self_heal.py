"""Self-heal per environment: notify opens an incident for drift; heal re-applies the live release
after a grace, recorded on the deployment and in the audit trail; a writer that keeps fighting the
portal stops the healing and opens an incident; a governed environment heals through a change
request that someone approves. Real sandbox cluster, the lifecycle watcher running in this process."""

import threading
import time

import pytest

from apps.approvals.models import ChangeRequest
from apps.approvals.services.requests import change_request_decide
from apps.audit.models import AuditEvent
from apps.clusters.kube import KubeClient
from apps.core.errors import ApplicationError
from apps.deployments.models import DeploymentEvent, DeploySettings
from apps.deployments.services import deploy_settings_for
from apps.workloads.models import Cause, Incident, Workload
from tests.approvals.conftest import govern
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy, finished

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cluster(world, sandbox, celery_worker, settings):
    settings.SELF_HEAL_GRACE_SECONDS = 1
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def live(api, world, environment="dev"):
    app = make_app(world.acme)
    user = world.user("owner")
    deployment = finished(deploy(api, user, make_release(app), environment=environment).json()["id"])
    assert deployment.state == "succeeded", deployment.outcome
    return deployment


def self_heal(world, mode, environment="dev"):
    settings = deploy_settings_for(world.acme.environments.get(name=environment))
    DeploySettings.objects.filter(pk=settings.pk).update(self_heal=mode)


def set_image(cluster, image, namespace="acme--dev"):
    deployment = cluster.get("apps/v1", "Deployment", "web", namespace)
    containers = deployment["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = image
    cluster.patch(
        "apps/v1", "Deployment", "web", namespace, {"spec": {"template": {"spec": {"containers": containers}}}}
    )


def image_of(cluster, namespace="acme--dev"):
    return cluster.get("apps/v1", "Deployment", "web", namespace)["spec"]["template"]["spec"]["containers"][0]["image"]


def heals(deployment):
    return DeploymentEvent.objects.filter(deployment=deployment, data__operation="heal").count()


def test_notify_opens_an_incident_for_drift_and_resolves_it_when_put_right(world, api, cluster, watcher):
    deployment = live(api, world)
    set_image(cluster, "registry.example/web:hotfix")
    incident = wait_for(lambda: Incident.objects.filter(cause=Cause.DRIFT, state="open").first(), timeout=20)
    assert "differs from release #1" in incident.message and "spec.template.spec.containers" in incident.message
    assert image_of(cluster) == "registry.example/web:hotfix", "notify never changes the cluster"
    set_image(cluster, "registry.example/web:1.0")
    wait_for(lambda: Incident.objects.filter(pk=incident.pk, state="resolved").first(), timeout=20)
    assert heals(deployment) == 0


def test_heal_reapplies_the_live_release_after_the_grace_and_records_it(world, api, cluster, watcher):
    deployment = live(api, world)
    self_heal(world, "heal")
    set_image(cluster, "registry.example/web:hotfix")
    wait_for(lambda: image_of(cluster) == "registry.example/web:1.0", timeout=30)
    wait_for(lambda: heals(deployment) == 1, timeout=10)  # the note is written just after the apply
    note = DeploymentEvent.objects.get(deployment=deployment, data__operation="heal")
    assert note.message.startswith("Self-heal: re-applied release #1") and "containers" in note.message
    assert AuditEvent.objects.filter(action="deployment.heal", object_id=str(deployment.pk)).exists()
    wait_for(lambda: Workload.objects.get(application=deployment.application).sync == "synced", timeout=20)


def test_a_writer_that_keeps_fighting_stops_the_healing_and_opens_an_incident(world, api, cluster, watcher):
    deployment = live(api, world)
    self_heal(world, "heal")
    fighting = threading.Event()

    def fight():
        while not fighting.is_set():
            if image_of(cluster) != "registry.example/web:theirs":
                set_image(cluster, "registry.example/web:theirs")
            time.sleep(0.3)

    writer = threading.Thread(target=fight, daemon=True)
    writer.start()
    try:
        incident = wait_for(lambda: Incident.objects.filter(cause=Cause.DRIFT_RETURNS).first(), timeout=60)
        assert "self-heal stopped" in incident.message
        time.sleep(4)  # several graces more: no further heal while the incident is open
        assert heals(deployment) == 3
    finally:
        fighting.set()
        writer.join(timeout=5)
    # The writer was stopped; a person who resolves the incident asks self-heal to try again.
    assert image_of(cluster) == "registry.example/web:theirs"
    answer = api.as_user(world.user("owner")).post(f"/api/v1/incidents/{incident.pk}/resolve/")
    assert answer.status_code == 200, answer.content
    wait_for(lambda: image_of(cluster) == "registry.example/web:1.0", timeout=30)
    wait_for(lambda: heals(deployment) == 4, timeout=10)


def test_a_governed_environment_heals_through_a_change_request(world, api, cluster, watcher):
    prod = world.acme.environments.get(name="prod")
    deployment = live(api, world, environment="prod")
    govern(world, prod, ("admins", 1, ["admin"], []))
    self_heal(world, "heal", environment="prod")
    set_image(cluster, "registry.example/web:hotfix", namespace="acme--prod")

    request = wait_for(lambda: ChangeRequest.objects.filter(kind="heal").first(), timeout=30)
    assert request.deployment == deployment and request.requested_by is None
    time.sleep(3)  # graces pass while it waits: one request, nothing applied
    assert ChangeRequest.objects.filter(kind="heal").count() == 1
    assert image_of(cluster, "acme--prod") == "registry.example/web:hotfix"
    incident = Incident.objects.get(cause=Cause.DRIFT, state="open")
    assert f"waits for approval in change request {request.pk}" in incident.message

    change_request_decide(actor=world.principal("admin"), change_request=request, verdict="approve")
    wait_for(lambda: image_of(cluster, "acme--prod") == "registry.example/web:1.0", timeout=30)
    wait_for(lambda: heals(deployment) == 1, timeout=10)  # the note is written just after the apply


def approve(world, request):
    """An approval that the change's moving since (the live state it was asked against) sends back once."""
    try:
        change_request_decide(actor=world.principal("admin"), change_request=request, verdict="approve")
    except ApplicationError as error:
        assert error.code == "change_moved", error.message
        change_request_decide(actor=world.principal("admin"), change_request=request, verdict="approve")


def test_a_heal_waiting_when_a_newer_release_goes_live_is_withdrawn_and_puts_nothing_back(world, api, cluster, watcher):
    prod = world.acme.environments.get(name="prod")
    deployment = live(api, world, environment="prod")
    govern(world, prod, ("admins", 1, ["admin"], []))
    self_heal(world, "heal", environment="prod")
    set_image(cluster, "registry.example/web:hotfix", namespace="acme--prod")
    heal = wait_for(lambda: ChangeRequest.objects.filter(kind="heal").first(), timeout=30)

    newer = make_release(deployment.application, image="registry.example/web:2.0")
    asked = deploy(api, world.user("owner"), newer, environment="prod", justification="the next release")
    assert asked.json()["state"] == "pending_approval", asked.json()
    approve(world, ChangeRequest.objects.get(kind="deploy"))
    assert finished(asked.json()["id"]).state == "succeeded"
    assert image_of(cluster, "acme--prod") == "registry.example/web:2.0"

    # The heal was of release #1, which runs no more: its request closed when release #2 succeeded.
    heal.refresh_from_db()
    assert heal.state == "cancelled", heal.outcome
    assert heal.outcome == f"Superseded: deployment {asked.json()['id']} runs release #2 now"
    with pytest.raises(ApplicationError) as refused:
        change_request_decide(actor=world.principal("admin"), change_request=heal, verdict="approve")
    assert refused.value.code == "request_closed"
    time.sleep(2)  # a heal carried out would have applied by now
    assert image_of(cluster, "acme--prod") == "registry.example/web:2.0"
    assert heals(deployment) == 0


def test_self_heal_is_a_deploy_setting_of_the_api_and_the_page(world, api, client):
    api.as_user(world.user("owner"))
    [row] = api.get("/api/v1/deploy-settings/", {"environment": "dev", "tenant": "acme"}).json()["results"]
    assert (row["environment_name"], row["self_heal"]) == ("dev", "notify")
    url = f"/api/v1/deploy-settings/{row['id']}/"
    assert api.patch(url, {"self_heal": "heal"}, format="json").json()["self_heal"] == "heal"
    refused = api.patch(url, {"self_heal": "sometimes"}, format="json")
    assert refused.status_code == 400 and "self_heal" in refused.json()["fields"]
    assert api.as_user(world.user("viewer")).patch(url, {"self_heal": "off"}, format="json").status_code == 403

    client.force_login(world.user("owner"))
    page = client.get("/t/acme/deployments/settings/").content.decode()
    assert 'name="self_heal"' in page and '<option value="heal" selected>Self-heal: heal</option>' in page
    client.post(f"/t/acme/deployments/settings/{row['id']}/", {"self_heal": "off"})
    assert DeploySettings.objects.get(pk=row["id"]).self_heal == "off"
    client.force_login(world.user("developer"))
    page = client.get("/t/acme/deployments/settings/").content.decode()
    assert 'name="self_heal"' not in page and "Changing deploy settings needs the admin role or above" in page


def test_where_the_policy_lets_heal_skip_approval_a_governed_environment_heals_at_once(world, api, cluster, watcher):
    prod = world.acme.environments.get(name="prod")
    deployment = live(api, world, environment="prod")
    govern(world, prod, ("admins", 1, ["admin"], []))
    self_heal(world, "heal", environment="prod")
    DeploySettings.objects.filter(environment=prod).update(heal_skips_approval=True)
    set_image(cluster, "registry.example/web:hotfix", namespace="acme--prod")

    wait_for(lambda: image_of(cluster, "acme--prod") == "registry.example/web:1.0", timeout=30)
    wait_for(lambda: heals(deployment) == 1, timeout=10)
    made = wait_for(lambda: ChangeRequest.objects.filter(kind="heal").first(), timeout=10)
    assert made.state == "approved" and made.outcome.startswith("Restorative change, made at once")
    review = ChangeRequest.objects.get(kind="review", review_of=made)
    assert review.is_open, "the heal is reviewed afterwards"
    assert not Incident.objects.filter(cause=Cause.DRIFT_RETURNS).exists()


def test_letting_heal_skip_approval_is_a_setting_audited_and_itself_governed(world, api, client, celery_worker):
    api.as_user(world.user("owner"))
    [dev] = api.get("/api/v1/deploy-settings/", {"environment": "dev", "tenant": "acme"}).json()["results"]
    assert dev["heal_skips_approval"] is False
    answer = api.patch(f"/api/v1/deploy-settings/{dev['id']}/", {"heal_skips_approval": True}, format="json")
    assert answer.status_code == 200 and answer.json()["heal_skips_approval"] is True
    audit = AuditEvent.objects.get(action="deploy_settings.update", object_id=str(dev["id"]))
    assert audit.changes == {"heal_skips_approval": [False, True]}
    again = api.patch(f"/api/v1/deploy-settings/{dev['id']}/", {"heal_skips_approval": True}, format="json")
    assert again.status_code == 200, again.content
    assert AuditEvent.objects.filter(action="deploy_settings.update").count() == 1, "nothing changed, nothing audited"

    prod = world.acme.environments.get(name="prod")
    govern(world, prod, ("admins", 1, ["admin"], []))
    [row] = api.get("/api/v1/deploy-settings/", {"environment": "prod", "tenant": "acme"}).json()["results"]
    waiting = api.patch(
        f"/api/v1/deploy-settings/{row['id']}/",
        {"heal_skips_approval": True, "justification": "heal prod at night"},
        format="json",
    )
    assert waiting.status_code == 202, waiting.content
    request = ChangeRequest.objects.get(pk=waiting.json()["change_request"])
    assert request.title == "Let self-heal go ahead without approval in prod"
    assert DeploySettings.objects.get(pk=row["id"]).heal_skips_approval is False, "nothing changes before approval"
    change_request_decide(actor=world.principal("admin"), change_request=request, verdict="approve")
    wait_for(lambda: DeploySettings.objects.get(pk=row["id"]).heal_skips_approval, timeout=20)

    client.force_login(world.user("owner"))
    page = client.get("/t/acme/deployments/settings/").content.decode()
    assert f'name="heal_skips_approval" id="heal-skips-approval-{dev["id"]}" checked' in page
    client.post(f"/t/acme/deployments/settings/{dev['id']}/", {"self_heal": "heal", "auto_rollback": "on"})
    assert DeploySettings.objects.get(pk=dev["id"]).heal_skips_approval is False, "an unticked box turns it off"


def test_a_removed_application_is_neither_healed_back_nor_scaled(world, api, cluster, watcher):
    from apps.deployments.services import application_remove, deployment_heal, deployment_scale

    deployment = live(api, world)
    application_remove(
        actor=world.principal("owner"), application=deployment.application, environment=deployment.environment
    )
    assert cluster.get("apps/v1", "Deployment", "web", "acme--dev") is None
    with pytest.raises(ApplicationError, match="not what runs in dev any more: it was removed"):
        deployment_heal(deployment=deployment, drift="spec.replicas")
    with pytest.raises(ApplicationError, match="Only what runs in dev now can be scaled"):
        deployment_scale(actor=world.principal("owner"), deployment=deployment, replicas=3)
    time.sleep(1)
    assert cluster.get("apps/v1", "Deployment", "web", "acme--dev") is None and heals(deployment) == 0
