"""Day-2 operations on what runs in an environment: scale, restart, pause and resume, promote, remove.

Each operation checks the deployment policy, changes the cluster through the clusters client layer
(outside any row lock; scales of one workload take turns under a lock of their own), then records a deployment event and an audit event in one transaction. Scale,
restart and remove wait out a cluster that does not answer, as the pipeline does (services/outage.py).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.clusters.kube import KubeError
from apps.clusters.services import kube_of
from apps.core.audit import audit_record
from apps.core.errors import INVALID, ApplicationError, require
from apps.core.governance import Change, gate
from apps.core.locks import lock_until_commit
from apps.core.policies import policy_for
from apps.core.traffic import routes_removed
from apps.tenants.principals import Principal
from apps.tenants.quotas import quota_check

from .. import dispatch
from ..choices import ACTIVE, State, Strategy
from ..dispatch import after_commit
from ..manifests import LABEL
from ..models import Deployment, Formation
from ..quotas import RESOURCES, footprint
from ..selectors import live_deployment
from .create import IN_PROGRESS, deployment_create
from .gating import change_gated, is_waiting, restorative_change_record
from .outage import cluster_down, outage_begin, outage_cause, outage_end
from .state import deployment_note

# Refusals, as constants that tests import.
NOT_LIVE = "deployment_not_live"
NOT_SUCCEEDED = "release_not_succeeded"
AUTOSCALED = "autoscaled"
NOT_RUNNING = "not_running"
CLUSTER_REFUSED = "cluster_refused"
NOT_IN_PROGRESS = "not_in_progress"
ALREADY_PAUSED = "already_paused"
NOT_PAUSED = "not_paused"
STRATEGY_NOT_PAUSABLE = "strategy_not_pausable"

MAX_REPLICAS = 100
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
# What a release puts into a namespace, removed traffic first so nothing routes to a vanishing pod.
REMOVED_KINDS = (
    ("networking.k8s.io/v1", "Ingress"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "CronJob"),
    ("v1", "ConfigMap"),
)


# --- The live deployment: scale and restart ----------------------------------------------------


def _require_quiet(application, environment, *, approval_counts: bool = True) -> None:
    """Nothing is being deployed there. Without `approval_counts`, a deployment that waits for approval is
    not in the way (it changes nothing until approved, perhaps days later): scaling or restarting what
    runs now goes on meanwhile, and the deployment takes the scale when it applies."""
    busy = ACTIVE if approval_counts else tuple(state for state in ACTIVE if state != State.PENDING_APPROVAL)
    if Deployment.objects.filter(application=application, environment=environment, state__in=busy).exists():
        raise ApplicationError(
            f"{application.name} is being deployed to {environment.name}; wait for it to finish or cancel it.",
            code=IN_PROGRESS,
            status=409,
        )


def _require_live(actor: Principal | None, deployment: Deployment, *, automatic: bool = False) -> None:
    """Only the running deployment of a long-running workload is scaled or restarted. `automatic` is the
    platform acting on an incident by the environment's policy: no member asked, so no role applies."""
    if not automatic:
        require(policy_for(Deployment).can_change(actor, deployment), tenant=deployment.tenant)
    _require_quiet(deployment.application, deployment.environment, approval_counts=False)
    live = live_deployment(deployment.application_id, deployment.environment_id)
    if live is None or live.pk != deployment.pk:
        which = f" (deployment {live.pk})" if live else ""
        raise ApplicationError(
            f"Only what runs in {deployment.environment.name} now{which} can be scaled or restarted.",
            code=NOT_LIVE,
            status=409,
        )
    if deployment.application.component_kind == "cron":
        raise ApplicationError("A cron job has no replicas to scale or restart.", code=INVALID, status=409)


@contextmanager
def _cluster(environment, what: str):
    """A client for the environment's cluster; its refusals become the project's error."""
    try:
        with kube_of(environment) as kube:
            yield kube
    except KubeError as error:
        if error.status == 404:
            raise ApplicationError(f"{what} is not in the cluster any more.", code=NOT_RUNNING, status=409) from None
        raise ApplicationError(f"The cluster refused: {error.message}", code=CLUSTER_REFUSED, status=502) from None


def _check_scale_quota(deployment: Deployment, replicas: int) -> None:
    """Quotas count the release at its own replicas, so only pods beyond those need room."""
    release, extra = deployment.release, replicas - deployment.release.replicas
    if extra <= 0:
        return
    usage = footprint(release)
    for resource in RESOURCES:
        per_pod = usage[resource] // max(usage["pods"], 1)
        quota_check(
            tenant=deployment.tenant, resource=resource, environment=deployment.environment, adding=per_pod * extra
        )


