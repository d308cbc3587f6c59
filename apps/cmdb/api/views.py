"""REST API of the CMDB: types, items (with impact, graph, history, import and export), relationships,
history and saved filters. Writes call services; every read goes through the restricted querysets."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.cmdb import selectors, services
from apps.cmdb.choices import Direction, Provenance
from apps.cmdb.filtersets import HistoryFilterSet, ItemFilterSet, RelationshipFilterSet
from apps.cmdb.models import ChangeRecord, ConfigurationItem, ImportJob, Relationship, SavedFilter
from apps.cmdb.policies import sees_platform, type_policy
from apps.cmdb.services import imports
from apps.cmdb.services.saved import saved_filter_create, saved_filter_delete
from apps.core.errors import PERMISSION_DENIED, ApplicationError, missing_scope
from apps.core.numbers import digits
from apps.core.parsers import FormParser, JSONParser, MultiPartParser
from apps.tenants.api.base import TenantViewSetMixin
from apps.tenants.principals import as_principal
from apps.tenants.roles import READ

from . import serializers as s

DEPTH_SCHEMA = {"type": "integer", "minimum": 1, "maximum": selectors.MAX_DEPTH}
DEPTH = OpenApiParameter("depth", DEPTH_SCHEMA, description="Hops to follow, 1 to 10.")
GRAPH_PARAMETERS = [
    OpenApiParameter("depth", DEPTH_SCHEMA, description="Hops either way from the item, 1 to 10 (default 2)."),
    OpenApiParameter("type", OpenApiTypes.STR, many=True, description="Show only items of these types."),
    OpenApiParameter(
        "provenance",
        OpenApiTypes.STR,
        many=True,
        enum=Provenance.values,
        description="Show only edges of these provenances.",
    ),
    OpenApiParameter("stale", OpenApiTypes.BOOL, description="Include stale and retired items (default true)."),
]


def _int(value, default: int, field: str) -> int:
    if value in (None, ""):
        return default
    if not digits(str(value)) or not 1 <= int(value) <= selectors.MAX_DEPTH:
        raise ApplicationError(f"Give {field} as a whole number from 1 to {selectors.MAX_DEPTH}.", field=field)
    return int(value)


def _flag(value: str, field: str) -> bool:
    if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise ApplicationError(f"Give {field} as true or false.", field=field)
    return value.lower() in ("true", "1", "yes")


def _choices(values: list[str], allowed: list[str], field: str) -> list[str]:
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ApplicationError(f"Give {field} as one or more of {', '.join(allowed)}.", field=field)
    return values


def graph_for(request, item) -> dict:
    """The map's data around `item`, with the filters of the query string."""
    params = request.query_params if hasattr(request, "query_params") else request.GET
    return selectors.graph(
        item,
        depth=_int(params.get("depth"), 2, "depth"),
        tenant_ids=selectors.tenant_scope(request),
        platform=sees_platform(request),
        types=params.getlist("type"),
        provenances=_choices(params.getlist("provenance"), Provenance.values, "provenance"),
        include_stale=_flag(params.get("stale", "true"), "stale"),
    )


class TypesPermission(permissions.BasePermission):
    """Reading needs a signed-in user (a key needs `cmdb:read`); writing needs an operator."""

    def has_permission(self, request, view):
        if request.method not in permissions.SAFE_METHODS:
            self.message = {"code": PERMISSION_DENIED, "detail": services.types.ONLY_OPERATORS}
            return type_policy.can_add(request)
        self.message = missing_scope("cmdb", READ)
        return as_principal(request).has_scope("cmdb", READ)


class CITypeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """CI types: the kinds of item, each with the JSON schema of its attributes. Operators define
    them through /api/v1/operator/cmdb-types/."""

    serializer_class = s.CITypeSerializer
    permission_classes = [permissions.IsAuthenticated, TypesPermission]
    lookup_field = "slug"
    pagination_class = None

    def get_queryset(self):
        return selectors.ci_type_list_for(self.request)


