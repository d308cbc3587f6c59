"""Reads of builds for pages and the API."""

from django.conf import settings
from django.db.models import Count, Min, Q

from apps.catalog.models import Application, Release
from apps.tenants.backlog import Backlog
from apps.workloads.models import Workload

from . import engine
from .models import ACTIVE, Build, BuildLogLine, State

LOG_PAGE_MAX = 1000


def builds_of(principal, application, limit: int = 50):
    """The application's newest builds the principal may see."""
    rows = Build.objects.restrict(principal, "view").filter(application=application)
    return rows.select_related("requested_by", "release").order_by("-id")[:limit]


def build_of(principal, *, tenant, pk: int) -> Build | None:
    """One of the tenant's builds, if the principal may see it, ready for its page."""
    rows = Build.objects.restrict(principal, "view").filter(tenant=tenant, pk=pk)
    return rows.select_related("application", "release", "requested_by").first()


def log_after(build: Build, after_seq: int = 0, limit: int = LOG_PAGE_MAX):
    """Log lines of a build after `after_seq`, in seq order: what a page asks for after a reconnect."""
    return BuildLogLine.objects.filter(build=build, seq__gt=after_seq).order_by("seq")[:limit]


def images_for(principal, *, tenant=None, application: str = "") -> list[dict]:
    """The registry repositories of the applications the principal may see (one tenant's, or one
    application's): each tag with its digest and size, and the releases and workloads that use it."""
    applications = (
        Application.objects.restrict(principal, "view").select_related("tenant").order_by("tenant__slug", "name")
    )
    if tenant is not None:
        applications = applications.filter(tenant=tenant)
    if application:
        applications = applications.filter(name=application)
    images = []
    for app in applications:
        name = f"{app.tenant.slug}/{app.name}"
        tags = []
        for tag in engine.repository_tags(name):
            digest, size = engine.manifest_summary(name, tag)
            tags.append({"tag": tag, "digest": digest, "size": size, **_users(principal, app, digest)})
        if tags:
            images.append(
                {
                    "tenant": app.tenant.slug,
                    "application": app.name,
                    "repository": f"{engine.registry_host()}/{name}",
                    "tags": tags,
                }
            )
    return images


def _users(principal, app: Application, digest: str) -> dict:
    releases = Release.objects.restrict(principal, "view").filter(application=app, image_digest=digest)
    workloads = Workload.objects.restrict(principal, "view").filter(application=app, image__endswith=digest)
    return {
        "releases": sorted(releases.values_list("number", flat=True)),
        "workloads": sorted(workloads.values_list("environment__name", flat=True)),
    }


def build_backlogs(tenant_ids) -> dict[int, Backlog]:
    """tenant id -> its builds' limit, running and waiting (queued); None: every tenant with any. The
    tenants app lists them beside the deployments' (apps/tenants/backlog.py)."""
    rows = Build.objects.filter(state__in=ACTIVE)
    if tenant_ids is not None:
        tenant_ids = list(tenant_ids)
        rows = rows.filter(tenant_id__in=tenant_ids)
    counts = {
        row["tenant_id"]: row
        for row in rows.values("tenant_id").annotate(
            running=Count("id", filter=Q(state__in=(State.RUNNING, State.PUSHING))),
            waiting=Count("id", filter=Q(state=State.QUEUED)),
            since=Min("created_at", filter=Q(state=State.QUEUED)),
        )
    }
    empty: dict = {"running": 0, "waiting": 0, "since": None}
    return {
        tenant_id: Backlog(
            kind="builds",
            limit=settings.BUILD_CONCURRENCY_PER_TENANT,
            running=counts.get(tenant_id, empty)["running"],
            waiting=counts.get(tenant_id, empty)["waiting"],
            waiting_since=counts.get(tenant_id, empty)["since"],
        )
        for tenant_id in (tenant_ids if tenant_ids is not None else counts)
    }
