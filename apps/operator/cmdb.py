"""The operators' CMDB page at /operator/cmdb/: platform items, recent discovery runs, and a button
that discovers every cluster now."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.clusters.selectors import cluster_list
from apps.cmdb.selectors import ci_type_list, discovery_run_list, platform_item_list
from apps.cmdb.tasks import discover_cluster
from apps.core.audit import audit_record
from apps.core.operators import operator_required


@operator_required
def overview(request):
    context = {
        "items": platform_item_list(),
        "runs": discovery_run_list(),
        "types": ci_type_list(),
        "clusters": cluster_list().count(),
    }
    return render(request, "operator/cmdb.html", context)


@operator_required
@require_POST
def discover_now(request):
    clusters = list(cluster_list().values_list("pk", "name"))
    for pk, _ in clusters:
        transaction.on_commit(lambda pk=pk: discover_cluster.delay(pk))
    audit_record(actor=request, action="cmdb.discovery.request", object_display=", ".join(n for _, n in clusters))
    messages.success(request, f"Discovery queued for {len(clusters)} cluster(s).")
    return redirect("operator:cmdb")
