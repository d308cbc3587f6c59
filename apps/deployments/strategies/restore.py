"""Cancelling a deployment that reached the cluster: put the cluster back as it was before it.

The release that served before (selectors.restore_target) is applied again in full, as its own
deployment rendered it (ConfigMap, Deployment, autoscaler, Service, Ingress: not only the pod template,
as `kubectl rollout undo` would), after the strategy removed what it added beside it (the canary, the
new colour). When nothing served before, everything of the application in the namespace is deleted.
Each look does what is still needed and records it once; the row turns cancelled only when the
cluster is seen that way: the old release rolled out by kubectl's rule and no pod of the cancelled
release left, or nothing of the application left at all.
"""

from __future__ import annotations

from apps.clusters.services import kube_of

from ..choices import EventKind, State, Strategy
from ..manifests import DEPLOYMENT_ANNOTATION, LABEL, render
from ..models import Deployment
from ..selectors import restore_target
from ..services import deployment_fail, deployment_observe, deployment_transition
from ..services.operations import REMOVED_KINDS, application_objects
from .base import applied, cluster_says, past_deadline
from .manifests import colour_name, render_colour
from .observations import rollout_observations
from .registry import strategy_for

RESTORED = "cancel:applied"


def restore_step(row: Deployment) -> bool:
    """One look at a cancelling row. True: look again."""
    strategy_for(row.strategy).cancel(row)
    target = restore_target(row)
    if target is None:
        return _remove(row)
    return _bring_back(row, target)


def restoring_manifests(target: Deployment, environment) -> tuple[list[dict], str]:
    """What `target` serves, rendered as it rendered it, and the name of its Deployment. The replicas are
    the formation's (a member's scale through the portal is kept), as every render's are."""
    deadline = target.progress_deadline_seconds
    if target.strategy == Strategy.BLUE_GREEN:
        manifests = render_colour(
            target.release, environment, target.pk, colour=target.colour, progress_deadline_seconds=deadline
        )
        name = colour_name(target.release, target.colour)
    else:
        manifests = render(target.release, environment, target.pk, progress_deadline_seconds=deadline)
        name = target.application.name
    return manifests, name


def _cancelling_since(row: Deployment):
    return row.events.filter(state=State.CANCELLING).values_list("created_at", flat=True).first()


def _bring_back(row: Deployment, target: Deployment) -> bool:
    """Apply the old release (again, when something re-applied the new one meanwhile) and watch it roll out."""
    manifests, name = restoring_manifests(target, row.environment)
    number, namespace, app = target.release.number, row.environment.namespace, row.application
    cron = app.component_kind == "cron"
    with kube_of(row.environment) as kube:
        live = None if cron else kube.get("apps/v1", "Deployment", name, namespace)
        template = (live or {}).get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {}
        first = not row.events.filter(key=RESTORED).exists()
        pruned = []
        if first or (not cron and template.get(f"{LABEL}/release") != str(number)):
            kube.apply(manifests)
            pruned = _prune(kube, row, manifests)
        status = None if cron else kube.rollout_status(namespace, name)
        left = []
        if target.release_id != row.release_id:
            selector = f"{LABEL}/application={app.name},{LABEL}/release={row.release.number}"
            left = kube.list("v1", "Pod", namespace, label_selector=selector)[0]
    said = [{"key": RESTORED, "kind": EventKind.LOG, "message": f"Re-applied release #{number}: {applied(manifests)}"}]
    said += [_deleted(what, f" (release #{row.release.number} added it)") for what in pruned]
    deployment_observe(deployment=row, observations=said + _prefixed(rollout_observations(status)))
    if not left and (cron or (status is not None and status.complete)):
        deployment_transition(
            deployment=row, to_state=State.CANCELLED, reason=f"Release #{number} is live again; cancelled"
        )
        return False
    if status is not None and status.observed and status.failed:
        deployment_fail(
            deployment=row,
            reason=f"Cancelling could not bring release #{number} back: the cluster says {cluster_says(status)}",
        )
        return False
    if past_deadline(row, _cancelling_since(row)):
        what = cluster_says(status) if status is not None else f"the Deployment {name} is missing"
        if left:
            what += f"; {len(left)} pods of release #{row.release.number} still run"
        deployment_fail(
            deployment=row,
            reason=f"Cancelling could not bring release #{number} back within "
            f"{row.progress_deadline_seconds} seconds: {what}",
        )
        return False
    return True


def _remove(row: Deployment) -> bool:
    """Nothing served before: delete every object of the application here, and wait for its pods to go."""
    app, namespace = row.application, row.environment.namespace
    deleted = []
    with kube_of(row.environment) as kube:
        for api_version, kind in REMOVED_KINDS:
            for item in application_objects(kube, api_version, kind, namespace, app.name):
                if kube.delete(api_version, kind, item["metadata"]["name"], namespace):
                    deleted.append(f"{kind}/{item['metadata']['name']}")
        pods = kube.list("v1", "Pod", namespace, label_selector=f"{LABEL}/application={app.name}")[0]
    deployment_observe(deployment=row, observations=[_deleted(what) for what in deleted])
    if not deleted and not pods:
        deployment_transition(
            deployment=row,
            to_state=State.CANCELLED,
            reason=f"Nothing was live before release #{row.release.number}; what it applied is gone; cancelled",
        )
        return False
    if past_deadline(row, _cancelling_since(row)):
        deployment_fail(
            deployment=row,
            reason=f"Cancelling could not remove release #{row.release.number} within "
            f"{row.progress_deadline_seconds} seconds: {len(pods)} of its pods are still there",
        )
        return False
    return True


def _prune(kube, row: Deployment, manifests: list[dict]) -> list[str]:
    """Delete what the cancelled deployment applied that the old release does not have (an autoscaler,
    an Ingress it added): applying the old release again would leave them in place."""
    kept = {(m["kind"], m["metadata"]["name"]) for m in manifests}
    namespace, deleted = row.environment.namespace, []
    for api_version, kind in REMOVED_KINDS:
        for item in application_objects(kube, api_version, kind, namespace, row.application.name):
            meta = item["metadata"]
            ours = (meta.get("annotations") or {}).get(DEPLOYMENT_ANNOTATION) == str(row.pk)
            if ours and (kind, meta["name"]) not in kept and kube.delete(api_version, kind, meta["name"], namespace):
                deleted.append(f"{kind}/{meta['name']}")
    return deleted


def _deleted(what: str, why: str = "") -> dict:
    return {"key": f"cancel:deleted:{what}", "kind": EventKind.LOG, "message": f"Deleted {what}{why}"}


def _prefixed(observations: list[dict]) -> list[dict]:
    """The rollout back is a rollout of its own: its keys must not meet the forward rollout's."""
    return [{**o, "key": f"cancel:{o['key']}"[:200]} for o in observations]
