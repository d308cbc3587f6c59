"""REST API for routes. Writes call services; in a governed environment a write answers 202 with the
change request it waits for."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.tenants.api.base import TenantViewSetMixin

from .. import services, switches
from ..models import Route
from . import serializers as s


class RouteFilterSet(django_filters.FilterSet):
    tenant = django_filters.CharFilter(field_name="tenant__slug")
    environment = django_filters.CharFilter(field_name="environment__name")
    application = django_filters.CharFilter(field_name="application__name")
    host = django_filters.CharFilter(field_name="host")

    class Meta:
        model = Route
        fields = ["tenant", "environment", "application", "host", "state"]


def _waiting(route: Route, what: str) -> Response | None:
    request = getattr(route, "change_request", None)
    if request is None or not request.is_open:
        return None
    return Response(
        {
            "id": route.pk,
            "change_request": request.pk,
            "state": request.state,
            "detail": f"The {what} waits for approval in change request {request.pk}.",
        },
        status=status.HTTP_202_ACCEPTED,
    )


class RouteViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Routes: a host and path sent to an application's Service in an environment, rendered for the
    environment's cluster (an ingress-nginx Ingress or a Gateway API HTTPRoute) and applied after
    commit; `state` and `last_error` say how the cluster took it.

    A host belongs to one tenant platform-wide: naming one another tenant holds is a 409 `host_taken`.
    Bad input is a 400 naming each field, and nothing is applied. In a governed environment a create,
    change or delete answers 202 with the change request it waits for (give a `justification`).

    `maintenance/` sends the route to the namespace's maintenance server (503 with a page and
    Retry-After), now or in a window beat switches; `degrade/` serves a static 200 fallback for the
    route's path. Both are governed and audited like other route changes.
    """

    model = Route
    serializer_class = s.RouteSerializer
    filterset_class = RouteFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant", "environment", "application").order_by("host", "path", "id")

    def _present(self, route: Route, **kwargs) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=route.pk)).data, **kwargs)

    @extend_schema(request=s.RouteCreateSerializer, responses={201: s.RouteSerializer})
    def create(self, request):
        data = s.RouteCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        route = services.route_create(actor=self.principal, **data.validated_data)
        return _waiting(route, "route") or self._present(route, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.RouteUpdateSerializer)
    def update(self, request, pk=None):
        return self.partial_update(request, pk)

    @extend_schema(request=s.RouteUpdateSerializer)
    def partial_update(self, request, pk=None):
        route = self.get_object()
        data = s.RouteUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        route = services.route_update(actor=self.principal, route=route, **data.validated_data)
        return _waiting(route, "change") or self._present(route)

    @extend_schema(request=s.RouteDeleteSerializer, responses={204: None})
    def destroy(self, request, pk=None):
        route = self.get_object()
        data = s.RouteDeleteSerializer(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        waiting = services.route_delete(actor=self.principal, route=route, **data.validated_data)
        if waiting is not None:
            return _waiting(waiting, "removal") or Response(status=status.HTTP_204_NO_CONTENT)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.MaintenanceSerializer, responses={200: s.RouteSerializer})
    @action(detail=True, methods=["post"])
    def maintenance(self, request, pk=None):
        route = self.get_object()
        data = s.MaintenanceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        route = switches.route_maintenance(actor=self.principal, route=route, **data.validated_data)
        return _waiting(route, "maintenance switch") or self._present(route)

    @extend_schema(request=s.DegradeSerializer, responses={200: s.RouteSerializer})
    @action(detail=True, methods=["post"])
    def degrade(self, request, pk=None):
        route = self.get_object()
        data = s.DegradeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        route = switches.route_degrade(actor=self.principal, route=route, **data.validated_data)
        return _waiting(route, "degrade switch") or self._present(route)