def _record(actor: Principal | None, deployment: Deployment, action: str, message: str, changes: dict) -> None:
    with transaction.atomic():
        deployment_note(deployment=deployment, message=message, data={"operation": action, **changes})
        audit_record(
            actor=actor, action=f"deployment.{action}", obj=deployment, tenant=deployment.tenant, changes=changes
        )


def deployment_scale(
    *,
    actor: Principal,
    deployment: Deployment,
    replicas: int,
    justification: str = "",
    break_glass_reason: str = "",
    approved: bool = False,
) -> Deployment:
    """Set the replicas of the running release without a new release, within the tenant's quotas.
    The count becomes the workload's formation: later releases run with it too, instead of their own
    `replicas`, until the application is removed from the environment. In a governed environment the change
    waits for approval: the deployment comes back with `change_request` set and nothing is scaled yet;
    the approvals app calls this again with `approved` once the request is approved."""
    _require_live(actor, deployment)
    if deployment.release.autoscale_max:
        raise ApplicationError(
            "An autoscaler sets this release's replicas; change its limits in a new release.",
            code=AUTOSCALED,
            status=409,
        )
    if not 0 <= replicas <= MAX_REPLICAS:
        raise ApplicationError(f"Replicas go from 0 to {MAX_REPLICAS}.", code=INVALID, field="replicas")
    _check_scale_quota(deployment, replicas)
    if not approved:
        deployment.change_request = change_gated(
            Change(
                kind="scale",
                tenant=deployment.tenant,
                actor=actor,
                environment=deployment.environment,
                subject=deployment,
                params={"replicas": replicas},
                justification=justification,
                break_glass_reason=break_glass_reason,
                title=f"Scale {deployment.application.name} in {deployment.environment.name} to {replicas} replicas",
            )
        )
        if is_waiting(deployment):
            return deployment
    made = _carry_out(actor, deployment, "scale", {"replicas": replicas})
    if made:
        _record(actor, deployment, "scale", *made)
    return deployment


def deployment_restart(
    *,
    actor: Principal | None,
    deployment: Deployment,
    justification: str = "",
    break_glass_reason: str = "",
    approved: bool = False,
    automatic: bool = False,
) -> Deployment:
    """Replace every pod of the running release, one by one, as `kubectl rollout restart` does:
    a new annotation in the pod template makes a new ReplicaSet of the same release. Every pod of
    production going away is a change like any other: in a governed environment it waits for approval
    (`change_request` set, nothing restarted yet), and a freeze refuses it. `automatic` is the
    platform's restart of an unwell workload (actor None), through the same gate."""
    _require_live(actor, deployment, automatic=automatic)
    if not approved:
        # Asked again while one waits, it is that one (approvals' SAME_ASK); break-glass does not wait.
        deployment.change_request = change_gated(
            Change(
                kind="restart",
                tenant=deployment.tenant,
                actor=actor,
                environment=deployment.environment,
                subject=deployment,
                params={"automatic": True} if automatic else {},
                justification=justification,
                break_glass_reason=break_glass_reason,
                title=f"Restart every pod of {deployment.application.name} in {deployment.environment.name}",
            )
        )
        if is_waiting(deployment):
            return deployment
    at = timezone.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    made = _carry_out(actor, deployment, "restart", {"at": at})
    if made:
        _record(actor, deployment, "restart", *made)
    return deployment


# --- The cluster part of scale, restart and remove -----------------------------------------------
# Made in the request. When the cluster does not answer, the operation waits the outage out as the
# pipeline does: recorded on the deployment, made by a task (tasks.run_operation) that retries with
# backoff up to the deployment's progress deadline. So each part takes plain parameters and is safe to
# repeat; each returns what happened in words and the changes.


def _scale_in(kube, deployment: Deployment, params: dict) -> tuple[str, dict]:
    """Scales of one workload take turns (a lock for the transaction): made at the same moment, the last
    to reach the cluster and the last to write the formation were different ones, which left the count
    the portal keeps and the count the cluster runs apart (drift that nobody made)."""
    name, namespace, replicas = deployment.application.name, deployment.environment.namespace, params["replicas"]
    with transaction.atomic():
        lock_until_commit(f"scale:{namespace}/{name}")
        running = kube.get("apps/v1", "Deployment", name, namespace)
        if running is None:
            raise ApplicationError(f"Deployment {name} is not in the cluster any more.", code=NOT_RUNNING, status=409)
        before = running["spec"].get("replicas")
        kube.patch("apps/v1", "Deployment", name, namespace, {"spec": {"replicas": replicas}})
        Formation.objects.update_or_create(
            application=deployment.application,
            environment=deployment.environment,
            defaults={"tenant_id": deployment.tenant_id, "replicas": replicas},
        )
    return f"Scaled from {before} to {replicas} replicas", {"replicas": [before, replicas]}


