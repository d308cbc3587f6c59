"""The tenant's audit trail: filters, newest first, keyset pages, CSV and JSON export. Owners and admins only."""

from apps.core.policies import policy_for
from apps.tenants.pages import render_tenant_page, require_role, tenant_view
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role

from .exports import EXPORT_LIMIT, FORMATS, export_response
from .filtersets import AuditTrailFilterSet
from .models import AuditEvent
from .selectors import event_list_for, trail_page


@tenant_view
def trail(request):
    allowed = policy_for(AuditEvent).allows(request, "view", request.tenant)
    require_role(request, allowed, needs=Role.ADMIN, doing="Reading the audit trail")
    events = event_list_for(as_principal(request), tenant=request.tenant)
    filters = AuditTrailFilterSet(request.GET, queryset=events)
    fmt = request.GET.get("format")
    if fmt in FORMATS:
        return export_response(filters.qs, fmt, name=f"audit-{request.tenant.slug}")
    context = {
        "filters": filters,
        "page": trail_page(filters.qs, before=request.GET.get("before")),
        "export_limit": EXPORT_LIMIT,
    }
    return render_tenant_page(request, "audit/trail.html", context, section="audit")
