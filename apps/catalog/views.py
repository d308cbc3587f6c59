"""Catalog pages under /t/<tenant_slug>/apps/: the applications, one application with its releases
and their differences, cutting a release. Views parse input, call one service or selector, and render.
The operators' service-template pages live in apps/operator/service_templates.py."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST, require_safe

from apps.core.errors import ApplicationError
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
    if request.GET.get("template", "").isdigit():
        template = get_object_or_404(
            templates_visible_to(request).filter(is_active=True), pk=int(request.GET["template"])
        )
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


@tenant_view
def application_detail(request, name):
    application = _application(request, name)
    releases = list(releases_of(request, application))
    initial = ReleaseForm.initial_from(releases[0]) if releases else dict(ReleaseForm.FIRST_RELEASE)
    form = ReleaseForm(initial=initial, kind=application.component_kind)
    return _detail_page(request, application, releases, form)


def _detail_page(request, application, releases, release_form, refused=None):
    """The application page: details, releases newest first, the comparison, the next release's form."""
    numbers = [release.number for release in releases]
    compare, changes = _comparison(request, releases, numbers)
    context = {
        "application": application,
        "releases": releases,
        "release_form": release_form,
        "refused": refused,
        "next_number": (numbers[0] if numbers else 0) + 1,
        "compare": compare,
        "changes": changes,
        "may_release": policy_for(Release).can_add(request, request.tenant),
        "may_edit": policy_for(Application).can(request, "change", application),
    }
    return render_tenant_page(request, "catalog/detail.html", context, section="apps", status=_status(request))


def _comparison(request, releases, numbers):
    """The compare form and, when it names two releases, the changes between them."""
    if "before" not in request.GET:
        initial = {"before": numbers[1], "after": numbers[0]} if len(numbers) > 1 else None
        return CompareForm(initial=initial, numbers=numbers), None
    compare = CompareForm(request.GET, numbers=numbers)
    if not compare.is_valid():
        return compare, None
    by_number = {release.number: release for release in releases}
    return compare, services.release_diff(
        by_number[compare.cleaned_data["before"]], by_number[compare.cleaned_data["after"]]
    )


@tenant_view
@require_POST
def release_new(request, name):
    application = _application(request, name)
    form = ReleaseForm(request.POST, kind=application.component_kind)
    release = form.submit(services.release_create, actor=as_principal(request), application=application)
    if release is not None:
        messages.success(request, f"Release #{release.number} of {application.name} is ready to deploy.")
        return _to_application(application)
    return _detail_page(request, application, list(releases_of(request, application)), form, refused=form)


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
