"""Reads of webhook endpoints and deliveries for the pages, through the restricted querysets."""

from django.db.models import Count, QuerySet

from .models import WebhookDelivery, WebhookEndpoint


def endpoints_for(principal, tenant):
    return (
        WebhookEndpoint.objects.restrict(principal, "view")
        .filter(tenant=tenant)
        .select_related("tenant", "created_by")
        .order_by("-id")
    )


def deliveries_for(principal, tenant):
    return (
        WebhookDelivery.objects.restrict(principal, "view")
        .filter(tenant=tenant)
        .select_related("tenant", "endpoint")
        .order_by("-id")
    )


def endpoints_of_every_tenant() -> QuerySet[WebhookEndpoint]:
    """Every tenant's endpoints, newest first, for the operator API (its permission decided who asks)."""
    return WebhookEndpoint.objects.select_related("tenant", "created_by").order_by("-id")


def delivery_state_counts(endpoint_ids: list[int]) -> dict[int, dict[str, int]]:
    """endpoint id -> {state: number of deliveries}, in one query."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in endpoint_ids}
    rows = (
        WebhookDelivery.objects.filter(endpoint_id__in=endpoint_ids)
        .values("endpoint_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["endpoint_id"]][row["state"]] = row["n"]
    return counts
