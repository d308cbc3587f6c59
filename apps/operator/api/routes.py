"""The operator API under /api/v1/operator/ (staff only); portal/api_router.py calls register().
Apps whose operator endpoints sit beside their own viewsets (cmdb, webhooks) register those in their
own routes.py, under the same operator/ prefix."""

from .approvals import OperatorApprovalRulesView, OperatorChangeRequestViewSet
from .domains import OperatorDomainViewSet, OperatorHostClaimViewSet
from .images import OperatorImageRuleViewSet
from .plans import OperatorPlanViewSet
from .views import OperatorAuditEventViewSet, OperatorClusterViewSet, OperatorQuotaViewSet, OperatorTenantViewSet


def register(router) -> None:
    """Add the operator viewsets and views to the project router."""
    router.register_view("operator/approval-rules/", OperatorApprovalRulesView, name="operator-approval-rules")
    router.register("operator/tenants", OperatorTenantViewSet, basename="operator-tenant")
    router.register("operator/quotas", OperatorQuotaViewSet, basename="operator-quota")
    router.register("operator/audit-events", OperatorAuditEventViewSet, basename="operator-auditevent")
    router.register("operator/clusters", OperatorClusterViewSet, basename="operator-cluster")
    router.register("operator/change-requests", OperatorChangeRequestViewSet, basename="operator-changerequest")
    router.register("operator/plans", OperatorPlanViewSet, basename="operator-plan")
    router.register("operator/domains", OperatorDomainViewSet, basename="operator-domain")
    router.register("operator/host-claims", OperatorHostClaimViewSet, basename="operator-hostclaim")
    router.register("operator/image-rules", OperatorImageRuleViewSet, basename="operator-imagerule")
