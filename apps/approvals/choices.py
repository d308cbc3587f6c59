"""States of a change request, verdicts of a decision, and the kinds of change that are governed."""

from django.db import models


class RequestState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


OPEN = (RequestState.PENDING,)
CLOSED = (RequestState.APPROVED, RequestState.REJECTED, RequestState.EXPIRED, RequestState.CANCELLED)


class ChangeKind(models.TextChoices):
    DEPLOY = "deploy", "Deploy"
    SCALE = "scale", "Scale"
    QUOTA = "quota", "Quota increase"
    REVIEW = "review", "Post-hoc review"
    # Day-2 operations on what runs in an environment (apps/deployments/services/operations.py).
    RESTART = "restart", "Restart"
    REMOVE = "remove", "Remove"
    SETTINGS = "settings", "Deploy settings"
    RESUME = "resume", "Resume"
    CONTINUE = "continue", "Canary step"
    HEAL = "heal", "Self-heal"
    # Restorative operations: made at once, recorded for a post-hoc review.
    CANCEL = "cancel", "Cancel"
    PAUSE = "pause", "Pause"
    SWITCH_BACK = "switch_back", "Switch back"
    # An add-on instance (apps/marketplace) whose plan, or environment, needs approval.
    ADDON = "addon", "Add-on"
    # A route (apps/traffic): made, changed or removed in a governed environment.
    ROUTE = "route", "Route"


# Approved changes that are not deploys: carried out by a task after the approval commits.
CARRIED_OUT_LATER = (
    ChangeKind.SCALE,
    ChangeKind.RESTART,
    ChangeKind.REMOVE,
    ChangeKind.SETTINGS,
    ChangeKind.ADDON,
    ChangeKind.HEAL,
    ChangeKind.ROUTE,
)


class Verdict(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class Recurrence(models.TextChoices):
    ONCE = "once", "Once"
    WEEKLY = "weekly", "Every week"


# Roles that can be named as approvers: a viewer can never deploy, so could never approve.
APPROVER_ROLES = ("developer", "admin", "owner")
