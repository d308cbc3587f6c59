"""Workload pages of one tenant, under /t/<tenant_slug>/workloads/: what runs now, degraded first,
one workload with its pods, drift, incidents, events and logs, and the tenant's incidents. The list
shows each row as last read from the cluster (with when); the page of one workload reads the cluster
again when it loads."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.catalog.selectors import applications_for
from apps.core.errors import ApplicationError
from apps.deployments.forms import GovernedForm, ScaleForm
from apps.tenants.pages import back_to, render_tenant_page, tenant_view
from apps.tenants.principals import as_principal

from .filtersets import IncidentFilterSet, WorkloadFilterSet
from .incidents import incident_acknowledge, incident_resolve, incident_restart, incident_scale
from .models import Health, Incident, Sync
from .selectors import incident_list_for, workload_list_for
from .services import workload_read_for_a_person

WORKLOADS_PAGE = 100  # degraded first, so the rows that need someone are on the first page


@tenant_view
def workload_list(request):
    rows = WorkloadFilterSet(request.GET, queryset=workload_list_for(request, request.tenant)).qs
    page = Paginator(rows, WORKLOADS_PAGE).get_page(request.GET.get("page"))
    context = {
        "workloads": page,
        "page_obj": page,
        "healths": Health.choices,
        "syncs": Sync.choices,
        "chosen": request.GET,
        "open_incidents": incident_list_for(request, request.tenant).filter(state="open").count(),
    }
    return render_tenant_page(request, "workloads/list.html", context, section="workloads")


@tenant_view
def workload_detail(request, pk: int):
    workload = workload_list_for(request, request.tenant).filter(pk=pk).first()
    if workload is None:
        raise Http404
    workload_read_for_a_person(workload)
    workload = workload_list_for(request, request.tenant, history=True).get(pk=pk)
    context = {"workload": workload, "incidents": incident_list_for(request, request.tenant).filter(workload=workload)}
    return render_tenant_page(request, "workloads/detail.html", context, section="workloads")


@tenant_view
def workload_parts(request, pk: int):
    """The parts of a workload's page its socket's row does not carry (actions, incidents, the replica
    chart, drift), as the last read left them: the page draws them again after each read."""
    workload = workload_list_for(request, request.tenant, history=True).filter(pk=pk).first()
    if workload is None:
        raise Http404
    context = {
        "tenant": request.tenant,
        "role": request.role,
        "workload": workload,
        "incidents": incident_list_for(request, request.tenant).filter(workload=workload),
        "next_path": reverse("workloads:detail", kwargs={"tenant_slug": request.tenant.slug, "pk": pk}),
    }
    return render(request, "workloads/_parts.html", context)


@tenant_view
def running_now_part(request, pk: int):
    """An application page's "Running now" card with its actions, drawn again when a release goes live
    or a deployment of the application ends."""
    application = applications_for(request, tenant=request.tenant).filter(pk=pk).first()
    if application is None:
        raise Http404
    context = {
        "tenant": request.tenant,
        "role": request.role,
        "application": application,
        "next_path": reverse("catalog:detail", kwargs={"tenant_slug": request.tenant.slug, "name": application.name}),
    }
    return render(request, "workloads/_running_now_part.html", context)


@tenant_view
def incident_list(request):
    rows = IncidentFilterSet(request.GET, queryset=incident_list_for(request, request.tenant)).qs
    context = {"incidents": rows[:200], "states": Incident.State.choices, "chosen": request.GET}
    return render_tenant_page(request, "workloads/incidents.html", context, section="workloads")


def _incident_action(request, pk: int, service, done: str, form=None):
    """Run one incident action and go back to the page it was pressed on (the incidents list), else to its
    workload's page, with what happened (or what the action waits for, as the incident now says)."""
    incident = incident_list_for(request, request.tenant).filter(pk=pk).first()
    if incident is None:
        raise Http404
    back = back_to(request, "workloads:detail", tenant_slug=request.tenant.slug, pk=incident.workload_id)
    if form is not None and not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        messages.error(request, f"{form.fields[field].label or field.capitalize()}: {errors[0]}")
        return back
    fields = {name: value for name, value in (form.cleaned_data if form else {}).items() if value not in (None, "")}
    try:
        incident = service(actor=as_principal(request), incident=incident, **fields)
    except ApplicationError as error:
        messages.error(request, error.message)
        return back
    if getattr(incident, "waiting", False):
        messages.info(request, incident.action)
    else:
        messages.success(request, done or incident.action)
    return back


@require_POST
@tenant_view
def incident_acknowledge_view(request, pk: int):
    return _incident_action(request, pk, incident_acknowledge, "Acknowledged: the team sees you are on it.")


@require_POST
@tenant_view
def incident_resolve_view(request, pk: int):
    return _incident_action(
        request, pk, incident_resolve, "Resolved. If the cause is still there, the next read opens it again."
    )


@require_POST
@tenant_view
def incident_restart_view(request, pk: int):
    return _incident_action(request, pk, incident_restart, "", GovernedForm(request.POST, role=request.role))


@require_POST
@tenant_view
def incident_scale_view(request, pk: int):
    return _incident_action(request, pk, incident_scale, "", ScaleForm(request.POST, role=request.role))
