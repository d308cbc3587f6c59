"""Deployment pages: the list, the deploy form with its manifests preview, one deployment live, its
buttons (rollback, cancel, continue, switch back, pause, resume, scale, restart, promote, remove), and
each environment's deploy settings. Views parse input, call one service or selector, and render;
every button runs through one runner (`_run`)."""

import secrets

import yaml
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.catalog.selectors import applications_for
from apps.core.errors import ApplicationError
from apps.core.governance import Change, gate
from apps.core.numbers import as_id, digits
from apps.core.paging import newest_first
from apps.core.policies import policy_for
from apps.tenants.pages import back_to, render_tenant_page, require_role, tenant_view
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role

from . import services
from .choices import State
from .filtersets import DeploymentFilterSet
from .forms import (
    ApplicationChoiceForm,
    DeployForm,
    DeploySettingsForm,
    GovernedForm,
    PromoteForm,
    ReasonForm,
    ScaleForm,
)
from .manifests import DEFAULT_PROGRESS_DEADLINE
from .models import Deployment, DeploySettings
from .pods import live_pods
from .selectors import (
    deploy_settings_list_for,
    deployment_list_for,
    events_after,
    listed,
    previous_good_deployment,
    waiting_change_request,
)
from .serving import serving_now
from .strategies.registry import strategy_for

PAGE_SIZE = 50


def _deployment(request, pk: int) -> Deployment:
    deployment = deployment_list_for(request, request.tenant).filter(pk=pk).first()
    if deployment is None:
        raise Http404
    return deployment


@tenant_view
def deployment_list(request):
    """The newest deployments, filtered by the GET parameters, so a filtered list has an address."""
    rows = deployment_list_for(request, request.tenant)
    filters = DeploymentFilterSet(request.GET or None, queryset=rows, tenant=request.tenant)
    page = newest_first(filters.qs, before=request.GET.get("before"), size=PAGE_SIZE, read=listed)
    context = {"filters": filters, "page": page}
    return render_tenant_page(request, "deployments/list.html", context, section="deployments")


def _chosen_application(request):
    """The application being deployed: the form's hidden field on POST, `?application=<name>` on GET."""
    applications = applications_for(request, tenant=request.tenant)
    if request.method == "POST":
        value = request.POST.get("application", "")
        return applications.filter(pk=pk).first() if (pk := as_id(value)) else None
    name = request.GET.get("application", "")
    return applications.filter(name=name).first() if name else None


def _preselected(request, application) -> dict:
    """`?release=<number>&environment=<name>` from the application and release pages' buttons."""
    initial = {}
    number = request.GET.get("release", "")
    release = application.releases.filter(number=number).first() if digits(number) and len(number) < 10 else None
    if release is not None:
        initial["release"] = release.pk
    environment = request.tenant.environments.filter(name=request.GET.get("environment", "")).first()
    if environment is not None:
        initial["environment"] = environment.pk
    return initial


@tenant_view
def deployment_new(request):
    """GET without an application: choose one. GET with `?application=<name>`: the form, its latest
    release preselected. POST: the rendered manifests to confirm; POST with confirm: the deployment."""
    require_role(
        request, policy_for(Deployment).can_add(request, request.tenant), needs=Role.DEVELOPER, doing="Deploying"
    )
    application = _chosen_application(request)
    if application is None:
        asked = request.GET if request.method == "GET" else {"application": ""}  # a POST without one is refused
        chooser = ApplicationChoiceForm(asked or None, applications=applications_for(request, tenant=request.tenant))
        status = 400 if chooser.errors else 200
        return render_tenant_page(
            request, "deployments/new.html", {"chooser": chooser}, section="deployments", status=status
        )
    form = DeployForm(
        request.POST or None,
        tenant=request.tenant,
        application=application,
        role=request.role,
        initial=_preselected(request, application),
    )
    context = {"form": form, "application": application}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        deadline = data["progress_deadline_seconds"] or DEFAULT_PROGRESS_DEADLINE
        try:
            plan = form.plan()
            if "confirm" in request.POST:
                deployment, _ = services.strategy_deploy(
                    actor=as_principal(request),
                    release=data["release"],
                    environment=data["environment"],
                    plan=plan,
                    idempotency_key=request.POST.get("idempotency_key"),
                    progress_deadline_seconds=deadline,
                    **form.governed(),
                )
                _say_if_waiting(request, deployment)
                return redirect("deployments:detail", tenant_slug=request.tenant.slug, pk=deployment.pk)
            # Before the preview, not after: what confirming would refuse (an image the environment does
            # not take, a missing reason where approval is, a freeze) is said while the form is still open.
            services.image_policy_check(data["release"], data["environment"])
            gate().assess(
                Change(
                    kind="deploy",
                    tenant=request.tenant,
                    actor=as_principal(request),
                    environment=data["environment"],
                    **form.governed(),
                )
            )
            manifests = strategy_for(plan.strategy).render(
                release=data["release"], environment=data["environment"], plan=plan, progress_deadline_seconds=deadline
            )
            context["manifests_yaml"] = yaml.safe_dump_all(manifests, sort_keys=False)
            context["idempotency_key"] = secrets.token_urlsafe(16)  # a double-click on confirm deploys once
        except ApplicationError as exc:
            form.add_application_error(exc)
    status = 400 if request.method == "POST" and form.errors else 200
    return render_tenant_page(request, "deployments/new.html", context, section="deployments", status=status)