def _restart_in(kube, deployment: Deployment, params: dict) -> tuple[str, dict]:
    at, template = params["at"], {"metadata": {"annotations": {RESTARTED_AT: params["at"]}}}
    name, namespace = deployment.application.name, deployment.environment.namespace
    kube.patch("apps/v1", "Deployment", name, namespace, {"spec": {"template": template}})
    return f"Restarting every pod (restartedAt {at})", {"restarted_at": [None, at]}


def _remove_in(kube, deployment: Deployment, params: dict) -> tuple[str, dict]:
    application, environment = deployment.application, deployment.environment
    removed = []
    for api_version, kind in REMOVED_KINDS:
        for item in application_objects(kube, api_version, kind, environment.namespace, application.name):
            if kube.delete(api_version, kind, item["metadata"]["name"], environment.namespace):
                removed.append(f"{kind}/{item['metadata']['name']}")
    return f"Removed from {environment.name}: {', '.join(removed) or 'nothing was left'}", {"removed": removed}


CLUSTER_PARTS = {"scale": _scale_in, "restart": _restart_in, "remove": _remove_in}


def _carry_out(
    actor: Principal | None, deployment: Deployment, operation: str, params: dict
) -> tuple[str, dict] | None:
    """Make the operation's cluster change now: (message, changes). A refusal is the project's error at
    once; a cluster that does not answer is waited for (None: the deployment says so, a task goes on)."""
    try:
        with kube_of(deployment.environment) as kube:
            return CLUSTER_PARTS[operation](kube, deployment, params)
    except KubeError as error:
        if not cluster_down(error):
            what = (
                f"Namespace {deployment.environment.namespace}"
                if operation == "remove"
                else f"Deployment {deployment.application.name}"
            )
            raise _refused(error, what) from None
        _wait_for_cluster(actor, deployment, operation, params, error)
        return None


def _refused(error: KubeError, what: str) -> ApplicationError:
    if error.status == 404:
        return ApplicationError(f"{what} is not in the cluster any more.", code=NOT_RUNNING, status=409)
    return ApplicationError(f"The cluster refused: {error.message}", code=CLUSTER_REFUSED, status=502)


@transaction.atomic
def _wait_for_cluster(
    actor: Principal | None, deployment: Deployment, operation: str, params: dict, error: KubeError
) -> None:
    """Say on the deployment that the operation waits for the cluster, audit the request, and hand it to the task."""
    outage_begin(deployment, cause=outage_cause(error), status=error.status)
    changes = {**{key: [None, value] for key, value in params.items()}, "waiting_for_cluster": [None, True]}
    if operation == "remove":
        audit_record(
            actor=actor,
            action="application.remove",
            obj=deployment.application,
            tenant=deployment.tenant,
            changes={"environment": [deployment.environment.name, None], **changes},
        )
    else:
        audit_record(
            actor=actor, action=f"deployment.{operation}", obj=deployment, tenant=deployment.tenant, changes=changes
        )
    after_commit(dispatch.OPERATION, deployment.pk, operation, params)
    deployment.waiting_for_cluster = True


def operation_carry_out(*, deployment: Deployment, operation: str, params: dict) -> None:
    """The task's try at an operation that waited for the cluster; a KubeError goes back to the task,
    which waits on. The request already audited it, so only the deployment records what was done."""
    with kube_of(deployment.environment) as kube:
        message, changes = CLUSTER_PARTS[operation](kube, deployment, params)
    outage_end(deployment)
    if operation == "remove":
        _removal_done(deployment.application, deployment.environment, changes["removed"])
    else:
        deployment_note(deployment=deployment, message=message, data={"operation": operation, **changes})


def operation_failed(*, deployment: Deployment, operation: str, reason: str) -> None:
    """An operation that waited for the cluster was refused, or the cluster stayed away past the deadline."""
    deployment_note(
        deployment=deployment,
        message=f"The {operation} was not made: {reason}",
        data={"operation": operation, "failed": reason},
    )


# --- Pause and resume an in-flight rolling update ----------------------------------------------


