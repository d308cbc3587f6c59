"""Reads of builds for pages and the API."""

from .models import Build, BuildLogLine

LOG_PAGE_MAX = 1000


def builds_of(principal, application, limit: int = 50):
    """The application's newest builds the principal may see."""
    rows = Build.objects.restrict(principal, "view").filter(application=application)
    return rows.select_related("requested_by", "release").order_by("-id")[:limit]


def log_after(build: Build, after_seq: int = 0, limit: int = LOG_PAGE_MAX):
    """Log lines of a build after `after_seq`, in seq order: what a page asks for after a reconnect."""
    return BuildLogLine.objects.filter(build=build, seq__gt=after_seq).order_by("seq")[:limit]
