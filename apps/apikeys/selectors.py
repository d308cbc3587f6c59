"""Reads for the usage page, the API and the CSV export: the plan in force, today's and this month's
consumption, and usage summed per day and per key and endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpResponse
from django.utils import timezone

from apps.core.csvfiles import write_csv
from apps.tenants.models import Tenant
from apps.tenants.policies import REFERENCE
from apps.tenants.principals import Principal

from . import ratelimit
from .models import LATENCY_BUCKETS_MS, APIKey, Plan, TenantPlan, UsageDaily, percentile_from_buckets

EXPORT_LIMIT = 100_000
CSV_COLUMNS = [
    "day",
    "tenant",
    "key",
    "key_name",
    "endpoint",
    "requests",
    "errors_4xx",
    "errors_5xx",
    "throttled",
    "latency_ms_avg",
    "latency_ms_p95",
]


def apikey_list_for(principal: Principal, *, tenant: Tenant) -> QuerySet:
    """The tenant's keys the principal may see (members their own, owners and admins everyone's), each
    with how many successors rotation gave it."""
    return (
        APIKey.objects.restrict(principal, "view")
        .filter(tenant=tenant)
        .select_related("user", "tenant")
        .annotate(successor_count=Count("successors"))
    )


def usage_list_for(principal: Principal, *, tenant: Tenant) -> QuerySet[UsageDaily]:
    """The tenant's daily usage rows of the keys the principal may see."""
    return UsageDaily.objects.restrict(principal, "view").filter(tenant=tenant)


def usage_per_key(principal: Principal, keys: list[APIKey]) -> dict[int, tuple[int, int]]:
    """{key id: (requests today, requests this month)} in UTC, from the daily rollups, in one query."""
    today = today_utc()
    rows = (
        UsageDaily.objects.restrict(principal, "view")
        .filter(api_key__in=[key.pk for key in keys], day__gte=today.replace(day=1))
        .values("api_key_id")
        .annotate(today=Sum("requests", filter=Q(day=today)), month=Sum("requests"))
        .order_by()
    )
    return {row["api_key_id"]: (row["today"] or 0, row["month"] or 0) for row in rows}


def plan_tenants_for(principal: Principal, *, slug: str | None) -> list[Tenant]:
    """The tenants whose plan the principal may ask about: a key's own tenant, narrowed to `slug` when given.
    At most two, which is enough to tell "one" from "several"."""
    tenants = Tenant.objects.restrict(principal, REFERENCE)
    if principal.api_key is not None:
        tenants = tenants.filter(pk=principal.api_key.tenant_id)
    if slug:
        tenants = tenants.filter(slug=slug)
    return list(tenants[:2])


@dataclass
class Consumption:
    used: int | None  # None: the counters could not be read
    quota: int | None  # None: unlimited

    @property
    def remaining(self) -> int | None:
        return None if self.used is None or self.quota is None else max(0, self.quota - self.used)

    @property
    def percent(self) -> int:
        if not self.used or not self.quota:
            return 0
        return min(100, round(100 * self.used / self.quota))


@dataclass
class PlanSummary:
    tenant: object
    limits: ratelimit.Limits
    assigned: bool  # False: the tenant is on the default plan
    today: Consumption
    month: Consumption


def plan_summary(tenant) -> PlanSummary:
    limits = ratelimit.limits_for(tenant.pk)
    counted = ratelimit.consumption(tenant.pk)
    day_used, month_used = counted if counted is not None else (None, None)
    return PlanSummary(
        tenant=tenant,
        limits=limits,
        assigned=TenantPlan.objects.filter(tenant=tenant).exists(),
        today=Consumption(day_used, limits.daily_quota),
        month=Consumption(month_used, limits.monthly_quota),
    )


def plan_in_force(tenant) -> Plan | None:
    return ratelimit.plan_of(tenant.pk)


