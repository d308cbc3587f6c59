"""Acting on an incident: people restart or scale the unwell workload from it (page and API), through
the deployment's own Restart and Scale, so approvals and the audit apply; and an environment whose
deploy settings restart unwell pods has the platform restart them once, when no rollback applies.
Real sandbox cluster and Celery worker; the lifecycle watcher running where incidents must open."""

import pytest

from apps.approvals.models import ChangeRequest
from apps.approvals.services.requests import change_request_decide
from apps.audit.models import AuditEvent
from apps.clusters.kube import KubeClient
from apps.deployments.models import DeploymentEvent, DeploySettings, Formation
from apps.deployments.services import deploy_settings_for
from apps.workloads.models import Cause, Incident
from tests.approvals.conftest import govern
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy, finished

NS = "acme--dev"
URL = "/api/v1/incidents/"

pytestmark = pytest.mark.django_db(transaction=True)
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def live(api, world, environment="dev"):
    app = make_app(world.acme)
    deployment = finished(deploy(api, world.user("admin"), make_release(app), environment=environment).json()["id"])
    assert deployment.state == "succeeded", deployment.outcome
    return deployment


def restarted_at(cluster, namespace=NS):
    template = cluster.get("apps/v1", "Deployment", "web", namespace)["spec"]["template"]["metadata"]
    return (template.get("annotations") or {}).get(RESTARTED_AT)


def start_crashing(cluster, namespace=NS):
    """The live release begins to crash (a dependency gone, say): the sandbox's fault on its ReplicaSet,
    and its pods deleted so they come back crashing. A restart makes a new ReplicaSet, without it."""
    replica_sets, _ = cluster.list("apps/v1", "ReplicaSet", namespace, label_selector="paas.dev/application=web")
    for rs in replica_sets:
        if rs["spec"].get("replicas"):
            fault = {"metadata": {"annotations": {"sandbox.paas.dev/fault": "crash"}}}
            cluster.patch("apps/v1", "ReplicaSet", rs["metadata"]["name"], namespace, fault)
    for pod in cluster.list("v1", "Pod", namespace, label_selector="paas.dev/application=web")[0]:
        cluster.delete("v1", "Pod", pod["metadata"]["name"], namespace)


def crash_loop_incident():
    return wait_for(lambda: Incident.objects.filter(cause=Cause.CRASH_LOOP, state="open").first(), timeout=40)


