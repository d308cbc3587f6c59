"""Creating a deployment: checks, the idempotent insert, the approval gate, and the pipeline's start."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from apps.catalog.images import image_check
from apps.core.audit import audit_record
from apps.core.errors import INVALID, ApplicationError, require
from apps.core.governance import Change, Verdict, gate
from apps.core.policies import policy_for
from apps.core.traffic import route_for_release
from apps.tenants.claims import host_claim
from apps.tenants.principals import Principal

from ..choices import ACTIVE, EventKind, State
from ..fairness import admit_after_commit
from ..models import Deployment, DeploySettings
from ..quotas import check_quotas
from .state import deployment_transition, event_append

# Refusals, as constants that tests import.
IN_PROGRESS = "deployment_in_progress"
IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
DIGEST_REQUIRED = "digest_required"
PRODUCTION_NEEDS_ADMIN = "Deploying to a production environment needs an admin or an owner of the tenant."


def _replay(tenant, key: str, release, environment) -> Deployment | None:
    """The deployment an earlier request with this key made; the same key for another request is refused."""
    if not key:
        return None
    earlier = Deployment.objects.filter(tenant=tenant, idempotency_key=key).first()
    if earlier is not None and (earlier.release_id, earlier.environment_id) != (release.pk, environment.pk):
        raise ApplicationError(
            "This Idempotency-Key was already used for a different deployment.", code=IDEMPOTENCY_KEY_REUSED, status=422
        )
    return earlier


def _in_progress(application, environment) -> ApplicationError:
    active = Deployment.objects.filter(application=application, environment=environment, state__in=ACTIVE).first()
    which = f" (deployment {active.pk}, {active.get_state_display().lower()})" if active else ""
    return ApplicationError(
        f"{application.name} is already being deployed to {environment.name}{which}; "
        "wait for it to finish or cancel it.",
        code=IN_PROGRESS,
        status=409,
    )


def _check_create(actor: Principal | None, release, environment, key: str) -> None:
    policy = policy_for(Deployment)
    require(policy.allows(actor, "add", environment.tenant), tenant=environment.tenant)
    require(policy.can_add(actor, environment), PRODUCTION_NEEDS_ADMIN)
    if release.tenant_id != environment.tenant_id:
        raise ApplicationError(
            "The release and the environment belong to different tenants.", code=INVALID, field="environment"
        )
    if len(key) > 200:
        raise ApplicationError("An Idempotency-Key is at most 200 characters.", code=INVALID, field="idempotency_key")
    image_policy_check(release, environment)
    if release.ingress_host:  # a release cut before hosts were claims may name another tenant's host
        host_claim(tenant=environment.tenant, host=release.ingress_host)
        # The release's host becomes (or moves) the application's route in the environment.
        route_for_release(release=release, environment=environment, actor=actor)


def image_policy_check(release, environment) -> None:
    """The image rules at deploy time: still on the operators' allow-list (it may have narrowed since
    the release was cut), and pinned by digest where the environment asks for that. 400 naming `release`."""
    image_check(release.image, environment.tenant.slug, field="release")
    if (
        not release.image_digest
        and DeploySettings.objects.filter(environment=environment, require_digest=True).exists()
    ):
        raise ApplicationError(
            f"{environment.name} accepts only images pinned by digest, and release #{release.number} names "
            f"“{release.image}”. Cut a release with image@sha256:… (a build's release is pinned already).",
            code=DIGEST_REQUIRED,
            field="release",
        )


@transaction.atomic
def deployment_create(
    *,
    actor: Principal | None,
    release,
    environment,
    idempotency_key: str | None = None,
    progress_deadline_seconds: int | None = None,
    reason: str = "",
    rollback_of: Deployment | None = None,
    automatic: bool = False,
    justification: str = "",
    break_glass_reason: str = "",
    strategy: str = "",
    strategy_config: dict | None = None,
    restorative: bool = False,
) -> tuple[Deployment, bool]:
    """Queue a release for an environment; (deployment, created). A repeated Idempotency-Key returns
    the first deployment. A second deployment of the same app to the same environment while one is
    active is refused (409), not queued: the newer request would otherwise silently win or wait.

    Where the environment is governed, the deployment waits in `pending_approval` behind a change
    request instead of being queued. `automatic` is the platform's own deploy (an automatic
    rollback, with no `actor`): no member asked, so no role and no approval applies. `restorative` is a
    member's rollback to the last good release: it goes ahead past approval and freezes, with a
    post-hoc review."""
    key = (idempotency_key or "").strip()
    if not automatic:
        _check_create(actor, release, environment, key)
    earlier = _replay(environment.tenant, key, release, environment)
    if earlier is not None:
        return earlier, False
    if Deployment.objects.filter(
        application=release.application_id, environment=environment, state__in=ACTIVE
    ).exists():
        raise _in_progress(release.application, environment)
    check_quotas(
        release=release,
        environment=environment,
        strategy=strategy or Deployment._meta.get_field("strategy").default,
        strategy_config=strategy_config,
    )
    title = (
        f"Roll back {release.application.name} to release #{release.number} in {environment.name}"
        if rollback_of
        else f"Deploy {release.application.name} release #{release.number} to {environment.name}"
    )
    change = Change(
        kind="deploy",
        tenant=environment.tenant,
        actor=actor,
        environment=environment,
        title=title,
        justification=justification or (reason if rollback_of else ""),
        break_glass_reason=break_glass_reason,
        restorative=restorative,
    )
    verdict = Verdict() if automatic else gate().assess(change)
    deployment = _insert(
        actor,
        release,
        environment,
        key,
        progress_deadline_seconds,
        reason,
        rollback_of,
        strategy=strategy,
        strategy_config=strategy_config,
        state=State.PENDING_APPROVAL if verdict.needs_approval else State.QUEUED,
        past_freezes=automatic or verdict.break_glass or verdict.restorative,
    )
    if deployment.pk is None:
        return _replay(environment.tenant, key, release, environment), False
    audit_record(
        actor=actor,
        action="deployment.rollback" if rollback_of else "deployment.create",
        obj=deployment,
        tenant=environment.tenant,
        changes={"release": [None, release.number], "reason": [None, reason]},
    )
    change.subject = deployment
    if verdict.needs_approval:
        change_request = gate().open(change, verdict)
        event_append(
            deployment,
            kind=EventKind.STATE,
            state=State.PENDING_APPROVAL,
            message=f"Waiting for approval (change request {change_request.pk})",
            data={"change_request": change_request.pk},
        )
        return deployment, True
    if verdict.break_glass or verdict.restorative:
        gate().open(change, verdict)
    event_append(
        deployment,
        kind=EventKind.STATE,
        state=State.QUEUED,
        message=reason or f"Release #{release.number} queued for {environment.name}",
    )
    _dispatch(deployment)
    return deployment, True


def _dispatch(deployment: Deployment) -> None:
    """The deployment waits for its tenant's turn (fairness.py); admitted at once when a slot is free."""
    admit_after_commit(deployment.tenant_id)


