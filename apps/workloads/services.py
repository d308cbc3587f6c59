"""Writes of workload rows: each one a fresh read of the cluster, never a guess from history.

`workload_refresh` is what the lifecycle watcher calls when an object of the workload changes, and
what runs after a deployment ends; a row whose badges or counts changed is announced to the tenant's
pages (the overview and the application page move them without a reload). It reads the serving Deployment (the colour the Service selects,
for blue-green), its pods and autoscaler, finds the live release from the pod template's labels, and
judges drift with a server-side-apply dry run of that release's manifests.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.catalog.models import Application, Release
from apps.clusters.kube import KubeClient, KubeError
from apps.clusters.models import Placement
from apps.clusters.services import kube_of
from apps.core.errors import ApplicationError
from apps.core.leases import fence
from apps.core.numbers import as_id, digits
from apps.core.realtime import broadcast_on_commit, tenant_group, workload_group
from apps.deployments.choices import OBSERVED, State
from apps.deployments.manifests import DEPLOYMENT_ANNOTATION, LABEL
from apps.deployments.models import Deployment, DeploySettings
from apps.deployments.selectors import live_deployment
from apps.deployments.services import deploy_settings_for, deployment_heal, desired_manifests, heals_since
from apps.deployments.serving import serving_now
from apps.tenants.models import Environment

from .incidents import incidents_sync
from .models import Cause, Health, Incident, Sync, Workload
from .observe import causes_of, drift_of, health_of, pod_row, trouble_of
from .signals import workload_read

log = logging.getLogger(__name__)

# Self-heal re-applies at most this often per window; drift that keeps returning is an incident.
HEAL_LIMIT = 3
HEAL_WINDOW = timedelta(hours=1)
# How far back the replica chart reaches; one sample a minute.
REPLICA_HISTORY = timedelta(hours=6)
# Deployments whose apply or rollout is changing the workload's objects right now.
ROLLING_OUT = (State.APPLYING, *OBSERVED)
# A refresh runs in the background, but a watcher refreshes many workloads: fail within seconds.
READ_OPTIONS = {"attempts": 3, "backoff": 0.2, "timeout": (3, 10)}


def workload_refresh(*, application: Application, environment: Environment) -> Workload | None:
    """Read the application's objects in the environment and store what they say. None when the
    environment was never placed on a cluster (nothing of it can run, so there is no workload).
    `look_again_in`: seconds until an incident whose cause went away is due to resolve, if any."""
    if not Placement.objects.filter(environment=environment).exists():
        return None
    workload, _ = Workload.objects.get_or_create(
        application=application, environment=environment, defaults={"tenant_id": application.tenant_id}
    )
    causes, applied_by = None, None
    try:
        with kube_of(environment, **READ_OPTIONS) as kube:
            seen, causes, applied_by = _read(kube, application, environment)
        seen["replica_history"] = sampled(workload.replica_history, seen, at=timezone.now())
    except KubeError as exc:
        seen = {
            "health": Health.UNKNOWN,
            "health_reason": "The cluster could not be read.",
            "sync": Sync.UNKNOWN,
            "drift": [],
            "pods": [],
            "read_error": exc.message,
        }
    before = _shown(workload)
    with transaction.atomic():
        fence()  # a watcher that lost its lease writes nothing
        Workload.objects.filter(pk=workload.pk).update(**seen, observed_at=timezone.now())
        # Open pages of the workload redraw its row, and its log streams follow pods that appeared.
        pods = [pod["name"] for pod in seen["pods"]]
        broadcast_on_commit(workload_group(workload.pk), {"kind": "workload", "id": workload.pk, "pods": pods})
    workload.refresh_from_db()
    if _shown(workload) != before:
        broadcast_on_commit(tenant_group(workload.tenant_id), {"type": "workload", **_shown(workload)})
    workload_read.send(sender=Workload, workload=workload)
    workload.look_again_in = None
    if causes is not None:  # what an unreadable cluster hides is neither opened nor resolved
        causes.update(_drift_causes(workload, applied_by))
        workload.look_again_in = incidents_sync(workload=workload, causes=causes, applied_by=applied_by)
    return workload


def workload_read_for_a_person(workload: Workload) -> None:
    """Someone opened one workload: read the cluster again, unless a read (the watcher's, a worker's or
    another person's) is younger than WORKLOAD_FRESH_SECONDS. What they see is at most that old, and a
    page reloaded in a loop (each read lists the objects and dry-runs the release) reaches the cluster
    at most that often."""
    fresh = timedelta(seconds=settings.WORKLOAD_FRESH_SECONDS)
    if workload.observed_at is not None and timezone.now() - workload.observed_at < fresh:
        return
    workload_refresh(application=workload.application, environment=workload.environment)


def workload_pods_seen(
    *, tenant: str, environment: str, application: str, pods: dict[tuple[str, str], dict | None]
) -> None:
    """Pods as watch events just carried them, by (namespace, name) (None: deleted), into the workload's
    pod rows, ahead of its next full read, and its open pages told; the full read that follows replaces
    every row again. Only pods in the environment's own namespace count: the labels that name a workload
    are written by whoever creates the object, and a tenant may label what it makes in its own namespace
    with another tenant's names."""
    with transaction.atomic():
        fence()  # a watcher that lost its lease writes nothing
        workload = (
            Workload.objects.select_for_update(of=("self",))
            .filter(tenant__slug=tenant, environment__name=environment, application__name=application)
            .select_related("environment")
            .only("pk", "pods", "environment__namespace")
            .first()
        )
        if workload is None:  # its first full read makes it
            return
        rows = {row["name"]: row for row in workload.pods or []}
        for (namespace, name), pod in pods.items():
            if namespace != workload.environment.namespace:
                continue
            if pod is None:
                rows.pop(name, None)
            else:
                rows[name] = pod_row(pod)
        seen = [rows[name] for name in sorted(rows)]
        if seen == workload.pods:
            return
        Workload.objects.filter(pk=workload.pk).update(pods=seen)
        names = [row["name"] for row in seen]
        broadcast_on_commit(workload_group(workload.pk), {"kind": "workload", "id": workload.pk, "pods": names})


def _shown(workload: Workload) -> dict:
    """What the tenant's pages show of a workload; a change of any of it is announced to them."""
    return {
        "id": workload.pk,
        "application": workload.application_id,
        "environment": workload.environment_id,
        "release": workload.release.number if workload.release_id else None,
        "replicas": workload.replicas,
        "ready_replicas": workload.ready_replicas,
        "health": workload.health,
        "health_label": workload.get_health_display(),
        "health_reason": workload.health_reason,
        "sync": workload.sync,
        "sync_label": workload.get_sync_display(),
    }


def _read(kube: KubeClient, application: Application, environment: Environment):
    """(the workload's fields, the causes of trouble seen, the deployment whose release runs)."""
    name, namespace = application.name, environment.namespace
    cron = application.component_kind == "cron"
    serving = serving_now(application, environment, kube=kube)
    workload_object, colour = serving.workload, serving.colour
    pods, _ = kube.list("v1", "Pod", namespace, label_selector=f"{LABEL}/application={name}")
    rows = [pod_row(pod) for pod in sorted(pods, key=lambda p: p["metadata"]["name"])]
    trouble = trouble_of(rows, now=timezone.now())
    verdict = health_of(workload_object, trouble, cron=cron, service=serving.service, pods=pods)
    release = _live_release(application, workload_object)
    status = (workload_object or {}).get("status") or {}
    autoscaler = None
    if not cron and workload_object is not None:
        autoscaler = kube.get(
            "autoscaling/v2", "HorizontalPodAutoscaler", workload_object["metadata"]["name"], namespace
        )
    applied_by = _applied_by(workload_object, environment)
    if applied_by is not None and release is not None and applied_by.release_id != release.pk:
        applied_by = None  # the pod template was changed by hand: the annotation names another release
    if applied_by is None and workload_object is not None:
        # The annotation was taken off or changed by hand: what the portal deployed there last is still
        # what should run, so that is what the objects are judged by (taking a line of metadata off must
        # not switch drift and self-heal off).
        applied_by = live_deployment(application, environment)
    drift = _drift(kube, applied_by, colour)
    autoscaled = _autoscaler(autoscaler)
    causes = causes_of(None if cron else workload_object, trouble, autoscaled)
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
        "sync": Sync.UNKNOWN if applied_by is None else (Sync.OUT_OF_SYNC if drift else Sync.SYNCED),
        "drift": drift,
        "pods": rows,
        "read_error": "",
    }
    return fields, causes, applied_by