def test_a_developer_restarts_and_scales_from_an_incident(world, api, cluster, watcher):
    deployment = live(api, world)
    start_crashing(cluster)
    incident = crash_loop_incident()
    assert restarted_at(cluster) is None, "the environment does not restart by itself"

    api.as_user(world.user("viewer"))
    assert api.post(f"{URL}{incident.pk}/restart/", {}, format="json").status_code == 403
    api.as_user(world.user("developer"))
    answer = api.post(f"{URL}{incident.pk}/scale/", {"replicas": 3}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["action"] == f"Scaled to 3 replicas (by {world.user('developer').email})"
    assert cluster.get("apps/v1", "Deployment", "web", NS)["spec"]["replicas"] == 3
    assert Formation.objects.get(application=deployment.application).replicas == 3
    refused = api.post(f"{URL}{incident.pk}/scale/", {"replicas": 1000}, format="json")
    assert refused.status_code == 400 and "replicas" in refused.json()["fields"]

    answer = api.post(f"{URL}{incident.pk}/restart/", {}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["action"] == f"Restarted every pod of release #1 (by {world.user('developer').email})"
    assert restarted_at(cluster) is not None
    assert DeploymentEvent.objects.filter(deployment=deployment, data__operation="restart").exists()
    # The restart's new pods carry none of the old ReplicaSet's fault: the cause is gone, so is the incident.
    wait_for(lambda: Incident.objects.filter(pk=incident.pk, state="resolved").first(), timeout=40)

    actions = list(AuditEvent.objects.filter(actor=world.user("developer")).values_list("action", flat=True))
    assert actions.count("incident.act") == 2 and {"deployment.restart", "deployment.scale"} <= set(actions)

    api.as_user(world.outsider)
    assert api.post(f"{URL}{incident.pk}/restart/", {}, format="json").status_code == 404


def test_from_an_incident_in_a_governed_environment_the_restart_waits_for_approval(world, api, cluster, watcher):
    prod = world.acme.environments.get(name="prod")
    live(api, world, environment="prod")
    govern(world, prod, ("owners", 1, ["owner"], []))
    start_crashing(cluster, "acme--prod")
    incident = crash_loop_incident()

    api.as_user(world.user("developer"))
    assert api.post(f"{URL}{incident.pk}/restart/", {}, format="json").status_code == 403, "production: admins"
    api.as_user(world.user("admin"))
    missing = api.post(f"{URL}{incident.pk}/restart/", {}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "justification_required"
    waiting = api.post(f"{URL}{incident.pk}/restart/", {"justification": "stuck after the DB failover"}, format="json")
    assert waiting.status_code == 202, waiting.content
    request = ChangeRequest.objects.get(kind="restart")
    assert waiting.json()["action"].startswith(
        f"A restart of release #1: waits for approval in change request {request.pk}"
    )
    assert restarted_at(cluster, "acme--prod") is None, "nothing is restarted before approval"
    # Asked again while it waits: the same request, not a second one for the approvers.
    twice = api.post(f"{URL}{incident.pk}/restart/", {"justification": "still stuck"}, format="json")
    assert twice.status_code == 202 and f"change request {request.pk}" in twice.json()["action"], twice.content
    assert ChangeRequest.objects.filter(kind="restart").count() == 1

    change_request_decide(actor=world.principal("owner"), change_request=request, verdict="approve")
    wait_for(lambda: restarted_at(cluster, "acme--prod"), timeout=30)
    said = f"A restart of release #1: made once it was approved (change request {request.pk})"
    wait_for(lambda: Incident.objects.get(pk=incident.pk).action == said, timeout=10)

    # Asked again and rejected: the incident says it was not made, not that it still waits.
    again = api.post(f"{URL}{incident.pk}/restart/", {"justification": "once more"}, format="json")
    assert again.status_code == 202, again.content
    second = ChangeRequest.objects.filter(kind="restart").exclude(pk=request.pk).get()
    change_request_decide(actor=world.principal("owner"), change_request=second, verdict="reject", comment="not now")
    action = Incident.objects.get(pk=incident.pk).action
    assert (
        action.startswith("A restart of release #1: not made: rejected") and f"(change request {second.pk})" in action
    )
    assert Incident.objects.get(pk=incident.pk).waits_for is None


def test_where_the_settings_say_so_the_platform_restarts_crash_looping_pods_once(world, api, cluster, watcher):
    deployment = live(api, world)
    settings = deploy_settings_for(deployment.environment)
    DeploySettings.objects.filter(pk=settings.pk).update(restart_on_incident=True)
    start_crashing(cluster)
    incident = crash_loop_incident()
    wait_for(lambda: restarted_at(cluster), timeout=20)
    acted = wait_for(lambda: Incident.objects.get(pk=incident.pk).action or None, timeout=10)
    assert acted == "Restarted every pod of release #1 automatically"
    audit = AuditEvent.objects.get(action="deployment.restart", object_id=str(deployment.pk))
    assert audit.actor is None, "the platform restarted, no member"
    wait_for(lambda: Incident.objects.filter(pk=incident.pk, state="resolved").first(), timeout=40)
    assert DeploymentEvent.objects.filter(deployment=deployment, data__operation="restart").count() == 1


def test_the_workload_page_offers_restart_and_scale_on_its_open_incidents(world, api, cluster, watcher, client):
    deployment = live(api, world)
    start_crashing(cluster)
    incident = crash_loop_incident()
    client.force_login(world.user("developer"))

    def page_with_actions():
        # A crash loop flaps (a restarted pod runs for a moment), so the watcher may resolve the incident
        # and reopen it between two reads; the page offers the actions whenever it is open.
        page = client.get(f"/t/acme/workloads/{incident.workload_id}/").content.decode()
        return page if f'data-incident-actions="{incident.pk}"' in page else None

    page = wait_for(page_with_actions, timeout=30, interval=0.5)
    assert 'data-action="restart"' in page

    answer = client.post(f"/t/acme/workloads/incidents/{incident.pk}/scale/", {"replicas": "many"})
    assert answer.status_code == 302
    assert "Replicas: Enter a whole number." in client.get(answer["Location"]).content.decode()
    answer = client.post(f"/t/acme/workloads/incidents/{incident.pk}/restart/", {"justification": ""})
    assert answer.status_code == 302 and answer["Location"] == f"/t/acme/workloads/{incident.workload_id}/"
    assert "Restarted every pod of release #1" in client.get(answer["Location"]).content.decode()
    assert DeploymentEvent.objects.filter(deployment=deployment, data__operation="restart").exists()
