"""REST API for tenants, members, invitations, environments and quotas. Writes call services."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from apps.core.errors import denied, missing_scope
from apps.tenants import selectors, services
from apps.tenants.api.base import NamedLookupMixin, TenantViewSetMixin
from apps.tenants.backlog import backlog_of
from apps.tenants.models import Environment, Invitation, Membership, Quota, Tenant
from apps.tenants.principals import as_principal
from apps.tenants.quotas import usage_report
from apps.tenants.roles import READ

from . import serializers as s


class TenantViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The tenants you belong to. Creating one makes you its owner, with dev, staging and prod."""

    model = Tenant
    serializer_class = s.TenantSerializer
    lookup_field = "slug"
    tenant_lookup = "slug"
    pagination_class = None

    def create(self, request):
        data = s.TenantSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        tenant = services.tenant_create(actor=self.principal, **data.validated_data)
        return Response(self.get_serializer(tenant).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.TenantUpdateSerializer)
    def partial_update(self, request, slug=None):
        data = s.TenantUpdateSerializer(data=request.data, partial=True)  # PATCH: a field left out is kept
        data.is_valid(raise_exception=True)
        tenant = self.get_object()
        tenant = services.tenant_update(
            actor=self.principal, tenant=tenant, name=data.validated_data.get("name", tenant.name)
        )
        return Response(self.get_serializer(tenant).data)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def leave(self, request, slug=None):
        """Leave this tenant. The last owner cannot leave."""
        tenant = self.get_object()
        membership = selectors.membership_of(self.principal, tenant=tenant)
        services.member_leave(actor=self.principal, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=s.QuotaUsageSerializer(many=True))
    @action(detail=True, methods=["get"])
    def usage(self, request, slug=None):
        """Used / limit / remaining for each of the tenant's quotas."""
        if not as_principal(request).has_scope("quotas", "read"):
            raise PermissionDenied(missing_scope("quotas", READ))
        return Response(s.QuotaUsageSerializer(usage_report(self.get_object()), many=True).data)

    @extend_schema(responses=s.BacklogSerializer(many=True))
    @action(detail=True, methods=["get"])
    def backlog(self, request, slug=None):
        """The tenant's background work: for deployments and builds, how many may run at once, how many
        run and how many wait their turn."""
        if not as_principal(request).has_scope("quotas", "read"):
            raise PermissionDenied(missing_scope("quotas", READ))
        return Response(s.BacklogSerializer(backlog_of(self.get_object()), many=True).data)


class MembershipViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Members of your tenants and their roles."""

    model = Membership
    serializer_class = s.MembershipSerializer
    filterset_fields = ["role"]

    def optimise(self, queryset):
        return queryset.select_related("user", "tenant").order_by("-id")

    @extend_schema(request=s.RoleSerializer)
    def partial_update(self, request, pk=None):
        data = s.RoleSerializer(data=request.data, partial=True)  # PATCH: a role left out is kept
        data.is_valid(raise_exception=True)
        membership = self.get_object()
        membership = services.member_change_role(
            actor=self.principal, membership=membership, role=data.validated_data.get("role", membership.role)
        )
        return Response(self.get_serializer(membership).data)

    def perform_destroy(self, membership):
        services.member_remove(actor=self.principal, membership=membership)


class InvitationViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Invitations to join a tenant. Deleting one withdraws it."""

    model = Invitation
    serializer_class = s.InvitationSerializer

    def optimise(self, queryset):
        return queryset.select_related("tenant", "invited_by").order_by("-id")

    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, _ = services.invitation_create(actor=self.principal, **data.validated_data)
        return Response(self.get_serializer(invitation).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, invitation):
        services.invitation_revoke(actor=self.principal, invitation=invitation)

    @extend_schema(request=s.InvitationAcceptSerializer, responses=s.MembershipSerializer)
    @action(detail=False, methods=["post"])
    def accept(self, request):
        """Accept an invitation sent to your email address, with the token from its link."""
        data = s.InvitationAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if as_principal(request).api_key is not None:
            raise denied("Invitations are accepted by people.")
        membership = services.invitation_accept(user=request.user, token=data.validated_data["token"])
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class EnvironmentViewSet(
    NamedLookupMixin,
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Environments: one Kubernetes namespace each, named at creation and never renamed."""

    model = Environment
    lookup_by_name = "environment"
    serializer_class = s.EnvironmentSerializer
    filterset_fields = ["kind", "name"]

    def optimise(self, queryset):
        return queryset.order_by("-id")  # the tenant shows as its slug, which TenantField knows by id

    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        environment = services.environment_create(actor=self.principal, **data.validated_data)
        return Response(self.get_serializer(environment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.EnvironmentUpdateSerializer)
    def partial_update(self, request, pk=None):
        data = s.EnvironmentUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        environment = services.environment_update(
            actor=self.principal, environment=self.get_object(), **data.validated_data
        )
        return Response(self.get_serializer(environment).data)

    def perform_destroy(self, environment):
        services.environment_delete(actor=self.principal, environment=environment)


class QuotaViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Your tenants' quotas. Operators set them; usage is at /tenants/{slug}/usage/."""

    model = Quota
    serializer_class = s.QuotaSerializer
    filterset_fields = ["resource"]
    action_scopes = {"request_increase": ("approvals", "write")}  # it files a change request

    def optimise(self, queryset):
        return queryset.select_related("tenant", "environment").order_by("-id")

    @extend_schema(request=s.QuotaIncreaseSerializer, responses={201: s.ChangeRequestRefSerializer})
    @action(detail=False, methods=["post"], url_path="request-increase")
    def request_increase(self, request):
        """Owners and admins ask for a higher limit; operators approve or reject the change request."""
        data = s.QuotaIncreaseSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        tenant, name = data.validated_data["tenant"], data.validated_data["environment"]
        environment = tenant.environments.filter(name=name).first() if name else None
        if name and environment is None:
            raise ValidationError({"environment": [f"No environment {name} in {tenant.slug}."]})
        change_request = services.quota_request_increase(
            actor=self.principal,
            tenant=tenant,
            resource=data.validated_data["resource"],
            environment=environment,
            limit=data.validated_data["limit"],
            justification=data.validated_data["justification"],
        )
        return Response(
            {"change_request": change_request.pk, "state": change_request.state, "title": change_request.title},
            status=status.HTTP_201_CREATED,
        )