def sampled(history: list, seen: dict, *, at) -> list:
    """The replica history with this read's counts as the sample of its minute (a later read in the same
    minute replaces it), keeping REPLICA_HISTORY_HOURS: [minute, desired, ready, the autoscaler's
    desired or None]. A workload with no Deployment (a cron job, a missing one) adds nothing."""
    if seen.get("replicas") is None:
        return history
    minute = at.replace(second=0, microsecond=0)
    sample = [minute.isoformat(), seen["replicas"], seen["ready_replicas"], (seen["autoscaler"] or {}).get("desired")]
    oldest = (minute - REPLICA_HISTORY).isoformat()
    kept = [old for old in history or [] if oldest < old[0] < sample[0]]
    return [*kept, sample]


def _template(workload_object: dict | None) -> dict:
    spec = (workload_object or {}).get("spec") or {}
    if "jobTemplate" in spec:  # a CronJob's pods are one level further down
        spec = spec["jobTemplate"].get("spec") or {}
    return spec.get("template") or {}


def _live_release(application: Application, workload_object: dict | None) -> Release | None:
    """The release the cluster runs, by the label the portal puts on the pod template."""
    number = ((_template(workload_object).get("metadata") or {}).get("labels") or {}).get(f"{LABEL}/release")
    if not digits(str(number or "")):
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


