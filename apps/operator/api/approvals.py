"""The operator API of approvals: every tenant's pending change requests, oldest first, and the
platform's approval rules. Staff only, by session, like the rest of the operator API."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.approvals.api.serializers import ApprovalRulesSerializer, CommentSerializer, OperatorChangeRequestSerializer
from apps.approvals.choices import Verdict
from apps.approvals.models import ApprovalRules
from apps.approvals.selectors import pending_change_requests
from apps.approvals.services.configuration import approval_rules_update
from apps.approvals.services.requests import change_request_decide
from apps.tenants.principals import as_principal

from .views import OperatorViewSet


class OldestFirst(CursorPagination):
    ordering = ("created_at", "id")
    page_size_query_param = "page_size"
    max_page_size = 100


class OperatorChangeRequestViewSet(OperatorViewSet, mixins.ListModelMixin):
    """Every tenant's pending change requests, oldest first, with their age and whether they waited
    longer than the platform's review SLA. `?tenant=<slug>` narrows to one tenant."""

    serializer_class = OperatorChangeRequestSerializer
    pagination_class = OldestFirst
    queryset = pending_change_requests()

    def get_queryset(self):
        return pending_change_requests(tenant_slug=self.request.query_params.get("tenant"))

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "now": timezone.now(),
            "sla_hours": ApprovalRules.current().review_sla_hours,
        }

    def _decide(self, request, verdict: str):
        data = CommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The request's principal carries its session: deciding by session needs a recent re-authentication
        # (apps/tenants/stepup.py).
        change_request = change_request_decide(
            actor=as_principal(request),
            change_request=self.get_object(),
            verdict=verdict,
            comment=data.validated_data["comment"],
        )
        return Response(self.get_serializer(change_request).data)

    @extend_schema(request=CommentSerializer, responses=OperatorChangeRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve a request that waits for the platform (a quota increase); the new limit applies at once."""
        return self._decide(request, Verdict.APPROVE)

    @extend_schema(request=CommentSerializer, responses=OperatorChangeRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject a request that waits for the platform."""
        return self._decide(request, Verdict.REJECT)


class OperatorApprovalRulesView(APIView):
    """The limits every tenant's approval policies keep. PUT changes the rules given (audited)."""

    permission_classes = OperatorViewSet.permission_classes

    @extend_schema(responses=ApprovalRulesSerializer)
    def get(self, request):
        return Response(ApprovalRulesSerializer(ApprovalRules.current()).data)

    @extend_schema(request=ApprovalRulesSerializer, responses=ApprovalRulesSerializer)
    def put(self, request):
        data = ApprovalRulesSerializer(ApprovalRules.current(), data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        rules = approval_rules_update(operator=as_principal(request), **data.validated_data)
        return Response(ApprovalRulesSerializer(rules).data)