def _require_pausable(actor: Principal, deployment: Deployment) -> None:
    """Only a rolling update of a long-running workload pauses: canary and blue-green already wait
    between their steps, and a cron job has no rollout."""
    require(policy_for(Deployment).can_change(actor, deployment), tenant=deployment.tenant)
    if deployment.strategy != Strategy.ROLLING or deployment.application.component_kind == "cron":
        raise ApplicationError(
            "Only a rolling update can be paused: canary and blue-green deployments move step "
            "by step (continue or cancel them), and a cron job has no rollout.",
            code=STRATEGY_NOT_PAUSABLE,
            status=409,
        )


def _check_pause_state(row: Deployment, *, pausing: bool) -> None:
    if row.state != State.PROGRESSING:
        raise ApplicationError(
            f"Only a deployment that is rolling out can be paused or resumed; this one is "
            f"{row.get_state_display().lower()}.",
            code=NOT_IN_PROGRESS,
            status=409,
        )
    if pausing and row.paused_at is not None:
        raise ApplicationError("This deployment is already paused.", code=ALREADY_PAUSED, status=409)
    if not pausing and row.paused_at is None:
        raise ApplicationError("This deployment is not paused.", code=NOT_PAUSED, status=409)


def _set_cluster_paused(deployment: Deployment, paused: bool) -> None:
    name, namespace = deployment.application.name, deployment.environment.namespace
    with _cluster(deployment.environment, f"Deployment {name}") as kube:
        kube.patch("apps/v1", "Deployment", name, namespace, {"spec": {"paused": paused}})


@transaction.atomic
def _record_pause(actor: Principal, deployment: Deployment, *, pausing: bool) -> Deployment:
    """Re-check under the row lock (the rollout may have finished meanwhile), then record the change."""
    row = Deployment.objects.select_for_update().get(pk=deployment.pk)
    _check_pause_state(row, pausing=pausing)
    before, now = row.paused_at, timezone.now()
    row.paused_at = now if pausing else None
    row.resumed_at = row.resumed_at if pausing else now
    row.save(update_fields=["paused_at", "resumed_at"])
    action, message = ("pause", "Rollout paused") if pausing else ("resume", "Rollout resumed")
    _record(actor, deployment, action, message, {"paused_at": [_iso(before), _iso(row.paused_at)]})
    if pausing:
        restorative_change_record(
            actor=actor,
            deployment=deployment,
            kind="pause",
            title=f"Pause the rollout of deployment {deployment.pk} of "
            f"{deployment.application.name} in {deployment.environment.name}",
        )
    deployment.paused_at, deployment.resumed_at = row.paused_at, row.resumed_at
    deployment.last_seq = Deployment.objects.values_list("last_seq", flat=True).get(pk=deployment.pk)
    return deployment


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def deployment_pause(*, actor: Principal, deployment: Deployment) -> Deployment:
    """Hold a rolling update where it stands (`kubectl rollout pause`). It stays progressing, and
    neither its progress deadline nor the reconciler ends it until it is resumed or cancelled.
    Restorative: never held by approval or a freeze; in a governed environment it is reviewed afterwards."""
    _require_pausable(actor, deployment)
    _check_pause_state(deployment, pausing=True)
    _set_cluster_paused(deployment, True)
    try:
        return _record_pause(actor, deployment, pausing=True)
    except ApplicationError:
        _set_cluster_paused(deployment, False)  # it finished meanwhile: a stale pause would hold the next one
        raise


def deployment_resume(*, actor: Principal, deployment: Deployment, break_glass_reason: str = "") -> Deployment:
    """Let a paused rolling update carry on; its progress deadline counts again from now.

    A freeze refuses it (an owner may break glass). It is not held for approval again: the rollout
    carries on the deployment's own change, which was approved as a whole where that was needed, and
    a pause (restorative, never held) must not turn a running rollout into a new approval."""
    _require_pausable(actor, deployment)
    _check_pause_state(deployment, pausing=False)
    change_gated(
        Change(
            kind="resume",
            tenant=deployment.tenant,
            actor=actor,
            environment=deployment.environment,
            subject=deployment,
            break_glass_reason=break_glass_reason,
            carries_on=True,
            title=f"Resume the rollout of deployment {deployment.pk} of {deployment.application.name} in "
            f"{deployment.environment.name}",
        )
    )
    _set_cluster_paused(deployment, False)
    return _record_pause(actor, deployment, pausing=False)


# --- Promote and remove ------------------------------------------------------------------------


