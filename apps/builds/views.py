"""Build pages: a new build from the browser, one build with its live log, and its cancel button.
The history lives on the application page (templatetags/builds.py)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.policies import policy_for
from apps.tenants.pages import render_tenant_page, require_role, tenant_view
from apps.tenants.roles import Role

from . import services
from .forms import BuildForm
from .models import Build
from .selectors import log_after


def _build(request, pk: int) -> Build:
    build = (
        Build.objects.restrict(request, "view")
        .filter(tenant=request.tenant, pk=pk)
        .select_related("application", "release", "requested_by")
        .first()
    )
    if build is None:
        raise Http404
    return build


@tenant_view
def build_new(request):
    """GET: the form (the application preselected from ?application=). POST: the build, then its page."""
    require_role(request, policy_for(Build).can_add(request, request.tenant), needs=Role.DEVELOPER, doing="Building")
    initial = {"application": request.GET.get("application", "")}
    form = BuildForm(request.POST or None, request.FILES or None, initial=initial, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["context"]
        try:
            build = services.build_request(
                actor=request,
                application=data["application"],
                context=upload.read() if upload else None,
                repository_url=data["repository_url"],
                ref=data["ref"],
                dockerfile=data["dockerfile"],
                tag=data["tag"],
                create_release=data["create_release"],
            )
            return redirect("builds:detail", tenant_slug=request.tenant.slug, pk=build.pk)
        except ApplicationError as exc:
            form.add_application_error(exc)
    status = 400 if request.method == "POST" and form.errors else 200
    return render_tenant_page(request, "builds/new.html", {"form": form}, section="apps", status=status)


def _deploy_url(request, build: Build) -> str:
    """The deploy form with the build's release picked, once there is one."""
    if build.release is None:
        return ""
    query = urlencode({"application": build.application.name, "release": build.release.number})
    return f"{reverse('deployments:new', kwargs={'tenant_slug': request.tenant.slug})}?{query}"


@tenant_view
def build_detail(request, pk):
    build = _build(request, pk)
    context = {
        "build": build,
        "lines": list(log_after(build)),
        "may_cancel": policy_for(Build).can_change(request, build),
        "deploy_url": _deploy_url(request, build),
    }
    return render_tenant_page(request, "builds/detail.html", context, section="apps")


@tenant_view
@require_POST
def build_cancel(request, pk):
    build = _build(request, pk)
    try:
        services.build_cancel(actor=request, build=build)
        messages.success(request, f"Build {build.pk} is being cancelled.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("builds:detail", tenant_slug=request.tenant.slug, pk=build.pk)
