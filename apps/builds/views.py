"""Build pages: a new build from the browser, one build with its live log, and its cancel button.
The history lives on the application page (templatetags/builds.py)."""

import base64
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import APIException

from apps.core.client_ip import client_ip
from apps.core.errors import ApplicationError
from apps.core.policies import policy_for
from apps.tenants.pages import render_tenant_page, require_role, tenant_view
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role

from . import access, services, tokens
from .forms import BuildForm
from .models import Build
from .selectors import build_of, log_after


def _build(request, pk: int) -> Build:
    build = build_of(request, tenant=request.tenant, pk=pk)
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
                actor=as_principal(request),
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
        services.build_cancel(actor=as_principal(request), build=build)
        messages.success(request, f"Build {build.pk} is being cancelled.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("builds:detail", tenant_slug=request.tenant.slug, pk=build.pk)


@csrf_exempt
@require_GET
def registry_token(request):
    """The registry's token realm (Docker Registry v2 token authentication). A client sends its
    credentials with HTTP Basic and asks for `scope`s; the answer is a signed JWT holding only the
    repositories of the credential's tenant (so another tenant's repository is refused by the
    registry). Wrong or missing credentials: 401."""
    username, password = _basic(request.META.get("HTTP_AUTHORIZATION", ""))
    grant = None
    if password:
        try:
            grant = access.grant_for(username, password, request.GET.getlist("scope"), client_ip(request))
        except APIException as exc:  # a refused or throttled API key
            grant = None
            if exc.status_code == 429:
                return JsonResponse(_errors("TOOMANYREQUESTS", str(exc.detail)), status=429)
    if grant is None:
        response = JsonResponse(
            _errors("UNAUTHORIZED", "Sign in with the tenant's registry credential or an API key."), status=401
        )
        response["WWW-Authenticate"] = 'Basic realm="platform registry"'
        return response
    token, ttl = tokens.issue(grant.subject, grant.access)
    return JsonResponse(
        {"token": token, "access_token": token, "expires_in": ttl, "issued_at": timezone.now().isoformat()}
    )


def _errors(code: str, message: str) -> dict:
    return {"errors": [{"code": code, "message": message}]}


def _basic(header: str) -> tuple[str, str]:
    kind, _, value = header.partition(" ")
    if kind.lower() != "basic":
        return "", ""
    try:
        username, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    return username, password