def _say_if_waiting(request, deployment) -> None:
    request_id = waiting_change_request(deployment)
    if request_id:
        messages.info(request, f"Waiting for approval — change request {request_id}.")


@tenant_view
def deployment_detail(request, pk):
    deployment = _deployment(request, pk)
    events = list(events_after(deployment))
    context = {
        "deployment": deployment,
        "change_request_id": waiting_change_request(deployment),
        "events": events,
        "states_seen": [event.state for event in events if event.state],
        "may_change": policy_for(Deployment).can_change(request, deployment),
        # A cancel already brings the earlier release back; rolling back meanwhile is refused.
        "rollback_target": None if deployment.state == State.CANCELLING else previous_good_deployment(deployment),
        "live": live_pods(deployment),
        "serving": serving_now(deployment.application, deployment.environment),
    }
    return render_tenant_page(request, "deployments/detail.html", context, section="deployments")


# --- Buttons: one runner ------------------------------------------------------------------------


def _run(request, deployment, call, done):
    """Run a button's service and go back to the deployment page, or to the page the button was on
    (`next`: the application or workload page), or to the deployment the service made (a rollback's,
    a promotion's, whose progress its page shows), with a message: its refusal, or `done` (a text, or
    a function of the result giving (messages level, text))."""
    try:
        result = call()
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _to_detail(request, deployment)
    level, text = done(result) if callable(done) else (messages.SUCCESS, done)
    messages.add_message(request, level, text)
    if hasattr(result, "environment_id") and result.pk != deployment.pk:
        return redirect("deployments:detail", tenant_slug=request.tenant.slug, pk=result.pk)
    return _to_detail(request, deployment)


def _to_detail(request, deployment):
    """Back to the tenant page the button was on (`next`), else to the deployment's page."""
    return back_to(request, "deployments:detail", tenant_slug=request.tenant.slug, pk=deployment.pk)


def _invalid(request, deployment, form):
    """The first refused field, named, so a form on another page says which of its fields it was."""
    field, errors = next(iter(form.errors.items()))
    label = (form.fields[field].label or field.replace("_", " ").capitalize()) if field in form.fields else ""
    messages.error(request, f"{label}: {errors[0]}" if label else errors[0])
    return _to_detail(request, deployment)


def _queued_or(done: str):
    """The message of a button whose deployment may wait for approval in pending_approval."""

    def message(result):
        request_id = waiting_change_request(result)
        if request_id:
            return messages.INFO, f"Waiting for approval — change request {request_id}."
        return messages.SUCCESS, done

    return message


def _waits_or(done: str, what: str):
    """The message of an operation that may wait for approval, or for the cluster, instead of being made."""

    def message(result):
        if getattr(result, "waiting_for_cluster", False):
            return messages.WARNING, (
                f"{what} requested, but the cluster is not answering: it is made once the cluster answers "
                "again (the events say when)."
            )
        waiting = getattr(result, "change_request", None)
        if waiting is not None and waiting.is_open:
            return messages.INFO, f"{what} requested: waits for approval in change request {waiting.pk}."
        return messages.SUCCESS, done

    return message


