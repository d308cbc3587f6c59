"""The events an endpoint may subscribe to, and how a subscription matches an event type."""

from apps.deployments.choices import State

DEPLOYMENT_EVENTS = [f"deployment.{state}" for state in State.values]
CHANGE_REQUEST_EVENTS = [
    f"change_request.{verdict}" for verdict in ("updated", "approved", "rejected", "expired", "cancelled")
]
KEY_EXPIRING = "apikey.expiring"
KEY_ROTATED = "apikey.rotated"
QUOTA_WARNING = "quota.warning"
INCIDENT_OPENED = "incident.opened"
INCIDENT_RESOLVED = "incident.resolved"
TEST_EVENT = "webhook.test"
# Add-ons (apps/marketplace): names and states only, never credentials.
ADDON_EVENTS = {
    "service_instance.ready": "An add-on instance was provisioned and is ready",
    "service_instance.failed": "An add-on instance failed to provision or to be removed",
    "service_instance.deprovisioned": "An add-on instance was removed with its data",
    "service_binding.created": "An application was bound to an add-on (its credentials stay in the cluster)",
    "service_binding.deleted": "An application was unbound from an add-on; its credentials were revoked",
    "service_binding.rotated": "An add-on binding's credentials were rotated (the old ones revoked after an overlap)",
}
# Routes (apps/traffic): hosts and paths, never certificates.
ROUTE_EVENTS = {
    "route.created": "A route was added (a host and path sent to an application)",
    "route.updated": "A route was changed",
    "route.deleted": "A route was removed",
    "route.maintenance": "A route was switched to or from maintenance, or its window scheduled",
    "route.degraded": "A route was switched to or from its static fallback",
}

# Every event type, with the words the pages show next to it.
EVENT_TYPES: dict[str, str] = {
    **{event: f"A deployment became {State(event.split('.', 1)[1]).label.lower()}" for event in DEPLOYMENT_EVENTS},
    "change_request.updated": "A change request moved to its next stage or was revised",
    "change_request.approved": "A change request was approved",
    "change_request.rejected": "A change request was rejected",
    "change_request.expired": "A change request expired undecided",
    "change_request.cancelled": "A change request was withdrawn or cancelled",
    KEY_EXPIRING: "An API key expires soon (14, 7 and 1 days ahead)",
    KEY_ROTATED: "An API key was rotated (by its owner or automatically)",
    QUOTA_WARNING: "API usage crossed a warning threshold or the quota",
    INCIDENT_OPENED: "A workload became unwell (crash loop, out of memory, pods not ready ...)",
    INCIDENT_RESOLVED: "A workload's incident resolved",
    **ADDON_EVENTS,
    **ROUTE_EVENTS,
}
GROUPS = {
    "deployment.*": "Every deployment state change",
    "change_request.*": "Every change-request decision",
    "incident.*": "Every incident opening and resolving",
    "service_instance.*": "Every add-on instance provisioned, failed or removed",
    "service_binding.*": "Every add-on bound, unbound or rotated",
    "route.*": "Every route added, changed, switched or removed",
    "*": "Every event",
}


def subscription_check(events: list) -> list[str]:
    """The subscriptions, de-duplicated and sorted; raises ValueError naming the first unknown one."""
    if not isinstance(events, list) or not all(isinstance(event, str) for event in events):
        raise ValueError("Give the events as a list of event types.")
    cleaned = sorted({event.strip() for event in events if event.strip()})
    for event in cleaned:
        if event not in EVENT_TYPES and event not in GROUPS:
            raise ValueError(f"“{event}” is not an event type; use one of {', '.join([*GROUPS, *EVENT_TYPES])}.")
    if not cleaned:
        raise ValueError("Subscribe to at least one event.")
    return cleaned


def matches(subscriptions: list[str], event: str) -> bool:
    """True when one subscription names the event or a group ending in ".*" (or "*") that contains it.
    The test event reaches every endpoint it is sent to."""
    if event == TEST_EVENT:
        return True
    for subscription in subscriptions:
        if subscription == "*" or subscription == event:
            return True
        if subscription.endswith(".*") and event.startswith(subscription[:-1]):
            return True
    return False
