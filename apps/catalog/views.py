"""Catalog pages under /t/<tenant_slug>/apps/: the applications, one application with its releases
and their differences, cutting a release. Views parse input, call one service or selector, and render.
The operators' service-template pages live in apps/operator/service_templates.py."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods, require_safe

from apps.core.errors import ApplicationError
from apps.core.numbers import as_id
from apps.core.paging import newest_first
from apps.core.policies import policy_for
from apps.tenants.pages import render_tenant_page, tenant_view
from apps.tenants.principals import as_principal

from . import services
from .filtersets import ApplicationListFilterSet
from .forms import ApplicationEditForm, ApplicationForm, CompareForm, ReleaseForm
from .models import Application, Release
from .selectors import applications_for, releases_of, templates_current, templates_visible_to


def _status(request) -> int:
    """A page rendered in answer to a POST shows a refusal: 400."""
    return 400 if request.method == "POST" else 200


def _application(request, name: str) -> Application:
    return get_object_or_404(applications_for(request, tenant=request.tenant), name=name)


def _to_application(application: Application):
    return redirect("catalog:detail", tenant_slug=application.tenant.slug, name=application.name)


# --- Applications ------------------------------------------------------------------------------


@tenant_view
def application_list(request):
    """The applications, filtered by the GET parameters, each with where it runs now."""
    rows = applications_for(request, tenant=request.tenant).order_by("name")
    filters = ApplicationListFilterSet(request.GET or None, queryset=rows, tenant=request.tenant)
    context = {"filters": filters, "applications": filters.qs}
    return render_tenant_page(request, "catalog/list.html", context, section="apps")


@tenant_view
def application_new(request):
    """From scratch, or (with ?template=<id>) from a template whose parameters become the form."""
    template = None
    if pk := as_id(request.GET.get("template")):
        template = get_object_or_404(templates_visible_to(request).filter(is_active=True), pk=pk)
    form = ApplicationForm(request.POST or None, tenant=request.tenant, template=template)
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_create(
                actor=as_principal(request), tenant=request.tenant, **form.service_arguments()
            )
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"{application.name} is registered.")
            return _to_application(application)
    context = {
        "form": form,
        "template": template,
        "refused": form,
        "templates": templates_current(request) if template is None else [],
    }
    return render_tenant_page(request, "catalog/new.html", context, section="apps", status=_status(request))


@tenant_view
def application_edit(request, name):
    application = _application(request, name)
    initial = {
        "description": application.description,
        "team": application.team,
        "owner": application.owner,
        "repository_url": application.repository_url,
        "keep_image_tags": application.keep_image_tags,
    }
    form = ApplicationEditForm(request.POST or None, tenant=request.tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.application_update(actor=as_principal(request), application=application, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"{application.name} saved.")
            return _to_application(application)
    context = {
        "application": application,
        "form": form,
        "refused": form,
        "may_edit": policy_for(Application).can(request, "change", application),
    }
    return render_tenant_page(request, "catalog/edit.html", context, section="apps", status=_status(request))


# The application page shows its newest releases; its releases page pages back through all of them.
RELEASES_SHOWN = 20
RELEASES_PAGE = 50


@tenant_view
def application_detail(request, name):
    return _detail_page(request, _application(request, name))


def _detail_page(request, application, release_form=None):
    """The application page: details, the newest releases, the comparison, the next release's form
    (prefilled from the newest release, or the one refused)."""
    releases = releases_of(request, application)
    shown = list(releases[:RELEASES_SHOWN])
    count = releases.count() if len(shown) == RELEASES_SHOWN else len(shown)
    if release_form is None:
        initial = ReleaseForm.initial_from(shown[0]) if shown else dict(ReleaseForm.FIRST_RELEASE)
        release_form = ReleaseForm(initial=initial, kind=application.component_kind)
    compare, changes = _comparison(request, releases, shown)
    context = {
        "application": application,
        "releases": shown,
        "release_count": count,
        "release_form": release_form,
        "next_number": (shown[0].number if shown else 0) + 1,
        "compare": compare,
        "changes": changes,
        "may_release": policy_for(Release).can_add(request, request.tenant),
        "may_edit": policy_for(Application).can(request, "change", application),
    }
    return render_tenant_page(request, "catalog/detail.html", context, section="apps", status=_status(request))


def _comparison(request, releases, newest):
    """The compare form (the two newest releases by default) and, when it names two releases that
    exist, the changes between them."""
    if "before" not in request.GET:
        initial = {"before": newest[1].number, "after": newest[0].number} if len(newest) > 1 else None
        return CompareForm(initial=initial), None
    compare = CompareForm(request.GET)
    if not compare.is_valid():
        return compare, None
    wanted = (compare.cleaned_data["before"], compare.cleaned_data["after"])
    by_number = {release.number: release for release in releases.filter(number__in=wanted)}
    for field, number in zip(("before", "after"), wanted, strict=True):
        if number not in by_number:
            compare.add_error(field, f"There is no release #{number}.")
    if compare.errors:
        return compare, None
    return compare, services.release_diff(by_number[wanted[0]], by_number[wanted[1]])


@tenant_view
@require_http_methods(["GET", "HEAD", "POST"])
def releases(request, name):
    """GET: every release of the application, newest first, a page at a time. POST: cut the next one."""
    if request.method == "POST":
        return _release_new(request, name)
    application = _application(request, name)
    every = releases_of(request, application)
    page = newest_first(every, before=request.GET.get("before"), size=RELEASES_PAGE)
    context = {
        "application": application,
        "page": page,
        "latest": every.values_list("number", flat=True).first(),
        "may_release": policy_for(Release).can_add(request, request.tenant),
    }
    return render_tenant_page(request, "catalog/releases.html", context, section="apps")


def _release_new(request, name):
    application = _application(request, name)
    form = ReleaseForm(request.POST, kind=application.component_kind)
    release = form.submit(services.release_create, actor=as_principal(request), application=application)
    if release is not None:
        messages.success(request, f"Release #{release.number} of {application.name} is ready to deploy.")
        return _to_application(application)
    return _detail_page(request, application, form)


@tenant_view
@require_safe
def release_detail(request, name, number):
    application = _application(request, name)
    release = get_object_or_404(releases_of(request, application), number=number)
    context = {
        "application": application,
        "release": release,
        "may_deploy": policy_for(Release).can_add(request, request.tenant),  # deploying needs a developer too
    }
    return render_tenant_page(request, "catalog/release.html", context, section="apps")
