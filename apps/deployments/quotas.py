"""What a release occupies (CPU, memory, pods) and what a tenant's deployments occupy now.

Registered with the tenants app as the usage counters of the cpu, memory and pods quotas. An
application's current footprint in an environment is that of its newest deployment there that
succeeded or is still active: rolling to a new release replaces the old one, and removing the
application from the environment frees it.
"""

import re
from decimal import Decimal

from apps.core.errors import ApplicationError
from apps.tenants.quotas import quota_check, register_usage

from .choices import ACTIVE, State, Strategy
from .models import Deployment
from .strategies.peaks import peak_of, pods_of

RESOURCES = ("cpu", "memory", "pods")
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {
    "": 1,
    "m": Decimal("0.001"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def parse_quantity(value: str, *, field: str = "") -> Decimal:
    """A Kubernetes quantity ("250m", "1.5", "256Mi") as a number of base units."""
    match = _QUANTITY.match((value or "").strip())
    if not match or match.group(2) not in _SUFFIX:
        raise ApplicationError(
            f"“{value}” is not a Kubernetes quantity such as 250m or 256Mi.", code="invalid", field=field or None
        )
    return Decimal(match.group(1)) * _SUFFIX[match.group(2)]


def footprint(release) -> dict[str, int]:
    """{cpu: millicores, memory: MiB, pods} the release requests at its largest."""
    pods = pods_of(release)
    cpu = parse_quantity(release.cpu_request or "0", field="cpu_request") * 1000
    memory = parse_quantity(release.memory_request or "0", field="memory_request") / 2**20
    return {
        "cpu": int(cpu.to_integral_value("ROUND_CEILING")) * pods,
        "memory": int(memory.to_integral_value("ROUND_CEILING")) * pods,
        "pods": pods,
    }


def current_releases(tenant, environment=None) -> dict:
    """(application id, environment id) -> the release that occupies the environment now."""
    rows = Deployment.objects.filter(tenant=tenant, state__in=(*ACTIVE, State.SUCCEEDED))
    if environment is not None:
        rows = rows.filter(environment=environment)
    newest = {}
    for row in rows.select_related("release__application").order_by("-id"):
        newest.setdefault((row.application_id, row.environment_id), row)
    # An application removed since its newest deployment occupies nothing until it is deployed again.
    return {place: row.release for place, row in newest.items() if row.removed_at is None}


def _counter(resource: str):
    def count(tenant, environment) -> int:
        return sum(footprint(release)[resource] for release in current_releases(tenant, environment).values())

    return count


def check_quotas(
    *, release, environment, strategy: str = Strategy.ROLLING, strategy_config: dict | None = None
) -> None:
    """Refuse, naming the quota, when replacing the app's current release with `release` would not fit,
    at the end of the rollout or at its peak (strategies/peaks.py: a rolling update's surge, both
    blue-green colours at full size, the canary beside the stable pods). A namespace's ResourceQuota
    refuses the extra pods there, and the rollout would only time out, much later."""
    now = current_releases(environment.tenant, environment).get((release.application_id, environment.pk))
    old = footprint(now) if now else dict.fromkeys(RESOURCES, 0)
    _check_growth(footprint(release), old, environment)
    peak = peak_of(strategy, release, strategy_config or {}, now)
    if not peak.how:
        return
    try:
        _check_growth(footprint_at(release, peak.pods), old, environment)
    except ApplicationError as refusal:
        raise ApplicationError(
            f"Release #{release.number} cannot roll out: {peak.how}, and "
            f"{refusal.message[0].lower()}{refusal.message[1:]}",
            code=refusal.code,
            status=refusal.status,
        ) from None


def footprint_at(release, pods: int) -> dict[str, int]:
    """The release's footprint with `pods` pods running."""
    per_pod = footprint(release)
    count = max(per_pod["pods"], 1)
    return {"cpu": per_pod["cpu"] // count * pods, "memory": per_pod["memory"] // count * pods, "pods": pods}


def _check_growth(new: dict, old: dict, environment) -> None:
    for resource in RESOURCES:
        if new[resource] > old[resource]:
            quota_check(
                tenant=environment.tenant,
                resource=resource,
                environment=environment,
                adding=new[resource] - old[resource],
            )


for _resource in RESOURCES:
    register_usage(_resource, _counter(_resource))
