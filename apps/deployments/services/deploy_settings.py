"""Each environment's deploy settings: whether a failed rollout rolls back automatically."""

from __future__ import annotations

from django.db import transaction

from apps.core.audit import audit_record
from apps.core.errors import require
from apps.core.governance import Change
from apps.core.policies import policy_for
from apps.tenants.models import Environment

from ..models import DeploySettings
from .gating import change_gated, is_waiting


def deploy_settings_for(environment) -> DeploySettings:
    """The environment's settings, made on first use: automatic rollback on in production only."""
    settings, _ = DeploySettings.objects.get_or_create(
        environment=environment,
        defaults={"tenant_id": environment.tenant_id, "auto_rollback": environment.is_production},
    )
    return settings


def deploy_settings_ensure(*, principal) -> None:
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
    actor,
    settings: DeploySettings,
    auto_rollback: bool,
    justification: str = "",
    break_glass_reason: str = "",
    approved: bool = False,
) -> DeploySettings:
    """Change how failed rollouts are handled in an environment; admins and owners only. In a governed
    environment the change waits for approval like any other (turning automatic rollback off changes
    what happens to production's next failure): `change_request` is set and nothing changes yet."""
    require(policy_for(DeploySettings).can_change(actor, settings), tenant=settings.tenant)
    auto_rollback = bool(auto_rollback)
    if auto_rollback != settings.auto_rollback and not approved:
        state = "on" if auto_rollback else "off"
        settings.change_request = change_gated(
            Change(
                kind="settings",
                tenant=settings.tenant,
                actor=actor,
                environment=settings.environment,
                params={"auto_rollback": auto_rollback},
                justification=justification,
                break_glass_reason=break_glass_reason,
                title=f"Turn automatic rollback {state} in {settings.environment.name}",
            )
        )
        if is_waiting(settings):
            return settings
    with transaction.atomic():
        before = settings.auto_rollback
        settings.auto_rollback = auto_rollback
        settings.save(update_fields=["auto_rollback", "updated_at"])
        audit_record(
            actor=actor,
            action="deploy_settings.update",
            obj=settings,
            tenant=settings.tenant,
            changes={"auto_rollback": [before, settings.auto_rollback]},
        )
    return settings
