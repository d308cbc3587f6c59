"""Reads of the catalog that pages and the API share."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, OuterRef, Subquery

from apps.core.numbers import as_id, digits

from .models import Application, ImageRule, Release, ServiceTemplate
from .policies import template_policy


def applications_for(principal, **filters):
    """The applications the principal may see, with their latest release's number and image."""
    latest = Release.objects.filter(application=OuterRef("pk")).order_by("-number")
    return (
        Application.objects.restrict(principal, "view")
        .filter(**filters)
        .select_related("tenant", "owner", "template")
        .annotate(latest_number=Max("releases__number"), latest_image=Subquery(latest.values("image")[:1]))
    )


def applications_named(principal, value: str, *, tenant_slug: str | None = None) -> list[Application]:
    """The applications the principal may see that `value` names: by id when it is digits, else by name
    (in the tenant `tenant_slug` when given), two at most: enough to tell that a name is ambiguous."""
    rows = Application.objects.restrict(principal, "view")
    if digits(value):
        return list(rows.filter(pk=pk)) if (pk := as_id(value)) else []
    return list((rows.filter(tenant__slug=tenant_slug) if tenant_slug else rows).filter(name=value)[:2])


def newest_release_of(tenant) -> tuple[str, int] | None:
    """The application and number of the tenant's newest release: what the console's quick-start deploys."""
    newest = Release.objects.filter(tenant=tenant).order_by("-created_at", "-pk").select_related("application").first()
    return (newest.application.name, newest.number) if newest else None


def releases_of(principal, application: Application):
    """The application's releases the principal may see, newest first."""
    return (
        Release.objects.restrict(principal, "view")
        .filter(application=application)
        .select_related("created_by")
        .order_by("-number")
    )


def templates_visible_to(principal):
    return template_policy.scope(ServiceTemplate.objects.all(), principal, "view")


def templates_current(principal) -> list[ServiceTemplate]:
    """The newest active version of each template, by name: what a new application starts from."""
    newest = templates_visible_to(principal).filter(is_active=True).order_by("slug", "-version").distinct("slug")
    return sorted(newest, key=lambda template: template.name.lower())


def tenant_members(tenant):
    """Users who may own an application of the tenant: its members."""
    return get_user_model().objects.filter(memberships__tenant=tenant).order_by("email")


def member_by_email(tenant, email: str):
    """The member with this email address, or None; a non-member reads the same as an unknown address."""
    return tenant_members(tenant).filter(email__iexact=(email or "").strip()).first()


def template_list_with_usage():
    """Every version of every service template, newest version first within a slug, with how many
    applications use it; for the operator console."""
    return ServiceTemplate.objects.annotate(application_count=Count("applications")).order_by("slug", "-version")


def image_rules():
    """The operators' entries of the image allow-list (the IMAGE_ALLOWLIST setting's are in settings)."""
    return ImageRule.objects.select_related("created_by").order_by("pattern")
