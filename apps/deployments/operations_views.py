"""Pages and buttons of day-2 operations: pause, resume, scale, restart, promote and remove from a deployment's page,
and the deploy settings of each environment. Views parse input, call one service, and redirect."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.policies import policy_for
from apps.tenants.pages import render_tenant_page, tenant_view

from . import services
from .forms import DeploySettingsForm, GovernedForm, PromoteForm, ScaleForm
from .models import DeploySettings
from .selectors import deployment_list_for, waiting_change_request


def _deployment(request, pk: int):
    deployment = deployment_list_for(request, request.tenant).filter(pk=pk).first()
    if deployment is None:
        raise Http404
    return deployment


def _back(request, deployment, done, call):
    """Run the service and go back to the deployment page (or the deployment it made) with a message:
    its refusal, or `done` (a text, or a function of the result giving (messages level, text))."""
    try:
        result = call()
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("deployments:detail", tenant_slug=request.tenant.slug, pk=deployment.pk)
    level, text = done(result) if callable(done) else (messages.SUCCESS, done)
    messages.add_message(request, level, text)
    target = result if hasattr(result, "environment_id") else deployment
    return redirect("deployments:detail", tenant_slug=request.tenant.slug, pk=target.pk)


def _invalid(request, deployment, form):
    messages.error(request, next(iter(form.errors.values()))[0])
    return redirect("deployments:detail", tenant_slug=request.tenant.slug, pk=deployment.pk)


@require_POST
@tenant_view
def deployment_pause(request, pk):
    deployment = _deployment(request, pk)
    return _back(request, deployment, "Rollout paused.",
                 lambda: services.deployment_pause(actor=request, deployment=deployment))


@require_POST
@tenant_view
def deployment_resume(request, pk):
    deployment, form = _deployment(request, pk), GovernedForm(request.POST, role=request.role)
    form.is_valid()
    return _back(request, deployment, "Rollout resumed.", lambda: services.deployment_resume(
        actor=request, deployment=deployment, break_glass_reason=form.governed()["break_glass_reason"]))


def _waits_or(done: str, what: str):
    """The message of an operation that may wait for approval instead of being made."""
    def message(result):
        waiting = getattr(result, "change_request", None)
        if waiting is not None and waiting.is_open:
            return messages.INFO, f"{what} requested: waits for approval in change request {waiting.pk}."
        return messages.SUCCESS, done
    return message


@require_POST
@tenant_view
def deployment_scale(request, pk):
    deployment, form = _deployment(request, pk), ScaleForm(request.POST, role=request.role)
    if not form.is_valid():
        return _invalid(request, deployment, form)
    replicas = form.cleaned_data["replicas"]

    def done(result):
        waiting = getattr(result, "change_request", None)
        if waiting is not None and waiting.is_open:
            return messages.INFO, f"Scale requested: waits for approval in change request {waiting.pk}."
        return messages.SUCCESS, f"Scaled to {replicas} replicas."

    return _back(request, deployment, done, lambda: services.deployment_scale(
        actor=request, deployment=deployment, replicas=replicas, **form.governed()))


@require_POST
@tenant_view
def deployment_restart(request, pk):
    deployment, form = _deployment(request, pk), GovernedForm(request.POST, role=request.role)
    if not form.is_valid():
        return _invalid(request, deployment, form)
    done = _waits_or("Restarting every pod.", "Restart")
    return _back(request, deployment, done, lambda: services.deployment_restart(
        actor=request, deployment=deployment, **form.governed()))


@require_POST
@tenant_view
def deployment_promote(request, pk):
    deployment = _deployment(request, pk)
    form = PromoteForm(request.POST, deployment=deployment, role=request.role)
    if not form.is_valid():
        return _invalid(request, deployment, form)
    environment = form.cleaned_data["environment"]

    def done(promoted):
        request_id = waiting_change_request(promoted)
        if request_id:
            return messages.INFO, f"Promotion to {environment.name} waits for approval — change request {request_id}."
        return messages.SUCCESS, f"Promoting to {environment.name}."

    return _back(request, deployment, done, lambda: services.deployment_promote(
        actor=request, deployment=deployment, environment=environment, **form.governed()))


@require_POST
@tenant_view
def deployment_remove(request, pk):
    deployment, form = _deployment(request, pk), GovernedForm(request.POST, role=request.role)
    if not form.is_valid():
        return _invalid(request, deployment, form)
    done = _waits_or(f"{deployment.application.name} removed from {deployment.environment.name}.", "Removal")
    return _back(request, deployment, done, lambda: services.application_remove(
        actor=request, application=deployment.application, environment=deployment.environment, **form.governed()))


@tenant_view
def deploy_settings(request):
    """Every environment with its automatic-rollback switch; admins and owners may flip it."""
    services.deploy_settings_ensure(principal=request)
    rows = (DeploySettings.objects.restrict(request, "view").filter(tenant=request.tenant)
            .select_related("environment").order_by("environment__name"))
    context = {"rows": rows, "may_change": policy_for(DeploySettings).allows(request, "change", request.tenant)}
    return render_tenant_page(request, "deployments/settings.html", context, section="deployments")


@require_POST
@tenant_view
def deploy_settings_update(request, pk):
    settings = DeploySettings.objects.restrict(request, "view").filter(tenant=request.tenant, pk=pk).first()
    if settings is None:
        raise Http404
    form = DeploySettingsForm(request.POST, role=request.role)
    form.is_valid()
    try:
        services.deploy_settings_update(actor=request, settings=settings,
                                          auto_rollback=form.cleaned_data["auto_rollback"], **form.governed())
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        state = "on" if settings.auto_rollback else "off"
        level, text = _waits_or(f"Automatic rollback is {state} in {settings.environment.name}.",
                                "The settings change")(settings)
        messages.add_message(request, level, text)
    return redirect("deployments:settings", tenant_slug=request.tenant.slug)
