"""Reads of builds for pages and the API."""

from apps.catalog.models import Application, Release
from apps.workloads.models import Workload

from . import engine
from .models import Build, BuildLogLine

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
