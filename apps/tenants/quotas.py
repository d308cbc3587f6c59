"""Quota usage and enforcement.

Each resource's usage is counted by the app that owns it, registered here with `register_usage`, so
the tenants app does not import the apps above it. A resource nobody counts yet has no usage.
"""

from collections.abc import Callable
from dataclasses import dataclass

from apps.core.errors import ApplicationError

from .models import Environment, Quota, Tenant

UsageCounter = Callable[[Tenant, Environment | None], int]
_COUNTERS: dict[str, UsageCounter] = {}

QUOTA_EXCEEDED = "quota_exceeded"


def register_usage(resource: str, counter: UsageCounter) -> None:
    _COUNTERS[resource] = counter


def usage_of(resource: str, tenant: Tenant, environment: Environment | None = None) -> int | None:
    counter = _COUNTERS.get(resource)
    return counter(tenant, environment) if counter else None


@dataclass
class QuotaUsage:
    quota: Quota
    used: int | None

    @property
    def remaining(self) -> int | None:
        return None if self.used is None else max(self.quota.limit - self.used, 0)

    @property
    def percent(self) -> int:
        if not self.used or not self.quota.limit:
            return 0 if not self.used else 100
        return min(100, round(100 * self.used / self.quota.limit))


def usage_report(tenant: Tenant) -> list[QuotaUsage]:
    quotas = Quota.objects.filter(tenant=tenant).select_related("environment", "tenant")
    return [QuotaUsage(q, usage_of(q.resource, tenant, q.environment)) for q in quotas]


def quota_check(*, tenant: Tenant, resource: str, environment: Environment | None = None, adding: int = 1) -> None:
    """Refuse, naming the quota, when adding `adding` units would pass the tenant's or environment's limit."""
    quotas = Quota.objects.filter(tenant=tenant, resource=resource, environment__isnull=True)
    if environment is not None:
        quotas = quotas | Quota.objects.filter(tenant=tenant, resource=resource, environment=environment)
    for quota in quotas.select_related("environment"):
        used = usage_of(resource, tenant, quota.environment) or 0
        if used + adding > quota.limit:
            where = (
                f"environment {quota.environment.name}" if quota.environment is not None else f"tenant {tenant.slug}"
            )
            raise ApplicationError(
                f"The {quota.get_resource_display()} quota of {where} is {quota.limit}; "
                f"{used} in use, so {adding} more would exceed it.",
                code=QUOTA_EXCEEDED,
                status=409,
            )
