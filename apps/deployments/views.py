"""Deployment pages: the list, the deploy form with its manifests preview, one deployment live.
Views parse input, call one service or selector, and render."""

import secrets

import yaml
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.policies import policy_for
from apps.tenants.pages import render_tenant_page, tenant_view

from . import services
from .forms import DeployForm, ReasonForm
from .manifests import DEFAULT_PROGRESS_DEADLINE
from .models import Deployment
from .selectors import deployment_list_for, events_after, previous_good_deployment, waiting_change_request
from .strategies.registry import strategy_for

LIST_LENGTH = 100


def _deployment(request, pk: int) -> Deployment:
    deployment = deployment_list_for(request, request.tenant).filter(pk=pk).first()
    if deployment is None:
        raise Http404
    return deployment


@tenant_view
def deployment_list(request):
    context = {"deployments": deployment_list_for(request, request.tenant)[:LIST_LENGTH]}
    return render_tenant_page(request, "deployments/list.html", context, section="deployments")


@tenant_view
def deployment_new(request):
    """GET: the form. POST: the rendered manifests to confirm; POST with confirm: the deployment."""
    if not policy_for(Deployment).can_add(request, request.tenant):
        raise Http404
    form = DeployForm(request.POST or None, tenant=request.tenant, role=request.role)
    context = {"form": form}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        deadline = data["progress_deadline_seconds"] or DEFAULT_PROGRESS_DEADLINE
        try:
            plan = form.plan()
            if "confirm" in request.POST:
                deployment, _ = services.strategy_deploy(
                    actor=request, release=data["release"], environment=data["environment"], plan=plan,
                    idempotency_key=request.POST.get("idempotency_key"), progress_deadline_seconds=deadline,
                    **form.governed())
                _say_if_waiting(request, deployment)
                return redirect("deployments:detail", tenant_slug=request.tenant.slug, pk=deployment.pk)
            manifests = strategy_for(plan.strategy).render(
                release=data["release"], environment=data["environment"], plan=plan,
                progress_deadline_seconds=deadline)
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
    context = {
        "deployment": deployment,
        "change_request_id": waiting_change_request(deployment),
        "events": events_after(deployment),
        "may_change": policy_for(Deployment).can_change(request, deployment),
        "rollback_target": previous_good_deployment(deployment),
    }
    return render_tenant_page(request, "deployments/detail.html", context, section="deployments")


def _act(request, pk, action, done: str, glass: bool = False):
    deployment = _deployment(request, pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    extra = {"break_glass_reason": form.cleaned_data.get("break_glass_reason", "")} if glass else {}
    try:
        result = action(actor=request, deployment=deployment, reason=form.cleaned_data.get("reason", ""), **extra)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("deployments:detail", tenant_slug=request.tenant.slug, pk=deployment.pk)
    if waiting_change_request(result):
        _say_if_waiting(request, result)
    else:
        messages.success(request, done)
    return redirect("deployments:detail", tenant_slug=request.tenant.slug, pk=result.pk)


@require_POST
@tenant_view
def deployment_rollback(request, pk):
    return _act(request, pk, services.deployment_rollback, "Rolling back to the previous good release.", glass=True)


@require_POST
@tenant_view
def deployment_cancel(request, pk):
    return _act(request, pk, services.deployment_cancel, "Deployment cancelled.")
