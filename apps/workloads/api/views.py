"""REST API for workloads: what runs now, read from the cluster; its events and logs on demand.
Keys need `deployments:read`. Another tenant's workload is a 404 like a missing one."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.deployments.api.serializers import GovernedSerializer, ScaleSerializer
from apps.tenants.api.base import TenantViewSetMixin

from ..filtersets import IncidentFilterSet, WorkloadFilterSet
from ..incidents import incident_acknowledge, incident_resolve, incident_restart, incident_scale
from ..live import workload_events, workload_logs
from ..models import Incident, Workload
from ..selectors import with_formation
from ..services import workload_read_for_a_person
from . import serializers as s


class WorkloadViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One workload per application and environment it was deployed to. The list is what the cluster
    said when each row was last read (`observed_at`); reading one workload reads the cluster again."""

    model = Workload
    serializer_class = s.WorkloadSerializer
    filterset_class = WorkloadFilterSet

    def optimise(self, queryset):
        if self.action == "list":
            # Plain rows of the columns a row shows: no models, and no replica history (six hours of
            # samples per row that only the workload page's chart draws).
            return with_formation(queryset).values(*s.WorkloadSerializer.COLUMNS)
        rows = queryset.select_related("tenant", "application", "environment", "release").defer("replica_history")
        return with_formation(rows)

    def retrieve(self, request, *args, **kwargs):
        workload = self.get_object()
        workload_read_for_a_person(workload)
        return Response(self.get_serializer(self.get_queryset().get(pk=workload.pk)).data)

    @extend_schema(responses=s.WorkloadEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def events(self, request, pk=None):
        """The cluster's events about the workload's objects and the portal's lines about its
        deployments, newest first. 503 `cluster_unreadable` when the cluster cannot be read."""
        return Response(s.WorkloadEventSerializer(workload_events(self.get_object()), many=True).data)

    @extend_schema(
        parameters=[s.LogQuerySerializer],
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def logs(self, request, pk=None):
        """Log lines as plain text: one pod's, or every pod's with each line prefixed `[pod]`. At most 4 MiB,
        the newest lines (every pod's share of it): when older lines were left out, the header
        `Logs-Truncated: true` says so; ask for fewer (`tail`, `since`) or for one `pod`."""
        query = s.LogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        text, cut = workload_logs(self.get_object(), **query.validated_data)
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        if cut:
            response["Logs-Truncated"] = "true"
        return response


class IncidentViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Incidents of the tenant's workloads: opened and resolved by what the cluster shows; people
    acknowledge them, and may resolve one by hand (it opens again if the cause is still there)."""

    model = Incident
    serializer_class = s.IncidentSerializer
    filterset_class = IncidentFilterSet

    def optimise(self, queryset):
        return queryset.select_related(
            "tenant", "workload__application", "workload__environment", "acknowledged_by", "resolved_by"
        ).order_by("-id")

    @extend_schema(request=None, responses=s.IncidentSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        incident = incident_acknowledge(actor=self.principal, incident=self.get_object())
        return Response(self.get_serializer(incident).data)

    @extend_schema(request=None, responses=s.IncidentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        incident = incident_resolve(actor=self.principal, incident=self.get_object())
        return Response(self.get_serializer(incident).data)

    def _act(self, request, service, body_class):
        """Run an action on the incident's workload: 200 with the incident when it was made, 202 when it
        waits (for approval or for the cluster); the incident's `action` says which."""
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        incident = service(actor=self.principal, incident=self.get_object(), **body.validated_data)
        return Response(
            self.get_serializer(incident).data,
            status=status.HTTP_202_ACCEPTED if incident.waiting else status.HTTP_200_OK,
        )

    @extend_schema(request=GovernedSerializer, responses={200: s.IncidentSerializer, 202: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def restart(self, request, pk=None):
        """Restart every pod of the workload, as the live deployment's restart (approvals, freezes and
        audit apply). 202 when it waits for approval or for the cluster; `action` says which."""
        return self._act(request, incident_restart, GovernedSerializer)

    @extend_schema(request=ScaleSerializer, responses={200: s.IncidentSerializer, 202: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def scale(self, request, pk=None):
        """Scale the workload, as the live deployment's scale (quotas, approvals and audit apply); an
        autoscaled release is refused with 409 `autoscaled`. 202 when it waits; `action` says which."""
        return self._act(request, incident_scale, ScaleSerializer)
