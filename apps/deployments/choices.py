"""States of a deployment, the legal moves between them, and the kinds of events it records."""

from django.db import models


class State(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    QUEUED = "queued", "Queued"
    APPLYING = "applying", "Applying"
    PROGRESSING = "progressing", "Progressing"
    CANCELLING = "cancelling", "Cancelling"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE = (State.PENDING_APPROVAL, State.QUEUED, State.APPLYING, State.PROGRESSING, State.CANCELLING)
TERMINAL = (State.SUCCEEDED, State.FAILED, State.ROLLED_BACK, State.CANCELLED)
# The states in which the pipeline looks at the cluster until the rollout (or the restore) is done.
OBSERVED = (State.PROGRESSING, State.CANCELLING)

# Where each active state may go next. Terminal states go nowhere. Nothing reached the cluster before
# applying, so a cancel there is immediate; from applying on, a cancel brings the release that was live
# before back (cancelling), and the row is cancelled only once the cluster is seen running it again.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    State.PENDING_APPROVAL: (State.QUEUED, State.CANCELLED),
    State.QUEUED: (State.APPLYING, State.FAILED, State.CANCELLED),
    State.APPLYING: (State.PROGRESSING, State.FAILED, State.ROLLED_BACK, State.CANCELLING),
    State.PROGRESSING: (State.SUCCEEDED, State.FAILED, State.ROLLED_BACK, State.CANCELLING),
    State.CANCELLING: (State.CANCELLED, State.FAILED),
}

# The steps the deployment page draws, in order.
STEPS = (State.QUEUED, State.APPLYING, State.PROGRESSING, State.SUCCEEDED)


class Strategy(models.TextChoices):
    ROLLING = "rolling", "Rolling update"
    CANARY = "canary", "Canary"
    BLUE_GREEN = "blue_green", "Blue-green"


class EventKind(models.TextChoices):
    STATE = "state", "State change"
    POD = "pod", "Pod"
    ROLLOUT = "rollout", "Rollout"
    LOG = "log", "Pipeline log"
    STEP = "step", "Strategy step"
