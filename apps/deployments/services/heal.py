"""Self-heal: put the cluster back on what the live release says, after someone changed it by hand.

`desired_manifests` is the live deployment's desired state as the portal would apply it now: its
release's objects (the colour the Service selects, for blue-green) with the replicas a person set
through the portal's scale. The lifecycle watcher judges drift against it, and `deployment_heal`
applies it, through the same gate as a person's change: in a governed environment the heal waits
for approval in a change request.
"""

from __future__ import annotations

from django.db import transaction

from apps.clusters.services import kube_of
from apps.core.audit import audit_record
from apps.core.governance import Change

from ..manifests import render
from ..models import Deployment, DeploymentEvent
from ..strategies.manifests import render_colour
from .gating import change_gated, is_waiting
from .state import deployment_note

HEAL = "heal"


def scaled_to(deployment: Deployment) -> int | None:
    """Replicas a person set through the portal after the deploy: desired state, not drift."""
    scale = DeploymentEvent.objects.filter(deployment=deployment, data__operation="scale").order_by("-seq").first()
    return scale.data["replicas"][1] if scale else None


def desired_manifests(deployment: Deployment, *, colour: str = "") -> list[dict]:
    """What the live deployment's release would apply now, as that deployment applied it (its
    annotation included: applying without it would drop the mark that names the live deployment)."""
    release, environment = deployment.release, deployment.environment
    deadline = deployment.progress_deadline_seconds
    if colour:
        manifests = render_colour(
            release, environment, deployment.pk, colour=colour, progress_deadline_seconds=deadline
        )
    else:
        manifests = render(release, environment, deployment.pk, progress_deadline_seconds=deadline)
    replicas = scaled_to(deployment)
    for manifest in manifests:
        if manifest["kind"] == "Deployment" and replicas is not None and "replicas" in manifest["spec"]:
            manifest["spec"]["replicas"] = replicas
    return manifests


def heals_since(deployment: Deployment, since) -> int:
    return DeploymentEvent.objects.filter(deployment=deployment, data__operation=HEAL, created_at__gte=since).count()


def deployment_heal(*, deployment: Deployment, drift: str, colour: str = "", approved: bool = False) -> Deployment:
    """Re-apply the live release's desired state (the platform acts, no member asked). In a governed
    environment it waits for approval: `change_request` is set on the deployment and nothing is applied."""
    if not approved:
        deployment.change_request = change_gated(
            Change(
                kind=HEAL,
                tenant=deployment.tenant,
                actor=None,
                environment=deployment.environment,
                subject=deployment,
                params={"colour": colour, "drift": drift},
                justification=f"The cluster drifted from release #{deployment.release.number}: {drift}",
                title=(
                    f"Self-heal {deployment.application.name} in {deployment.environment.name} "
                    f"back to release #{deployment.release.number}"
                ),
            )
        )
        if is_waiting(deployment):
            return deployment
    with kube_of(deployment.environment) as kube:
        kube.apply(desired_manifests(deployment, colour=colour))
    with transaction.atomic():
        deployment_note(
            deployment=deployment,
            message=f"Self-heal: re-applied release #{deployment.release.number}; the cluster had drifted ({drift})",
            data={"operation": HEAL, "drift": drift},
        )
        audit_record(
            actor=None,
            action="deployment.heal",
            obj=deployment,
            tenant=deployment.tenant,
            changes={"drift": [drift, None]},
        )
    return deployment