class OperatorCITypeViewSet(CITypeViewSet, mixins.CreateModelMixin):
    """Operators define CI types and change their names and schemas."""

    permission_classes = [permissions.IsAuthenticated, permissions.IsAdminUser, TypesPermission]

    def create(self, request):
        data = s.CITypeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ci_type = services.type_create(operator=as_principal(request), **data.validated_data)
        return Response(s.CITypeSerializer(ci_type).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CITypeUpdateSerializer, responses=s.CITypeSerializer)
    def partial_update(self, request, slug=None):
        data = s.CITypeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ci_type = services.type_update(operator=as_principal(request), ci_type=self.get_object(), **data.validated_data)
        return Response(s.CITypeSerializer(ci_type).data)


class ItemViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Configuration items of your tenants, and the platform items your relationships reach.
    Search with `q` (name or key), `type`, `label=name=value`, `attribute=name=value`, `provenance`,
    `status`."""

    model = ConfigurationItem
    serializer_class = s.ItemSerializer
    filterset_class = ItemFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant", "ci_type").order_by("-id")

    def filter_queryset(self, queryset):
        # The search applies to lists; the graph's own "type" and "provenance" filters are not it.
        return super().filter_queryset(queryset) if self.action in ("list", "export_items") else queryset

    def _present(self, item, **kwargs):
        return Response(self.get_serializer(self.get_queryset().get(pk=item.pk)).data, **kwargs)

    @extend_schema(request=s.ItemCreateSerializer, responses={201: s.ItemSerializer})
    def create(self, request):
        data = s.ItemCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        item = services.item_declare(actor=self.principal, ci_type=fields.pop("type"), **fields)
        return self._present(item, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ItemUpdateSerializer)
    def partial_update(self, request, pk=None):
        data = s.ItemUpdateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        item = services.item_update(actor=self.principal, item=self.get_object(), **data.validated_data)
        return self._present(item)

    def destroy(self, request, pk=None):
        services.item_delete(actor=self.principal, item=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "direction",
                OpenApiTypes.STR,
                enum=Direction.values,
                description="downstream (default): what relies on the item; upstream: what it relies on.",
            ),
            DEPTH,
        ],
        responses=s.ImpactSerializer,
    )
    @action(detail=True, methods=["get"])
    def impact(self, request, pk=None):
        """Every item reached from this one to the given depth, with its depth and path (cycle-safe)."""
        item = self.get_object()
        direction = request.query_params.get("direction", Direction.DOWNSTREAM)
        if direction not in Direction.values:
            raise ApplicationError("Give direction as upstream or downstream.", field="direction")
        depth = _int(request.query_params.get("depth"), selectors.DEFAULT_DEPTH, "depth")
        report = selectors.impact_report(
            item,
            direction=direction,
            depth=depth,
            tenant_ids=selectors.tenant_scope(request),
            platform=sees_platform(request),
        )
        return Response(s.ImpactSerializer(report).data)

    @extend_schema(parameters=GRAPH_PARAMETERS, responses=s.GraphSerializer)
    @action(detail=True, methods=["get"])
    def graph(self, request, pk=None):
        """The dependency map around this item: nodes and edges, filtered."""
        return Response(s.GraphSerializer(graph_for(request, self.get_object())).data)

    @extend_schema(
        parameters=GRAPH_PARAMETERS,
        responses={(200, "text/vnd.graphviz"): OpenApiResponse(OpenApiTypes.STR, description="DOT")},
    )
    @action(detail=True, methods=["get"], url_path="graph/dot")
    def graph_dot(self, request, pk=None):
        """The same map in Graphviz DOT (`dot -Tsvg`)."""
        item = self.get_object()
        response = HttpResponse(selectors.graph_dot(graph_for(request, item)), content_type="text/vnd.graphviz")
        response["Content-Disposition"] = f'attachment; filename="cmdb-{item.pk}.dot"'
        return response

    @extend_schema(responses=s.ChangeRecordSerializer(many=True), filters=False)  # the list's search is not applied
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """Every change to this item and its relationships, newest first."""
        item = self.get_object()
        records = selectors.item_history_for(request, item=item)
        page = self.paginate_queryset(records.select_related("tenant").order_by("-id"))
        return self.get_paginated_response(s.ChangeRecordSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": s.ImportRequestSerializer, "application/json": s.ImportRequestSerializer},
        responses={
            200: s.ImportReportSerializer,
            202: s.ImportJobSerializer,
            400: s.ImportReportSerializer,
            413: OpenApiTypes.OBJECT,
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[MultiPartParser, FormParser, JSONParser],
    )
    def import_items(self, request):
        """Import items from CSV or JSON. Rows are all-or-nothing unless skip_invalid; dry_run reports.
        Up to CMDB_IMPORT_SYNC_ROWS rows answer 200 with the report; more answer 202 with a job to poll
        at its `status_url`. Uploads over CMDB_IMPORT_MAX_BYTES answer 413, over CMDB_IMPORT_MAX_ROWS 400."""
        length = request.META.get("CONTENT_LENGTH") or ""
        if digits(length):  # refuse before reading the body; multipart framing is allowed for
            imports.size_check(int(length) - imports.FRAMING_ALLOWANCE)
        data = s.ImportRequestSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        upload, options = data.validated_data.get("file"), data.validated_data
        if upload is not None:
            imports.size_check(upload.size)
        try:
            submitted = services.import_submit(
                actor=self.principal,
                tenant=options["tenant"],
                content=upload.read() if upload is not None else None,
                file_format=imports.file_format(upload.name) if upload is not None else "json",
                rows=None if upload is not None else options.get("items") or [],
                dry_run=options["dry_run"],
                skip_invalid=options["skip_invalid"],
            )
        except imports.RowsInvalid as exc:
            return Response({"code": exc.code, "detail": exc.message, **exc.report}, status=400)
        if submitted.job is not None:
            body = s.ImportJobSerializer(submitted.job, context={"request": request}).data
            return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})
        return Response(s.ImportReportSerializer(submitted.report).data)

    @extend_schema(
        parameters=[OpenApiParameter("as", OpenApiTypes.STR, enum=["json", "csv"])],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/json"): OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"], url_path="export", url_name="export")
    def export_items(self, request):
        """Your tenants' items (filtered like the list) as CSV or JSON, in the import's columns."""
        fmt = request.query_params.get("as", "json")
        if fmt not in ("json", "csv"):
            raise ApplicationError("Give as=json or as=csv.", field="as")
        items = self.filter_queryset(self.get_queryset()).filter(tenant__isnull=False).order_by("id")[:50000]
        response = HttpResponse(
            services.export_text(items, fmt), content_type="text/csv" if fmt == "csv" else "application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="cmdb-items.{fmt}"'
        return response


class ImportJobViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Background imports of your tenants: poll one's `status_url` for its state, progress and errors."""

    model = ImportJob
    serializer_class = s.ImportJobSerializer

    def optimise(self, queryset):
        return queryset.select_related("tenant").defer("content").order_by("-id")


