"""Each environment's deploy settings: whether a failed rollout rolls back automatically, what happens
when the cluster drifts from the live release (self-heal), whether, where approval is needed, a heal
may go ahead without it, whether the platform restarts pods that crash-loop or stay unready, and
whether only digest-pinned images may be deployed there."""

from __future__ import annotations

from django.db import transaction

from apps.core.audit import audit_record
from apps.core.errors import INVALID, ApplicationError, require
from apps.core.governance import Change
from apps.core.policies import policy_for
from apps.tenants.models import Environment
from apps.tenants.principals import Principal

from ..models import DeploySettings
from .gating import change_gated, is_waiting


def deploy_settings_for(environment) -> DeploySettings:
    """The environment's settings, made on first use: automatic rollback on in production only."""
    settings, _ = DeploySettings.objects.get_or_create(
        environment=environment,
        defaults={"tenant_id": environment.tenant_id, "auto_rollback": environment.is_production},
    )
    return settings


def deploy_settings_ensure(*, principal: Principal) -> None:
    """Make the settings of every environment the principal sees that has none yet, so a list shows
    every environment; a concurrent request making the same row is harmless."""
    missing = Environment.objects.restrict(principal, "view").filter(deploy_settings__isnull=True)
    DeploySettings.objects.bulk_create(
        [
            DeploySettings(tenant_id=env.tenant_id, environment=env, auto_rollback=env.is_production)
            for env in missing.only("id", "tenant_id", "kind")
        ],
        ignore_conflicts=True,
    )


def deploy_settings_update(
    *,
    actor: Principal,
    settings: DeploySettings,
    auto_rollback: bool | None = None,
    self_heal: str | None = None,
    heal_skips_approval: bool | None = None,
    restart_on_incident: bool | None = None,
    require_digest: bool | None = None,
    justification: str = "",
    break_glass_reason: str = "",
    approved: bool = False,
) -> DeploySettings:
    """Change how an environment handles failed rollouts and drift; admins and owners only. Letting heals
    skip approval is a governed change itself (it takes approvers out of every later heal). A setting
    left None keeps its value. In a governed environment the change waits for approval like any other
    (turning automatic rollback off changes what happens to production's next failure): `change_request`
    is set and nothing changes yet."""
    require(policy_for(DeploySettings).can_change(actor, settings), tenant=settings.tenant)
    wanted = {
        "auto_rollback": settings.auto_rollback if auto_rollback is None else bool(auto_rollback),
        "self_heal": settings.self_heal if self_heal is None else self_heal,
        "heal_skips_approval": (
            settings.heal_skips_approval if heal_skips_approval is None else bool(heal_skips_approval)
        ),
        "restart_on_incident": (
            settings.restart_on_incident if restart_on_incident is None else bool(restart_on_incident)
        ),
        "require_digest": settings.require_digest if require_digest is None else bool(require_digest),
    }
    if wanted["self_heal"] not in DeploySettings.SelfHeal.values:
        raise ApplicationError(
            f"Self-heal is one of {', '.join(DeploySettings.SelfHeal.values)}.", code=INVALID, field="self_heal"
        )
    before = {name: getattr(settings, name) for name in wanted}
    changed = {name: value for name, value in wanted.items() if value != before[name]}
    if changed and not approved:
        settings.change_request = change_gated(
            Change(
                kind="settings",
                tenant=settings.tenant,
                actor=actor,
                environment=settings.environment,
                params=changed,
                justification=justification,
                break_glass_reason=break_glass_reason,
                title=_title(changed, settings.environment.name),
            )
        )
        if is_waiting(settings):
            return settings
    if not changed:  # nothing to record: an audit row saying "no change" only buries the ones that matter
        return settings
    with transaction.atomic():
        for name, value in wanted.items():
            setattr(settings, name, value)
        settings.save(update_fields=[*wanted, "updated_at"])
        audit_record(
            actor=actor,
            action="deploy_settings.update",
            obj=settings,
            tenant=settings.tenant,
            changes={name: [before[name], value] for name, value in changed.items()},
        )
    return settings


def _title(changed: dict, environment: str) -> str:
    """ "Turn automatic rollback off in prod", "Set self-heal to heal in prod", "Let self-heal go ahead
    without approval in prod", or several joined."""
    words = []
    if "auto_rollback" in changed:
        words.append(f"Turn automatic rollback {'on' if changed['auto_rollback'] else 'off'}")
    if "self_heal" in changed:
        words.append(f"{'set' if words else 'Set'} self-heal to {changed['self_heal']}")
    if "heal_skips_approval" in changed:
        how = "without approval" if changed["heal_skips_approval"] else "only once approved"
        words.append(f"{'let' if words else 'Let'} self-heal go ahead {how}")
    if "restart_on_incident" in changed:
        how = "restart" if changed["restart_on_incident"] else "stop restarting"
        words.append(f"{how if words else how.capitalize()} unwell pods automatically")
    if "require_digest" in changed:
        rule = "require" if changed["require_digest"] else "stop requiring"
        words.append(f"{rule if words else rule.capitalize()} digest-pinned images")
    return f"{' and '.join(words)} in {environment}"
