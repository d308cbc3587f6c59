"""Workload pages of one tenant, under /t/<tenant_slug>/workloads/: what runs now, degraded first,
and one workload with its pods, drift, events and logs. The list shows each row as last read from
the cluster (with when); the page of one workload reads the cluster again when it loads."""

from django.http import Http404

from apps.tenants.pages import render_tenant_page, tenant_view

from .filtersets import WorkloadFilterSet
from .models import Health, Sync
from .selectors import workload_list_for
from .services import workload_refresh


@tenant_view
def workload_list(request):
    rows = WorkloadFilterSet(request.GET, queryset=workload_list_for(request, request.tenant)).qs
    context = {"workloads": rows, "healths": Health.choices, "syncs": Sync.choices, "chosen": request.GET}
    return render_tenant_page(request, "workloads/list.html", context, section="workloads")


@tenant_view
def workload_detail(request, pk: int):
    workload = workload_list_for(request, request.tenant).filter(pk=pk).first()
    if workload is None:
        raise Http404
    workload = workload_refresh(application=workload.application, environment=workload.environment) or workload
    return render_tenant_page(request, "workloads/detail.html", {"workload": workload}, section="workloads")
