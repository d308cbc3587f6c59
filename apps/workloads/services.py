"""Writes of workload rows: each one a fresh read of the cluster, never a guess from history.

`workload_refresh` is what the lifecycle watcher calls when an object of the workload changes, and
what runs after a deployment ends. It reads the serving Deployment (the colour the Service selects,
for blue-green), its pods and autoscaler, finds the live release from the pod template's labels, and
judges drift with a server-side-apply dry run of that release's manifests.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from apps.catalog.models import Application, Release
from apps.clusters.kube import KubeClient, KubeError
from apps.clusters.models import Placement
from apps.clusters.services import kube_of
from apps.deployments.manifests import DEFAULT_PROGRESS_DEADLINE, LABEL, render
from apps.deployments.models import Deployment, DeploymentEvent
from apps.deployments.strategies.manifests import COLOUR, render_colour
from apps.tenants.models import Environment

from .incidents import incidents_sync
from .models import Health, Sync, Workload
from .observe import causes_of, drift_of, health_of, pod_row

log = logging.getLogger(__name__)

DEPLOYMENT_ANNOTATION = f"{LABEL}/deployment"
# A refresh runs in the background, but a watcher refreshes many workloads: fail within seconds.
READ_OPTIONS = {"attempts": 3, "backoff": 0.2, "timeout": (3, 10)}


def workload_refresh(*, application: Application, environment: Environment) -> Workload | None:
    """Read the application's objects in the environment and store what they say. None when the
    environment was never placed on a cluster (nothing of it can run, so there is no workload)."""
    if not Placement.objects.filter(environment=environment).exists():
        return None
    workload, _ = Workload.objects.get_or_create(
        application=application, environment=environment, defaults={"tenant_id": application.tenant_id}
    )
    causes, applied_by = None, None
    try:
        with kube_of(environment, **READ_OPTIONS) as kube:
            seen, causes, applied_by = _read(kube, application, environment)
    except KubeError as exc:
        seen = {
            "health": Health.UNKNOWN,
            "health_reason": "The cluster could not be read.",
            "sync": Sync.UNKNOWN,
            "drift": [],
            "pods": [],
            "read_error": exc.message,
        }
    with transaction.atomic():
        Workload.objects.filter(pk=workload.pk).update(**seen, observed_at=timezone.now())
    workload.refresh_from_db()
    if causes is not None:  # what an unreadable cluster hides is neither opened nor resolved
        incidents_sync(workload=workload, causes=causes, applied_by=applied_by)
    return workload


def _read(kube: KubeClient, application: Application, environment: Environment):
    """(the workload's fields, the causes of trouble seen, the deployment whose release runs)."""
    name, namespace = application.name, environment.namespace
    cron = application.component_kind == "cron"
    service = None if cron else kube.get("v1", "Service", name, namespace)
    colour = ((service or {}).get("spec") or {}).get("selector", {}).get(COLOUR, "")
    serving = f"{name}-{colour}" if colour else name
    workload_object = (
        kube.get("batch/v1", "CronJob", name, namespace)
        if cron
        else kube.get("apps/v1", "Deployment", serving, namespace)
    )
    pods, _ = kube.list("v1", "Pod", namespace, label_selector=f"{LABEL}/application={name}")
    rows = [pod_row(pod) for pod in sorted(pods, key=lambda p: p["metadata"]["name"])]
    verdict = health_of(workload_object, rows, cron=cron)
    release = _live_release(application, workload_object)
    status = (workload_object or {}).get("status") or {}
    autoscaler = None if cron else kube.get("autoscaling/v2", "HorizontalPodAutoscaler", serving, namespace)
    drift = _drift(kube, release, environment, workload_object, colour) if release else []
    autoscaled = _autoscaler(autoscaler)
    causes = causes_of(None if cron else workload_object, rows, autoscaled, now=timezone.now())
    fields = {
        "release": release,
        "image": _image(workload_object),
        "colour": colour,
        "replicas": ((workload_object or {}).get("spec") or {}).get("replicas"),
        "ready_replicas": status.get("readyReplicas") or 0,
        "updated_replicas": status.get("updatedReplicas") or 0,
        "available_replicas": status.get("availableReplicas") or 0,
        "autoscaler": autoscaled,
        "health": verdict.health,
        "health_reason": verdict.reason,
        "sync": Sync.UNKNOWN if release is None else (Sync.OUT_OF_SYNC if drift else Sync.SYNCED),
        "drift": drift,
        "pods": rows,
        "read_error": "",
    }
    return fields, causes, _applied_by(workload_object, environment)


def _template(workload_object: dict | None) -> dict:
    spec = (workload_object or {}).get("spec") or {}
    if "jobTemplate" in spec:  # a CronJob's pods are one level further down
        spec = spec["jobTemplate"].get("spec") or {}
    return spec.get("template") or {}


def _live_release(application: Application, workload_object: dict | None) -> Release | None:
    """The release the cluster runs, by the label the portal puts on the pod template."""
    number = ((_template(workload_object).get("metadata") or {}).get("labels") or {}).get(f"{LABEL}/release")
    if not number or not str(number).isdigit():
        return None
    return Release.objects.filter(application=application, number=int(number)).first()


def _image(workload_object: dict | None) -> str:
    containers = (_template(workload_object).get("spec") or {}).get("containers") or []
    return containers[0].get("image", "") if containers else ""


def _autoscaler(hpa: dict | None) -> dict | None:
    if hpa is None:
        return None
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    return {
        "current": status.get("currentReplicas"),
        "desired": status.get("desiredReplicas"),
        "min": spec.get("minReplicas"),
        "max": spec.get("maxReplicas"),
    }


def _drift(kube: KubeClient, release: Release, environment: Environment, workload_object, colour: str) -> list[dict]:
    """Each field the live objects hold differently from the live release's manifests, judged by a
    forced server-side-apply dry run as the portal: what re-applying the release would change."""
    deployment = _applied_by(workload_object, environment)
    deadline = deployment.progress_deadline_seconds if deployment else DEFAULT_PROGRESS_DEADLINE
    if colour:
        desired = render_colour(release, environment, colour=colour, progress_deadline_seconds=deadline)
    else:
        desired = render(release, environment, progress_deadline_seconds=deadline)
    replicas = _scaled_to(deployment)
    drift: list[dict] = []
    for manifest in desired:
        meta = manifest["metadata"]
        live = kube.get(manifest["apiVersion"], manifest["kind"], meta["name"], meta["namespace"])
        if live is not None:
            # Which deployment last applied an object is history, not desired state.
            applied_by = (live["metadata"].get("annotations") or {}).get(DEPLOYMENT_ANNOTATION)
            if applied_by is not None:
                meta["annotations"][DEPLOYMENT_ANNOTATION] = applied_by
            if manifest["kind"] == "Deployment" and replicas is not None and "replicas" in manifest["spec"]:
                manifest["spec"]["replicas"] = replicas
            [applied] = kube.apply([manifest], dry_run=True)
        else:
            applied = manifest
        drift.extend(drift_of(manifest, applied, live))
    return drift


def _applied_by(workload_object: dict | None, environment: Environment) -> Deployment | None:
    pk = ((workload_object or {}).get("metadata", {}).get("annotations") or {}).get(DEPLOYMENT_ANNOTATION, "")
    if not str(pk).isdigit():
        return None
    return Deployment.objects.filter(pk=int(pk), environment=environment).first()


def _scaled_to(deployment: Deployment | None) -> int | None:
    """Replicas a person set through the portal after the deploy: desired state, not drift."""
    if deployment is None:
        return None
    scale = DeploymentEvent.objects.filter(deployment=deployment, data__operation="scale").order_by("-seq").first()
    return scale.data["replicas"][1] if scale else None
