"""Every /api/v1/ route, gathered from the apps."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.accounts.api.views import MeView
from apps.apikeys.api.views import APIKeyViewSet, PlanView, UsageDailyViewSet
from apps.approvals.api.routes import register as register_approvals
from apps.audit.api.views import AuditEventViewSet
from apps.catalog.api.routes import register as register_catalog
from apps.cmdb.api.routes import register as register_cmdb
from apps.console.api.approvals import OperatorApprovalRulesView, OperatorChangeRequestViewSet
from apps.console.api.domains import OperatorDomainViewSet
from apps.console.api.plans import OperatorPlanViewSet
from apps.console.api.views import (
    OperatorAuditEventViewSet,
    OperatorClusterViewSet,
    OperatorQuotaViewSet,
    OperatorTenantViewSet,
)
from apps.deployments.api.routes import register as register_deployments
from apps.tenants.api.views import (
    EnvironmentViewSet,
    InvitationViewSet,
    MembershipViewSet,
    QuotaViewSet,
    TenantViewSet,
)
from apps.webhooks.api.routes import register as register_webhooks

router = SimpleRouter()
router.register("tenants", TenantViewSet, basename="tenant")
router.register("members", MembershipViewSet, basename="membership")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("environments", EnvironmentViewSet, basename="environment")
router.register("quotas", QuotaViewSet, basename="quota")
router.register("api-keys", APIKeyViewSet, basename="apikey")
router.register("api-usage", UsageDailyViewSet, basename="usagedaily")
router.register("audit-events", AuditEventViewSet, basename="auditevent")
router.register("operator/tenants", OperatorTenantViewSet, basename="operator-tenant")
router.register("operator/quotas", OperatorQuotaViewSet, basename="operator-quota")
router.register("operator/audit-events", OperatorAuditEventViewSet, basename="operator-auditevent")
router.register("operator/clusters", OperatorClusterViewSet, basename="operator-cluster")
router.register("operator/change-requests", OperatorChangeRequestViewSet, basename="operator-changerequest")
router.register("operator/plans", OperatorPlanViewSet, basename="operator-plan")
router.register("operator/domains", OperatorDomainViewSet, basename="operator-domain")
register_catalog(router)
register_deployments(router)
register_approvals(router)
register_cmdb(router)
register_webhooks(router)

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("plan/", PlanView.as_view(), name="api-plan"),
    path("operator/approval-rules/", OperatorApprovalRulesView.as_view(), name="operator-approval-rules"),
    *router.urls,
]
