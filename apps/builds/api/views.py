"""REST API for builds: start one (an uploaded context or a Git repository), list, read, cancel, and
the log after a seq."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.core.errors import ApplicationError
from apps.tenants.api.base import TenantViewSetMixin
from apps.tenants.selectors import tenant_for

from .. import services
from ..engine import EngineError, configured
from ..filtersets import BuildFilterSet
from ..models import Build
from ..selectors import LOG_PAGE_MAX, images_for, log_after
from . import serializers as s

AFTER_SEQ = OpenApiParameter(
    "after_seq",
    OpenApiTypes.INT,
    OpenApiParameter.QUERY,
    required=False,
    description="Only lines with a larger seq (what a page missed while disconnected).",
)


class BuildViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Builds of application images, pushed to the platform registry under <registry>/<tenant>/<application>.
    A build runs queued -> running -> pushing -> succeeded | failed | cancelled; `digest` is the pushed
    manifest's digest as the registry gives it."""

    model = Build
    serializer_class = s.BuildSerializer
    filterset_class = BuildFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant", "application", "release", "requested_by")

    @extend_schema(
        request={"multipart/form-data": s.BuildCreateSerializer, "application/json": s.BuildCreateSerializer},
        responses={201: s.BuildSerializer},
    )
    def create(self, request):
        """Queue a build. Multipart with `context` (a .tar.gz; 413 when over the limit, 400 when a path
        leaves it), or `repository_url` (https, from an allowed host) and `ref`."""
        data = s.BuildCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        del fields["tenant"]
        upload = fields.pop("context", None)
        build = services.build_request(
            actor=self.principal, context=upload.read() if upload is not None else None, **fields
        )
        return Response(self.get_serializer(build).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.BuildSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Stop the build: a queued one at once, a running one within a second. 409 when it already ended."""
        build = services.build_cancel(actor=self.principal, build=self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=build.pk)).data)

    @extend_schema(parameters=[AFTER_SEQ], responses=s.BuildLogLineSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def log(self, request, pk=None):
        """The build's log lines in seq order (at most 1000 per call; ask again after the last seq)."""
        try:
            after = int(request.query_params.get("after_seq", 0))
        except ValueError:
            raise ValidationError({"after_seq": ["A whole number."]}) from None
        rows = log_after(self.get_object(), after, LOG_PAGE_MAX)
        return Response(s.BuildLogLineSerializer(rows, many=True).data)


class ImageViewSet(TenantViewSetMixin, viewsets.ViewSet):
    """The images in the platform registry: one repository per application, read from the registry."""

    model = Build  # the scope: builds:read
    pagination_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter("tenant", OpenApiTypes.STR, required=False, description="A tenant's slug."),
            OpenApiParameter("application", OpenApiTypes.STR, required=False, description="An application's name."),
        ],
        responses=s.ImageSerializer(many=True),
    )
    def list(self, request):
        """Repositories of the applications you may see, each tag with its digest, size, and the releases
        and workloads using it. 503 when no registry is configured or it cannot be read."""
        tenant = None
        slug = request.query_params.get("tenant")
        if slug:
            try:
                tenant = tenant_for(self.principal, slug)
            except Http404:
                raise ValidationError({"tenant": [f"No tenant {slug} among yours."]}) from None
        if not configured():
            raise ApplicationError("No image registry is configured.", code=services.BUILDS_OFF, status=503)
        try:
            images = images_for(self.principal, tenant=tenant, application=request.query_params.get("application", ""))
        except EngineError as exc:
            raise ApplicationError(str(exc), code=services.REGISTRY_UNREADABLE, status=503) from None
        return Response(s.ImageSerializer(images, many=True).data)