def _with_reason(request, pk, service, done, glass: bool = False):
    """A button that sends a reason (and, where `glass`, an owner's break-glass reason)."""
    deployment = _deployment(request, pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    extra = {"break_glass_reason": form.cleaned_data.get("break_glass_reason", "")} if glass else {}
    reason = form.cleaned_data.get("reason") or form.cleaned_data.get("justification", "")
    return _run(
        request,
        deployment,
        lambda: service(actor=as_principal(request), deployment=deployment, reason=reason, **extra),
        _queued_or(done) if isinstance(done, str) else done,
    )


@require_POST
@tenant_view
def deployment_rollback(request, pk):
    return _with_reason(
        request, pk, services.deployment_rollback, "Rolling back to the previous good release.", glass=True
    )


@require_POST
@tenant_view
def deployment_cancel(request, pk):
    return _with_reason(request, pk, services.deployment_cancel, _cancel_said)


def _cancel_said(row):
    """A cancel that reached the cluster is said as what happens next, not yet as done."""
    if row.state == State.CANCELLING:
        return messages.INFO, "Cancelling: the cluster is being put back as it was before this deployment."
    return messages.SUCCESS, "Deployment cancelled."


@require_POST
@tenant_view
def deployment_continue(request, pk):
    return _with_reason(request, pk, services.deployment_continue, "The canary moves on to its next step.", glass=True)


@require_POST
@tenant_view
def deployment_switch_back(request, pk):
    return _with_reason(request, pk, services.deployment_switch_back, "Switching traffic back to the old colour.")


@require_POST
@tenant_view
def deployment_pause(request, pk):
    deployment = _deployment(request, pk)
    return _run(
        request,
        deployment,
        lambda: services.deployment_pause(actor=as_principal(request), deployment=deployment),
        "Rollout paused.",
    )


@require_POST
@tenant_view
def deployment_resume(request, pk):
    deployment, form = _deployment(request, pk), GovernedForm(request.POST, role=request.role)
    form.is_valid()
    return _run(
        request,
        deployment,
        lambda: services.deployment_resume(
            actor=as_principal(request), deployment=deployment, break_glass_reason=form.governed()["break_glass_reason"]
        ),
        "Rollout resumed.",
    )


@require_POST
@tenant_view
def deployment_scale(request, pk):
    deployment, form = _deployment(request, pk), ScaleForm(request.POST, role=request.role)
    if not form.is_valid():
        return _invalid(request, deployment, form)
    replicas = form.cleaned_data["replicas"]
    return _run(
        request,
        deployment,
        lambda: services.deployment_scale(
            actor=as_principal(request), deployment=deployment, replicas=replicas, **form.governed()
        ),
        _waits_or(f"Scaled to {replicas} replicas.", "Scale"),
    )


@require_POST
@tenant_view
def deployment_restart(request, pk):
    deployment, form = _deployment(request, pk), GovernedForm(request.POST, role=request.role)
    if not form.is_valid():
        return _invalid(request, deployment, form)
    return _run(
        request,
        deployment,
        lambda: services.deployment_restart(actor=as_principal(request), deployment=deployment, **form.governed()),
        _waits_or("Restarting every pod.", "Restart"),
    )


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

    return _run(
        request,
        deployment,
        lambda: services.deployment_promote(
            actor=as_principal(request), deployment=deployment, environment=environment, **form.governed()
        ),
        done,
    )


@require_POST
@tenant_view
def deployment_remove(request, pk):
    deployment, form = _deployment(request, pk), GovernedForm(request.POST, role=request.role)
    if not form.is_valid():
        return _invalid(request, deployment, form)
    done = _waits_or(f"{deployment.application.name} removed from {deployment.environment.name}.", "Removal")
    return _run(
        request,
        deployment,
        lambda: services.application_remove(
            actor=as_principal(request),
            application=deployment.application,
            environment=deployment.environment,
            **form.governed(),
        ),
        done,
    )


# --- Deploy settings ---------------------------------------------------------------------------


@tenant_view
def deploy_settings(request):
    """Every environment with its automatic-rollback switch; admins and owners may flip it."""
    services.deploy_settings_ensure(principal=as_principal(request))
    rows = deploy_settings_list_for(request, request.tenant)
    context = {
        "rows": rows,
        "may_change": policy_for(DeploySettings).allows(request, "change", request.tenant),
        "self_heal_choices": DeploySettings.SelfHeal.choices,
    }
    return render_tenant_page(request, "deployments/settings.html", context, section="deployments")


@require_POST
@tenant_view
def deploy_settings_update(request, pk):
    settings = deploy_settings_list_for(request, request.tenant).filter(pk=pk).first()
    if settings is None:
        raise Http404
    form = DeploySettingsForm(request.POST, role=request.role)
    form.is_valid()
    try:
        services.deploy_settings_update(
            actor=as_principal(request),
            settings=settings,
            auto_rollback=form.cleaned_data.get("auto_rollback", False),
            self_heal=form.cleaned_data.get("self_heal") or None,
            heal_skips_approval=form.cleaned_data.get("heal_skips_approval", False),
            restart_on_incident=form.cleaned_data.get("restart_on_incident", False),
            require_digest=form.cleaned_data.get("require_digest", False),
            **form.governed(),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        state = "on" if settings.auto_rollback else "off"
        level, text = _waits_or(
            f"Automatic rollback is {state} in {settings.environment.name}. "
            f"Self-heal: {settings.get_self_heal_display().lower()}"
            f"{', without waiting for approval' if settings.heal_skips_approval else ''}. "
            f"Images: {'pinned by digest only' if settings.require_digest else 'any tag or digest'}.",
            "The settings change",
        )(settings)
        messages.add_message(request, level, text)
    return redirect("deployments:settings", tenant_slug=request.tenant.slug)