@transaction.atomic
def deployment_release(*, deployment: Deployment, reason: str, actor: Principal | None = None) -> Deployment:
    """Move a deployment that waited for approval into the queue and start its pipeline after commit;
    the approvals app calls this in the transaction that records the final approval."""
    row = deployment_transition(deployment=deployment, to_state=State.QUEUED, reason=reason, actor=actor)
    _dispatch(row)
    return row


def _insert(
    actor: Principal | None,
    release,
    environment,
    key,
    progress_deadline_seconds,
    reason,
    rollback_of,
    *,
    state: str,
    strategy: str,
    strategy_config: dict | None,
    past_freezes: bool,
) -> Deployment:
    """Insert the row; a racing request that won the same key yields an unsaved row, one that won the
    (application, environment) slot a refusal."""
    deployment = Deployment(
        tenant=environment.tenant,
        application=release.application,
        release=release,
        environment=environment,
        state=state,
        strategy=strategy or Deployment._meta.get_field("strategy").default,
        strategy_config=strategy_config or {},
        requested_by=actor.user if actor is not None and actor.is_authenticated else None,
        idempotency_key=key,
        reason=reason,
        rollback_of=rollback_of,
        past_freezes=past_freezes,
        attempts=1,
        progress_deadline_seconds=progress_deadline_seconds
        or Deployment._meta.get_field("progress_deadline_seconds").default,
    )
    try:
        with transaction.atomic():
            deployment.save()
    except IntegrityError:
        if key and Deployment.objects.filter(tenant=environment.tenant, idempotency_key=key).exists():
            return Deployment(tenant=environment.tenant)
        raise _in_progress(release.application, environment) from None
    return deployment
