"""Every write of the deployments app, by responsibility:

- state: the state machine and the event log (the only writer of DeploymentEvent rows)
- create: deploying a release (checks, idempotency, the approval gate, the pipeline's start)
- lifecycle: cancel (re-applying the release live before), rollback, and the automatic rollback after a failed rollout
- steps: the steps of canary and blue-green rollouts, continue and switch back
- operations: day-2 operations on what runs (scale, restart, pause, resume, promote, remove)
- deploy_settings: each environment's deploy settings
- gating: where these writes meet the approvals gate
- outage: a cluster outage a deployment (or a day-2 operation on it) waits out, recorded once when it
  begins and once when it ends

Other apps and the views import from here.
"""

from .create import (
    IDEMPOTENCY_KEY_REUSED,
    IN_PROGRESS,
    PRODUCTION_NEEDS_ADMIN,
    deployment_create,
    deployment_release,
    image_policy_check,
)
from .deploy_settings import deploy_settings_ensure, deploy_settings_for, deploy_settings_update
from .gating import restorative_change_record
from .heal import deployment_heal, desired_manifests, heals_since
from .lifecycle import (
    CANCELLING,
    FINISHED,
    NO_PREVIOUS_RELEASE,
    deployment_auto_rollback,
    deployment_cancel,
    deployment_degraded_rollback,
    deployment_fail,
    deployment_rollback,
)
from .operations import (
    ALREADY_PAUSED,
    AUTOSCALED,
    CLUSTER_REFUSED,
    MAX_REPLICAS,
    NOT_IN_PROGRESS,
    NOT_LIVE,
    NOT_PAUSED,
    NOT_RUNNING,
    NOT_SUCCEEDED,
    STRATEGY_NOT_PAUSABLE,
    Removal,
    application_remove,
    deployment_pause,
    deployment_promote,
    deployment_restart,
    deployment_resume,
    deployment_scale,
    operation_carry_out,
    operation_failed,
)
from .outage import cluster_down, outage_begin, outage_cause, outage_end, outage_open, outage_seconds
from .state import ILLEGAL_TRANSITION, deployment_note, deployment_observe, deployment_transition, event_payload
from .steps import NO_SWITCH_BACK, NOT_WAITING, deployment_continue, deployment_switch_back, strategy_deploy

__all__ = [
    "ALREADY_PAUSED",
    "AUTOSCALED",
    "CANCELLING",
    "CLUSTER_REFUSED",
    "FINISHED",
    "IDEMPOTENCY_KEY_REUSED",
    "ILLEGAL_TRANSITION",
    "IN_PROGRESS",
    "MAX_REPLICAS",
    "NOT_IN_PROGRESS",
    "NOT_LIVE",
    "NOT_PAUSED",
    "NOT_RUNNING",
    "NOT_SUCCEEDED",
    "NOT_WAITING",
    "NO_PREVIOUS_RELEASE",
    "NO_SWITCH_BACK",
    "PRODUCTION_NEEDS_ADMIN",
    "STRATEGY_NOT_PAUSABLE",
    "Removal",
    "application_remove",
    "cluster_down",
    "deploy_settings_ensure",
    "deploy_settings_for",
    "deployment_heal",
    "desired_manifests",
    "heals_since",
    "deploy_settings_update",
    "deployment_auto_rollback",
    "deployment_degraded_rollback",
    "deployment_cancel",
    "deployment_continue",
    "deployment_create",
    "image_policy_check",
    "deployment_fail",
    "deployment_note",
    "deployment_observe",
    "deployment_pause",
    "deployment_promote",
    "deployment_release",
    "deployment_restart",
    "deployment_resume",
    "deployment_rollback",
    "deployment_scale",
    "deployment_switch_back",
    "deployment_transition",
    "event_payload",
    "operation_carry_out",
    "operation_failed",
    "outage_begin",
    "outage_cause",
    "outage_end",
    "outage_open",
    "outage_seconds",
    "restorative_change_record",
    "strategy_deploy",
]
