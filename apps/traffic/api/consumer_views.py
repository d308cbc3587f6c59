"""REST API for usage plans and consumer keys, and the gateway's check of a consumer key."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.apikeys import ratelimit
from apps.tenants.api.base import TenantViewSetMixin

from .. import consumer_keys, gateway
from ..models import ConsumerKey, UsagePlan
from . import consumer_serializers as s


class UsagePlanFilterSet(django_filters.FilterSet):
    tenant = django_filters.CharFilter(field_name="tenant__slug")

    class Meta:
        model = UsagePlan
        fields = ["tenant", "name"]


class UsagePlanViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    """A tenant's usage plans: the rate (per second, with a burst) and the daily and monthly quotas each of
    its consumer keys is held to, counted across every gateway pod. A plan that keys are on cannot be
    deleted (409 `plan_in_use`); changing it applies to its keys from their next call."""

    model = UsagePlan
    serializer_class = s.UsagePlanSerializer
    filterset_class = UsagePlanFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant").order_by("name", "id")

    @extend_schema(request=s.UsagePlanCreateSerializer, responses={201: s.UsagePlanSerializer})
    def create(self, request):
        data = s.UsagePlanCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        plan = consumer_keys.usage_plan_create(actor=self.principal, **data.validated_data)
        return Response(self.get_serializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.UsagePlanFieldsSerializer)
    def update(self, request, pk=None):
        return self.partial_update(request, pk)

    @extend_schema(request=s.UsagePlanFieldsSerializer)
    def partial_update(self, request, pk=None):
        plan = self.get_object()
        data = s.UsagePlanFieldsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = consumer_keys.usage_plan_update(actor=self.principal, plan=plan, **data.validated_data)
        return Response(self.get_serializer(plan).data)

    def perform_destroy(self, plan):
        consumer_keys.usage_plan_delete(actor=self.principal, plan=plan)


class ConsumerKeyFilterSet(django_filters.FilterSet):
    tenant = django_filters.CharFilter(field_name="tenant__slug")
    usage_plan = django_filters.NumberFilter(field_name="usage_plan_id")

    class Meta:
        model = ConsumerKey
        fields = ["tenant", "usage_plan"]


class ConsumerKeyViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Keys the tenant gives the consumers of its own APIs (`ck_…`), checked by the gateway on routes with
    `auth=api_key`. The key is in the create response only; DELETE revokes it at once."""

    model = ConsumerKey
    serializer_class = s.ConsumerKeySerializer
    filterset_class = ConsumerKeyFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant", "usage_plan").order_by("-id")

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(queryset) if page is None else page
        calls = ratelimit.consumer_consumption([row.pk for row in rows])  # the page's, in one round trip
        serializer = self.get_serializer(rows, many=True, context={**self.get_serializer_context(), "calls": calls})
        return Response(serializer.data) if page is None else self.get_paginated_response(serializer.data)

    @extend_schema(request=s.ConsumerKeyCreateSerializer, responses={201: s.ConsumerKeyCreatedSerializer})
    def create(self, request):
        data = s.ConsumerKeyCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        consumer_key, plaintext = consumer_keys.consumer_key_create(actor=self.principal, **data.validated_data)
        consumer_key.key = plaintext
        response = Response(s.ConsumerKeyCreatedSerializer(consumer_key).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    def perform_destroy(self, consumer_key):
        consumer_keys.consumer_key_revoke(actor=self.principal, consumer_key=consumer_key)


_HEADERS = [
    OpenApiParameter(
        gateway.KEY_HEADER,
        str,
        OpenApiParameter.HEADER,
        description="The consumer key (ck_…); `Authorization: Bearer ck_…` works too.",
    )
]


class GatewayVerifyView(APIView):
    """The traffic controller's check before it forwards a request to a route with `auth=api_key`.

    200 with X-Consumer-Id, X-Consumer-Name and X-Consumer-Plan; 401 without a consumer key of the
    portal's (none, a portal API key, unknown, revoked, expired); 403 when the key is another tenant's,
    the route takes no keys, or the key's plan is used up for now (`X-Portal-Reason: rate_limited` or
    `quota_exceeded`, with Retry-After). ingress-nginx turns any other answer into a 500, hence 403;
    a gateway that passes the status on asks with `over_limit_status=429`. No session, no CSRF and no
    portal rate limit: only the consumer's own plan counts."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list = []

    @extend_schema(
        auth=[],
        parameters=[
            OpenApiParameter("route", int, required=True, description="The route's id (in its auth-url)."),
            OpenApiParameter(
                "over_limit_status",
                int,
                enum=list(gateway.OVER_LIMIT_STATUSES),
                description="The status of an over-limit answer: 403 (default, for ingress-nginx) or 429.",
            ),
            *_HEADERS,
        ],
        responses={
            200: s.VerifiedSerializer,
            401: OpenApiResponse(s.RefusedSerializer, description="No consumer key of the portal's."),
            403: OpenApiResponse(s.RefusedSerializer, description="Not for this route, or over the plan's limit."),
            429: OpenApiResponse(s.RefusedSerializer, description="Over the plan's limit (over_limit_status=429)."),
        },
    )
    def get(self, request):
        return gateway.answer(request)
