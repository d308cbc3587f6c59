"""Self-heal: put the cluster back on what the live release says, after someone changed it by hand.

`desired_manifests` is the live deployment's desired state as the portal would apply it now: its
release's objects (the colour the Service selects, for blue-green) with the formation's replicas,
the ones a person set through the portal's scale (manifests.replicas_for). The lifecycle watcher judges drift against it, and `deployment_heal`
applies it, through the same gate as a person's change: in a governed environment the heal waits
for approval in a change request.
"""

from __future__ import annotations

from django.db import transaction

from apps.clusters.services import kube_of
from apps.core.audit import audit_record
from apps.core.errors import ApplicationError
from apps.core.governance import Change, gate

from ..manifests import render
from ..models import Deployment, DeploymentEvent
from ..selectors import live_deployment
from ..strategies.manifests import render_colour
from .deploy_settings import deploy_settings_for
from .gating import change_gated, is_waiting
from .operations import NOT_LIVE
from .state import deployment_note

HEAL = "heal"


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
    return manifests


def heals_since(deployment: Deployment, since) -> int:
    return DeploymentEvent.objects.filter(deployment=deployment, data__operation=HEAL, created_at__gte=since).count()


def deployment_heal(*, deployment: Deployment, drift: str, colour: str = "", approved: bool = False) -> Deployment:
    """Re-apply the live release's desired state (the platform acts, no member asked). In a governed
    environment it waits for approval: `change_request` is set on the deployment and nothing is applied.
    Where the environment's deploy settings let heals skip approval, it goes ahead at once as a
    restorative change (it puts back what was approved, so a freeze does not hold it either) and the
    approvals app files it, once made, with a review afterwards. Only what runs now is healed: a heal
    asked for a deployment that a newer one or a removal has replaced since (its request approved late)
    would put an older release back, and is refused."""
    live = live_deployment(deployment.application_id, deployment.environment_id)
    if live is None or live.pk != deployment.pk:
        now = f"deployment {live.pk} (release #{live.release.number}) runs there now" if live else "it was removed"
        raise ApplicationError(
            f"Release #{deployment.release.number} is not what runs in {deployment.environment.name} any more: "
            f"{now}, so it is not put back.",
            code=NOT_LIVE,
            status=409,
        )
    change = Change(
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
        restorative=not approved and deploy_settings_for(deployment.environment).heal_skips_approval,
    )
    if not approved and not change.restorative:
        deployment.change_request = change_gated(change)
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
        if change.restorative:
            verdict = gate().assess(change)
            if verdict.restorative:  # governed or frozen: recorded as made, reviewed afterwards
                deployment.change_request = gate().open(change, verdict)
    return deployment
