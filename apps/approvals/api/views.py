"""REST API of approvals: policies, freeze windows, change requests and their decisions. Writes and
decisions call services; the operator endpoints list every tenant's pending requests and set the rules."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api import query_flag
from apps.core.idempotency import idempotent
from apps.tenants.api.base import TenantViewSetMixin
from apps.tenants.roles import Role

from ..choices import Verdict
from ..filtersets import ApprovalPolicyFilterSet, ChangeRequestFilterSet, FreezeWindowFilterSet
from ..models import ApprovalPolicy, ChangeRequest, FreezeWindow
from ..selectors import waiting_for, with_decisions, with_stages
from ..services import configuration, requests
from . import serializers as s

# --- Policies ----------------------------------------------------------------------------------


class ApprovalPolicyViewSet(
    TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """How changes to each environment are approved (a policy without an environment is the tenant's
    default). Owners and admins set them, within the platform's rules; saving replaces the stages."""

    model = ApprovalPolicy
    serializer_class = s.ApprovalPolicySerializer
    filterset_class = ApprovalPolicyFilterSet

    def optimise(self, queryset):
        return with_stages(queryset.select_related("tenant", "environment")).order_by("-id")

    def _present(self, policy, **kwargs):
        return Response(self.get_serializer(self.get_queryset().get(pk=policy.pk)).data, **kwargs)

    @extend_schema(request=s.ApprovalPolicyWriteSerializer, responses={201: s.ApprovalPolicySerializer})
    def create(self, request):
        data = s.ApprovalPolicyWriteSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        policy = configuration.approval_policy_save(actor=self.principal, **data.validated_data)
        return self._present(policy, status=status.HTTP_201_CREATED)

    def _update(self, request, partial: bool):
        policy = self.get_object()
        data = s.ApprovalPolicyUpdateSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = {
            "requires_approval": policy.requires_approval,
            "allow_self_approval": policy.allow_self_approval,
            "expire_after_hours": policy.expire_after_hours,
            "stages": [
                {
                    "name": stage.name,
                    "quorum": stage.quorum,
                    "roles": list(stage.roles),
                    "members": [member.pk for member in stage.members.all()],
                }
                for stage in sorted(policy.stages.all(), key=lambda stage: stage.position)
            ],
        }
        values.update(data.validated_data)
        configuration.approval_policy_save(
            actor=self.principal, tenant=policy.tenant, environment=policy.environment, **values
        )
        return self._present(policy)

    @extend_schema(request=s.ApprovalPolicyUpdateSerializer, responses=s.ApprovalPolicySerializer)
    def update(self, request, pk=None):
        return self._update(request, partial=False)

    @extend_schema(request=s.ApprovalPolicyUpdateSerializer, responses=s.ApprovalPolicySerializer)
    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        configuration.approval_policy_delete(actor=self.principal, policy=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Freeze windows ----------------------------------------------------------------------------


class FreezeWindowViewSet(
    TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Times when changes are refused unless an owner uses break-glass: once, or every week (UTC)."""

    model = FreezeWindow
    serializer_class = s.FreezeWindowSerializer
    filterset_class = FreezeWindowFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant", "environment", "created_by").order_by("-id")

    @extend_schema(request=s.FreezeWindowCreateSerializer, responses={201: s.FreezeWindowSerializer})
    def create(self, request):
        data = s.FreezeWindowCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        window = configuration.freeze_window_create(actor=self.principal, **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=window.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        configuration.freeze_window_delete(actor=self.principal, window=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Change requests ---------------------------------------------------------------------------

WAITING_FOR_ME = OpenApiParameter(
    "waiting_for_me",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description="Only open requests whose current stage waits for the caller.",
)


@extend_schema_view(list=extend_schema(parameters=[WAITING_FOR_ME]))
class ChangeRequestViewSet(
    TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Governed changes (deploys, rollbacks, promotions, scales) waiting for, or past, their approval.
    They open by themselves when such a change is asked for; approvers decide with approve/reject."""

    model = ChangeRequest
    serializer_class = s.ChangeRequestSerializer
    filterset_class = ChangeRequestFilterSet

    def get_serializer_class(self):
        return s.ChangeRequestSerializer if self.action == "list" else s.ChangeRequestDetailSerializer

    def optimise(self, queryset):
        queryset = queryset.select_related("tenant", "environment", "requested_by")
        if self.action != "list":
            queryset = with_decisions(queryset)
        if query_flag(self.request, "waiting_for_me"):
            principal = self.principal
            waiting = waiting_for(principal.user, principal.tenant_ids(Role.VIEWER))
            queryset = queryset.filter(pk__in=[request.pk for request in waiting])
        return queryset

    def _present(self, change_request):
        return Response(
            s.ChangeRequestDetailSerializer(
                self.get_queryset().get(pk=change_request.pk), context=self.get_serializer_context()
            ).data
        )

    def _decide(self, request, verdict: str):
        data = s.CommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change_request = requests.change_request_decide(
            actor=self.principal,
            change_request=self.get_object(),
            verdict=verdict,
            comment=data.validated_data["comment"],
        )
        return self._present(change_request)

    @idempotent
    @extend_schema(request=s.CommentSerializer, responses=s.ChangeRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve the current stage. 409 when the request is closed, you decided already, or the change
        moved since (then earlier approvals are void and the request shows the new diff)."""
        return self._decide(request, Verdict.APPROVE)

    @idempotent
    @extend_schema(request=s.CommentSerializer, responses=s.ChangeRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject the request: it closes, and a deployment waiting for it is cancelled."""
        return self._decide(request, Verdict.REJECT)

    @extend_schema(request=s.WithdrawSerializer, responses=s.ChangeRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """The requester (or an admin) takes the request back; a waiting deployment is cancelled."""
        data = s.WithdrawSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change_request = requests.change_request_withdraw(
            actor=self.principal, change_request=self.get_object(), reason=data.validated_data["reason"]
        )
        return self._present(change_request)
