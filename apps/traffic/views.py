"""The Traffic tab of an application, under /t/<tenant_slug>/apps/<name>/traffic/: its routes per
environment, adding, changing and deleting them, and their maintenance and degrade switches. Views
parse input, call one service, and render."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from apps.catalog.models import Application
from apps.catalog.selectors import applications_for
from apps.core.errors import ApplicationError
from apps.core.policies import policy_for
from apps.deployments.selectors import canary_splits
from apps.deployments.splits import live_splits
from apps.deployments.strategies.plan import rule_text
from apps.tenants.pages import render_tenant_page, require_role, tenant_view
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role
from apps.tenants.selectors import environment_list_for

from . import services, switches
from .forms import DegradeForm, MaintenanceForm, RouteForm
from .models import Route
from .selectors import route_for, routes_for


def _application(request, name: str) -> Application:
    return get_object_or_404(applications_for(request, tenant=request.tenant), name=name)


def _route(request, application: Application, pk: int) -> Route:
    route = route_for(request, request.tenant, pk)
    if route is None or route.application_id != application.pk:
        raise Http404
    return route


def _may_write(request) -> bool:
    return policy_for(Route).can_add(request, request.tenant)


def _require_writer(request) -> None:
    require_role(request, _may_write(request), needs=Role.DEVELOPER, doing="Changing routes")


def _announce(request, route: Route, done: str) -> None:
    waiting = getattr(route, "change_request", None)
    if waiting is not None and waiting.is_open:
        messages.info(
            request, f"The change to {route.host}{route.path} waits for approval (change request {waiting.pk})."
        )
    else:
        messages.success(request, done)


@tenant_view
def traffic(request, name):
    """GET: the application's routes per environment and the form. POST: add a route."""
    application = _application(request, name)
    environments = environment_list_for(as_principal(request), tenant=request.tenant)
    form = RouteForm(request.POST or None, environments=environments)
    if request.method == "POST":
        _require_writer(request)
        if form.is_valid():
            try:
                route = services.route_create(
                    actor=as_principal(request),
                    tenant=request.tenant,
                    environment=form.cleaned_data["environment"],
                    application=application,
                    **form.service_arguments(),
                )
            except ApplicationError as exc:
                form.add_application_error(exc)
            else:
                _announce(request, route, f"Route {route.host}{route.path} added; it is being applied.")
                return redirect("traffic:list", tenant_slug=request.tenant.slug, name=application.name)
    routes = list(routes_for(request, request.tenant, application=application))
    groups = [
        {"environment": environment, "routes": [route for route in routes if route.environment_id == environment.pk]}
        for environment in environments
    ]
    for group, split in zip(groups, _splits(request, application, environments), strict=True):
        group.update(split)
    context = {"application": application, "groups": groups, "form": form, "may_write": _may_write(request)}
    status = 400 if request.method == "POST" else 200
    return render_tenant_page(request, "traffic/list.html", context, section="apps", status=status)


def _splits(request, application: Application, environments) -> list[dict]:
    """Per environment, the canary split its cluster serves now (`split`, read from the cluster, with its
    error when it could not be read) beside the canary deployment in progress and the rule its step
    applied (`canary`, `expected`): a difference between the two is shown, never the step in place of
    the cluster's answer."""
    live = live_splits(application, environments)
    canaries = canary_splits(request, application)
    found = []
    for environment in environments:
        split = live.get(environment.pk)
        deployment, expected = canaries.get(environment.pk, (None, None))
        differs = deployment is not None and split is not None and not split.error and split.rule != expected
        found.append({"split": split, "canary": deployment, "expected": rule_text(expected), "differs": differs})
    return found


@tenant_view
def route_edit(request, name, pk):
    application = _application(request, name)
    route = _route(request, application, pk)
    _require_writer(request)
    form = RouteForm(
        request.POST or None,
        initial=RouteForm.initial_from(route),
        environments=environment_list_for(as_principal(request), tenant=request.tenant),
        editing=True,
    )
    if request.method == "POST" and form.is_valid():
        try:
            route = services.route_update(actor=as_principal(request), route=route, **form.service_arguments())
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            _announce(request, route, f"Route {route.host}{route.path} changed; it is being applied.")
            return redirect("traffic:list", tenant_slug=request.tenant.slug, name=application.name)
    context = {"application": application, "route": route, "form": form}
    status = 400 if request.method == "POST" else 200
    return render_tenant_page(request, "traffic/edit.html", context, section="apps", status=status)


@tenant_view
@require_POST
def route_delete(request, name, pk):
    application = _application(request, name)
    route = _route(request, application, pk)
    _require_writer(request)
    where = f"{route.host}{route.path}"
    try:
        waiting = services.route_delete(
            actor=as_principal(request), route=route, justification=request.POST.get("justification", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if waiting is not None:
            _announce(request, waiting, "")
        else:
            messages.success(request, f"Route {where} deleted; its object is being removed from the cluster.")
    return redirect("traffic:list", tenant_slug=request.tenant.slug, name=application.name)


def _switched(request, application: Application, pk: int, form_class, service, what: str):
    route = _route(request, application, pk)
    _require_writer(request)
    form = form_class(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError.invalid({field: list(errors) for field, errors in form.errors.items()})
        route = service(actor=as_principal(request), route=route, **form.service_arguments())
    except ApplicationError as exc:
        problems = [message for messages in exc.errors.values() for message in messages] or [exc.message]
        messages.error(request, f"{what} of {route.host}{route.path} was not changed: {' '.join(problems)}")
    else:
        _announce(request, route, f"{what} of {route.host}{route.path} switched; it is being applied.")
    return redirect("traffic:list", tenant_slug=request.tenant.slug, name=application.name)


@tenant_view
@require_POST
def route_maintenance(request, name, pk):
    """Switch a route's maintenance page on (now or in a window) or off."""
    application = _application(request, name)
    return _switched(request, application, pk, MaintenanceForm, switches.route_maintenance, "Maintenance")


@tenant_view
@require_POST
def route_degrade(request, name, pk):
    """Switch a route's static fallback on or off."""
    application = _application(request, name)
    return _switched(request, application, pk, DegradeForm, switches.route_degrade, "The fallback")
