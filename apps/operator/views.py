"""Operator console pages. Only staff reach them; everyone else gets the same 404 as a missing page.

Operators see every tenant and cluster here explicitly, without the tenant policies, and each look at a tenant's
detail is itself recorded in the audit trail.
"""

import copy
from dataclasses import dataclass, field

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.audit.exports import EXPORT_LIMIT, FORMATS, export_response
from apps.audit.filtersets import PlatformAuditTrailFilterSet
from apps.audit.selectors import events_of_the_platform, trail_page
from apps.clusters.models import Cluster
from apps.clusters.selectors import cluster_list
from apps.clusters.services import cluster_check, cluster_register, cluster_traffic_set
from apps.core.audit import audit_record
from apps.core.errors import ApplicationError
from apps.core.health import run_checks
from apps.core.operators import operator_required
from apps.tenants.models import Environment, Quota, Tenant
from apps.tenants.principals import as_principal
from apps.tenants.quotas import usage_of
from apps.tenants.selectors import backlog_of_the_platform, quotas_of, tenants_of_the_platform
from apps.tenants.services import quota_set, tenant_set_status

from .forms import ClusterRegisterForm, ClusterTrafficForm, QuotaForm, TenantStatusForm
from .plan_forms import tenant_plan_context
from .selectors import periodic_task_list, user_counts


@operator_required
def overview(request):
    ready, checks = run_checks()
    context = {"ready": ready, "checks": checks, **user_counts(), "periodic_tasks": periodic_task_list()}
    return render(request, "operator/overview.html", context)


# --- Tenants ------------------------------------------------------------------------------------


@operator_required
def tenants(request):
    query = request.GET.get("q", "").strip()
    rows = tenants_of_the_platform(search=query)
    return render(request, "operator/tenants.html", {"tenants": rows, "query": query})


@operator_required
def backlog(request):
    """Who is using the workers and who waits for a turn: every tenant with deployments or builds
    running or waiting, most waiting first."""
    return render(request, "operator/backlog.html", {"rows": backlog_of_the_platform()})


@dataclass
class QuotaCell:
    """One resource in one scope (tenant or environment) with its limit form; `errors` after a refusal."""

    environment: Environment | None
    resource: str
    label: str
    quota: Quota | None
    used: int | None
    value: object = None
    errors: list = field(default_factory=list)


def _refused_here(form: QuotaForm | None, environment, resource: str) -> bool:
    if form is None:
        return False
    scope = str(environment.pk) if environment else ""
    return form.data.get("resource") == resource and (form.data.get("environment") or "") == scope


def _quota_grid(tenant: Tenant, refused: QuotaForm | None) -> list[tuple[Environment | None, list[QuotaCell]]]:
    """Every resource for the tenant and for each environment, so an operator can set any limit."""
    quotas = {(q.environment_id, q.resource): q for q in quotas_of(tenant)}
    grid = []
    for environment in [None, *tenant.environments.all()]:
        cells = []
        for resource, label in Quota.Resource.choices:
            if environment is not None and resource == Quota.Resource.DEPLOYMENTS:
                continue  # a tenant-wide limit only: turns are the tenant's, whatever the environment
            quota = quotas.get((environment.pk if environment else None, resource))
            cell = QuotaCell(
                environment,
                resource,
                label,
                quota,
                usage_of(resource, tenant, environment),
                value=quota.limit if quota else None,
            )
            if _refused_here(refused, environment, resource):
                cell.value, cell.errors = refused.data.get("limit"), refused.errors.get("limit", [])
            cells.append(cell)
        grid.append((environment, cells))
    return grid


def _tenant_page(request, tenant: Tenant, *, quota_form=None, status_form=None):
    next_status = Tenant.Status.SUSPENDED if tenant.is_active else Tenant.Status.ACTIVE
    context = {
        "tenant": tenant,
        "memberships": tenant.memberships.select_related("user").order_by("user__email"),
        "environments": tenant.environments.all(),
        "quota_grid": _quota_grid(tenant, quota_form),
        "status_form": status_form or TenantStatusForm(initial={"status": next_status}),
        "refused": quota_form or status_form,
        **tenant_plan_context(tenant),
    }
    return render(request, "operator/tenant_detail.html", context, status=400 if request.method == "POST" else 200)