def _summed(rows, group: str) -> list[dict]:
    totals = (
        rows.values(group)
        .annotate(
            requests=Sum("requests"),
            errors_4xx=Sum("errors_4xx"),
            errors_5xx=Sum("errors_5xx"),
            throttled=Sum("throttled"),
            latency_ms_sum=Sum("latency_ms_sum"),
        )
        .order_by(group)
    )
    return list(totals)


def _with_latency(item: dict, buckets: list[int]) -> dict:
    requests = item["requests"] or 0
    item["errors"] = (item["errors_4xx"] or 0) + (item["errors_5xx"] or 0)
    item["latency_ms_avg"] = round(item["latency_ms_sum"] / requests, 1) if requests else None
    item["latency_ms_p95"] = percentile_from_buckets(buckets, 0.95)
    return item


def _buckets_by(rows, group: str) -> dict:
    """Histograms summed per group in Python: the rows are already aggregated, one per key, endpoint and day."""
    found: dict = {}
    for value, buckets in rows.values_list(group, "latency_buckets"):
        total = found.setdefault(value, [0] * (len(LATENCY_BUCKETS_MS) + 1))
        for i, count in enumerate(buckets):
            total[i] += count
    return found


def usage_by_day(rows) -> list[dict]:
    """[{day, requests, errors, latency_ms_avg, latency_ms_p95, ...}] oldest first, for the chart."""
    buckets = _buckets_by(rows, "day")
    return [_with_latency(item, buckets.get(item["day"], [])) for item in _summed(rows, "day")]


def usage_by_key_and_endpoint(rows) -> list[dict]:
    """Totals per key and endpoint over the rows, busiest first."""
    totals = (
        rows.values("api_key_id", "api_key__name", "api_key__lookup", "endpoint")
        .annotate(
            requests=Sum("requests"),
            errors_4xx=Sum("errors_4xx"),
            errors_5xx=Sum("errors_5xx"),
            throttled=Sum("throttled"),
            latency_ms_sum=Sum("latency_ms_sum"),
        )
        .order_by("-requests", "endpoint")
    )
    histograms: dict = {}
    for key_id, endpoint, buckets in rows.values_list("api_key_id", "endpoint", "latency_buckets"):
        total = histograms.setdefault((key_id, endpoint), [0] * (len(LATENCY_BUCKETS_MS) + 1))
        for i, count in enumerate(buckets):
            total[i] += count
    return [_with_latency(item, histograms.get((item["api_key_id"], item["endpoint"]), [])) for item in totals]


def usage_csv_response(rows, *, name: str) -> HttpResponse:
    """The rows (newest day first, at most EXPORT_LIMIT) as a CSV download.

    Not streamed: under ASGI Django would buffer a synchronous stream anyway, and the rows are aggregates."""
    rows = rows.select_related("tenant", "api_key").order_by("-day", "endpoint", "api_key_id")[:EXPORT_LIMIT]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y%m%d-%H%M}.csv"'
    write_csv(
        response,
        CSV_COLUMNS,
        (
            (  # key names are user-chosen: the writer defuses formulas
                row.day.isoformat(),
                row.tenant.slug,
                row.api_key.prefix,
                row.api_key.name,
                row.endpoint,
                row.requests,
                row.errors_4xx,
                row.errors_5xx,
                row.throttled,
                row.latency_ms_avg,
                row.latency_ms_p95,
            )
            for row in rows.iterator(chunk_size=2000)
        ),
    )
    return response


def today_utc():
    return datetime.now(UTC).date()


def plans_with_tenant_counts() -> QuerySet[Plan]:
    """Every rate-limit plan by name, with the number of tenants assigned to it explicitly."""
    return Plan.objects.annotate(tenant_count=Count("assignments")).order_by("name")


def plan_assignment_of(tenant: Tenant) -> TenantPlan | None:
    """The tenant's own plan assignment; None when it follows the default plan."""
    return TenantPlan.objects.filter(tenant=tenant).first()