class RelationshipViewSet(
    TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Relationships "source <kind> target" with where each came from; declare and remove declared ones."""

    model = Relationship
    serializer_class = s.RelationshipSerializer
    filterset_class = RelationshipFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant", "source", "target").order_by("-id")

    @extend_schema(request=s.RelationshipCreateSerializer, responses={201: s.RelationshipSerializer})
    def create(self, request):
        data = s.RelationshipCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields.pop("tenant")
        edge = services.relationship_declare(actor=self.principal, **fields)
        return Response(self.get_serializer(edge).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        services.relationship_delete(actor=self.principal, relationship=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChangeRecordViewSet(
    TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The CMDB's history: who or which source changed which item or relationship, before and after."""

    model = ChangeRecord
    serializer_class = s.ChangeRecordSerializer
    filterset_class = HistoryFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant").order_by("-id")


class SavedFilterViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Saved CMDB searches of your tenants; run one with the item list's parameters in `query`."""

    model = SavedFilter
    serializer_class = s.SavedFilterSerializer

    def optimise(self, queryset):
        return queryset.select_related("tenant", "created_by").order_by("-id")

    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        saved = saved_filter_create(actor=self.principal, **data.validated_data)
        return Response(self.get_serializer(saved).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, saved):
        saved_filter_delete(actor=self.principal, saved=saved)