@operator_required
def tenant_detail(request, slug):
    tenant = get_object_or_404(Tenant, slug=slug)
    audit_record(actor=request.user, action="operator.view_tenant", obj=tenant)
    return _tenant_page(request, tenant)


@operator_required
@require_POST
def tenant_quota(request, slug):
    tenant = get_object_or_404(Tenant, slug=slug)
    form = QuotaForm(request.POST, tenant=tenant)
    quota = form.submit(quota_set, operator=as_principal(request), tenant=tenant)
    if quota is not None:
        messages.success(request, f"Quota set: {quota}.")
        return redirect("operator:tenant", slug=tenant.slug)
    return _tenant_page(request, tenant, quota_form=form)


@operator_required
@require_POST
def tenant_status(request, slug):
    tenant = get_object_or_404(Tenant, slug=slug)
    form = TenantStatusForm(request.POST)
    if form.is_valid():
        try:
            tenant_set_status(operator=as_principal(request), tenant=tenant, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"{tenant.name} is now {tenant.get_status_display().lower()}.")
            return redirect("operator:tenant", slug=tenant.slug)
    return _tenant_page(request, tenant, status_form=form)


# --- The platform's audit trail -----------------------------------------------------------------


@operator_required
def audit(request):
    filters = PlatformAuditTrailFilterSet(request.GET, queryset=events_of_the_platform())
    fmt = request.GET.get("format")
    if fmt in FORMATS:
        return export_response(filters.qs, fmt, name="audit-platform")
    context = {
        "filters": filters,
        "page": trail_page(filters.qs, before=request.GET.get("before")),
        "export_limit": EXPORT_LIMIT,
        "show_tenant": True,
    }
    return render(request, "operator/audit.html", context)


# --- Clusters -----------------------------------------------------------------------------------


@operator_required
def clusters(request):
    rows = cluster_list(placement_count=True)
    return render(request, "operator/clusters.html", {"clusters": rows})


@operator_required
def cluster_new(request):
    form = ClusterRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cluster = cluster_register(operator=as_principal(request), **form.service_arguments())
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"Cluster {cluster.name} registered. Check its connectivity next.")
            return redirect("operator:cluster", name=cluster.name)
    status = 400 if request.method == "POST" else 200
    return render(request, "operator/cluster_new.html", {"form": form}, status=status)


def _check_summary(cluster: Cluster) -> dict:
    """The last check with every answer present, so a check that never got that far reads "unknown"."""
    return {
        "server_version": None,
        "api_groups": [],
        "can_create_namespaces": None,
        "can_apply_workloads": None,
        **cluster.last_check,
    }


@operator_required
def cluster_detail(request, name):
    cluster = get_object_or_404(Cluster, name=name)
    placements = cluster.placements.select_related("environment__tenant").order_by(
        "environment__tenant__slug", "environment__name"
    )
    # A copy: a model form writes what it cleans into its instance, and the service compares before and after.
    traffic = ClusterTrafficForm(request.POST or None, instance=copy.copy(cluster))
    if request.method == "POST" and traffic.is_valid():
        try:
            cluster_traffic_set(operator=as_principal(request), cluster=cluster, **traffic.cleaned_data)
        except ApplicationError as exc:
            traffic.add_error(exc.field, exc.message)
        else:
            messages.success(request, f"Routes on {cluster.name} now become {cluster.get_traffic_renderer_display()}.")
            return redirect("operator:cluster", name=cluster.name)
    context = {"cluster": cluster, "check": _check_summary(cluster), "placements": placements, "traffic": traffic}
    failed = request.method == "POST"
    return render(request, "operator/cluster_detail.html", context, status=400 if failed else 200)


@operator_required
@require_POST
def cluster_connectivity(request, name):
    """Run the check while the operator waits: it is bounded by the check's own timeouts."""
    cluster = get_object_or_404(Cluster, name=name)
    result = cluster_check(cluster=cluster)
    if result["ok"]:
        messages.success(request, f"{cluster.name} answered: Kubernetes {result.get('server_version')}.")
    else:
        messages.error(request, f"{cluster.name} failed the check: {result.get('error')}")
    return redirect("operator:cluster", name=cluster.name)