def _drift(kube: KubeClient, deployment: Deployment | None, colour: str) -> list[dict]:
    """Each field the live objects hold differently from the live release's manifests, judged by a
    forced server-side-apply dry run as the portal: what re-applying the release would change."""
    if deployment is None:
        return []
    drift: list[dict] = []
    for manifest in desired_manifests(deployment, colour=colour):
        meta = manifest["metadata"]
        live = kube.get(manifest["apiVersion"], manifest["kind"], meta["name"], meta["namespace"])
        if live is not None:
            # Which deployment last applied an object is history, not desired state.
            applied_by = (live["metadata"].get("annotations") or {}).get(DEPLOYMENT_ANNOTATION)
            if applied_by is not None:
                meta["annotations"][DEPLOYMENT_ANNOTATION] = applied_by
            [applied] = kube.apply([manifest], dry_run=True)
        else:
            applied = manifest
        drift.extend(drift_of(manifest, applied, live))
    return drift


def _applied_by(workload_object: dict | None, environment: Environment) -> Deployment | None:
    pk = ((workload_object or {}).get("metadata", {}).get("annotations") or {}).get(DEPLOYMENT_ANNOTATION, "")
    if not (pk := as_id(str(pk))):
        return None
    return Deployment.objects.filter(pk=pk, environment=environment).first()


def _drift_causes(workload: Workload, deployment: Deployment | None) -> dict[str, str]:
    """What the environment's self-heal setting makes of drift: nothing (off), an incident (notify),
    or, once the drift outlasted the grace (so a person's kubectl rollout restart is not fought), the
    live release applied again (heal). Drift that returns after HEAL_LIMIT heals in an hour means
    something fights the portal: an incident, and no more healing until it is resolved."""
    now = timezone.now()
    if Deployment.objects.filter(
        application=workload.application_id, environment=workload.environment_id, state__in=ROLLING_OUT
    ).exists():
        # The portal is changing these objects now: a read and its dry run may straddle an apply, so
        # what they disagree on is not drift. Drift incidents already open stay as they are.
        drifting = workload.incidents.filter(state=Incident.State.OPEN, cause__in=(Cause.DRIFT, Cause.DRIFT_RETURNS))
        return dict(drifting.values_list("cause", "message"))
    if workload.sync != Sync.OUT_OF_SYNC or deployment is None:
        if workload.drift_since is not None:
            Workload.objects.filter(pk=workload.pk).update(drift_since=None)
            workload.drift_since = None
        return {}
    if workload.drift_since is None:
        Workload.objects.filter(pk=workload.pk).update(drift_since=now)
        workload.drift_since = now
    mode = deploy_settings_for(workload.environment).self_heal
    summary = drift_summary(workload.drift)
    said = f"The cluster differs from release #{deployment.release.number}: {summary}"
    if mode == DeploySettings.SelfHeal.OFF:
        return {}
    if mode == DeploySettings.SelfHeal.NOTIFY:
        return {Cause.DRIFT: said}
    # A person who resolves the incident that stopped self-heal asks it to try again: heals before that
    # no longer count.
    resumed = workload.incidents.filter(
        cause=Cause.DRIFT_RETURNS, state=Incident.State.RESOLVED, resolved_by__isnull=False
    ).aggregate(at=Max("resolved_at"))["at"]
    if heals_since(deployment, max(now - HEAL_WINDOW, resumed or now - HEAL_WINDOW)) >= HEAL_LIMIT:
        return {
            Cause.DRIFT_RETURNS: (
                f"Drift came back after {HEAL_LIMIT} heals within an hour, so self-heal stopped: something else "
                f"writes these fields. {said}"
            )
        }
    if (now - workload.drift_since).total_seconds() < settings.SELF_HEAL_GRACE_SECONDS:
        return {}
    waiting = [r.pk for r in deployment.change_requests.filter(kind="heal") if r.is_open]
    if waiting:
        return {Cause.DRIFT: f"{said}. Self-heal waits for approval in change request {waiting[0]}."}
    try:
        deployment_heal(deployment=deployment, drift=summary, colour=workload.colour)
    except (ApplicationError, KubeError) as error:
        return {Cause.DRIFT: f"{said}. Self-heal could not re-apply it: {error.message}"}
    request = getattr(deployment, "change_request", None)
    if request is not None and request.is_open:
        return {Cause.DRIFT: f"{said}. Self-heal waits for approval in change request {request.pk}."}
    Workload.objects.filter(pk=workload.pk).update(drift_since=None)
    return {}


def drift_summary(drift: list[dict]) -> str:
    """Kind/name field, for the first few drifted fields: what an incident and the heal event say."""
    words = [f"{d['kind']}/{d['name']} {d['path'] or '(missing)'}" for d in drift[:3]]
    more = f" and {len(drift) - 3} more" if len(drift) > 3 else ""
    return ", ".join(words) + more