def deployment_promote(
    *, actor: Principal, deployment: Deployment, environment, justification: str = "", break_glass_reason: str = ""
) -> Deployment:
    """Deploy the same release to another environment (dev -> staging -> production). Only a release
    that succeeded in the deployment's environment is promoted; the deploy rules of the target apply."""
    source = deployment.environment
    if environment.tenant_id != deployment.tenant_id or environment.pk == source.pk:
        raise ApplicationError(
            "Choose another environment of this tenant to promote to.", code=INVALID, field="environment"
        )
    if not Deployment.objects.filter(release=deployment.release_id, environment=source, state=State.SUCCEEDED).exists():
        raise ApplicationError(
            f"Release #{deployment.release.number} of {deployment.application.name} has not "
            f"succeeded in {source.name}; only a release that succeeded there can be promoted.",
            code=NOT_SUCCEEDED,
            status=409,
        )
    promoted, _ = deployment_create(
        actor=actor,
        release=deployment.release,
        environment=environment,
        reason=f"Promoted from {source.name} (deployment {deployment.pk})",
        progress_deadline_seconds=deployment.progress_deadline_seconds,
        justification=justification,
        break_glass_reason=break_glass_reason,
    )
    return promoted


@dataclass
class Removal:
    """What removing an application did: the objects deleted, or what it waits for (a change request,
    or the cluster to answer again)."""

    removed: list[str] = field(default_factory=list)
    change_request: Any = None
    waiting_for_cluster: bool = False


def application_remove(
    *,
    actor: Principal,
    application,
    environment,
    justification: str = "",
    break_glass_reason: str = "",
    approved: bool = False,
) -> Removal:
    """Delete everything the application runs in the environment, found by its label, and record what
    went. The deployment history stays; deploying again brings the application back. In a governed
    environment the removal waits for approval (nothing is deleted yet), and a freeze refuses it."""
    # Only members who could make the change themselves remove (or ask to remove) an application.
    require(policy_for(Deployment).can_deploy_unapproved(actor, environment), tenant=environment.tenant)
    if application.tenant_id != environment.tenant_id:
        raise ApplicationError(
            "The application and the environment belong to different tenants.", code=INVALID, field="environment"
        )
    _require_quiet(application, environment)
    if not approved:
        removal = Removal(
            change_request=change_gated(
                Change(
                    kind="remove",
                    tenant=environment.tenant,
                    actor=actor,
                    environment=environment,
                    subject=live_deployment(application, environment),
                    params={"application": application.pk},
                    justification=justification,
                    break_glass_reason=break_glass_reason,
                    title=f"Remove {application.name} from {environment.name}",
                )
            )
        )
        if is_waiting(removal):
            return removal
    live = live_deployment(application, environment)
    if live is None:  # nothing to carry the waiting on: the cluster must answer now
        with _cluster(environment, f"Namespace {environment.namespace}") as kube:
            _, changes = _remove_in(kube, Deployment(application=application, environment=environment), {})
    else:
        made = _carry_out(actor, live, "remove", {})
        if made is None:
            return Removal(waiting_for_cluster=True)
        _, changes = made
    _record_removal(actor, application, environment, changes["removed"])
    return Removal(removed=changes["removed"])


def application_objects(kube, api_version: str, kind: str, namespace: str, application: str) -> list[dict]:
    """The application's objects of one kind; none when the cluster does not serve the kind at all."""
    try:
        return kube.list(api_version, kind, namespace, label_selector=f"{LABEL}/application={application}")[0]
    except KubeError as error:
        if error.status == 404:
            return []
        raise


@transaction.atomic
def _record_removal(actor: Principal, application, environment, removed: list[str]) -> None:
    _removal_done(application, environment, removed)
    audit_record(
        actor=actor,
        action="application.remove",
        obj=application,
        tenant=environment.tenant,
        changes={"environment": [environment.name, None], "removed": [removed, None]},
    )


@transaction.atomic
def _removal_done(application, environment, removed: list[str]) -> None:
    """The application no longer runs there: its deployments stop counting against quotas, the next deploy
    starts from its release's replicas again, its routes say their objects are gone, and the live one says
    what went."""
    live = live_deployment(application, environment)
    Formation.objects.filter(application=application, environment=environment).delete()
    routes_removed(application=application, environment=environment)  # their objects went with the label
    Deployment.objects.filter(
        application=application, environment=environment, state=State.SUCCEEDED, removed_at__isnull=True
    ).update(removed_at=timezone.now())  # frees its quota
    if live is not None:
        deployment_note(
            deployment=live,
            data={"operation": "remove", "removed": removed},
            message=f"Removed from {environment.name}: {', '.join(removed) or 'nothing was left'}",
        )
        # A restart or scale still waiting for approval is of something that no longer runs.
        gate().withdraw(live, f"Removed: {application.name} no longer runs in {environment.name}")
