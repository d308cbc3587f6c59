"""REST API for applications, releases and service templates. Writes call services."""

from django.db.models import Max
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.catalog import services
from apps.catalog.filtersets import ApplicationFilterSet, ReleaseFilterSet, TemplateFilterSet
from apps.catalog.models import Application, Release
from apps.catalog.policies import template_policy
from apps.catalog.selectors import templates_visible_to
from apps.core.errors import PERMISSION_DENIED, ApplicationError, missing_scope
from apps.core.idempotency import idempotent
from apps.core.numbers import as_id
from apps.tenants.api.base import NamedLookupMixin, TenantViewSetMixin
from apps.tenants.principals import as_principal
from apps.tenants.roles import READ

from . import serializers as s


class ApplicationViewSet(
    NamedLookupMixin, TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Applications: a web service, worker or cron job, made from scratch or from a service template.

    Creating one from a template that gives an image also cuts release #1. Name and kind never change.
    """

    model = Application
    lookup_by_name = "application"
    serializer_class = s.ApplicationSerializer
    filterset_class = ApplicationFilterSet

    def optimise(self, queryset):
        return (
            queryset.select_related("tenant", "owner", "template")
            .annotate(latest_number=Max("releases__number"))
            .order_by("-id")
        )

    def _present(self, application, **kwargs):
        return Response(self.get_serializer(self.get_queryset().get(pk=application.pk)).data, **kwargs)

    @extend_schema(
        request=s.ApplicationCreateSerializer,
        responses={201: s.ApplicationSerializer},
        examples=[
            OpenApiExample(
                "A web service",
                request_only=True,
                value={
                    "tenant": "acme",
                    "name": "shop",
                    "component_kind": "web",
                    "team": "checkout",
                    "owner": "dev@acme.example.com",
                    "repository_url": "https://git.example.com/acme/shop",
                },
            ),
            OpenApiExample(
                "From a template",
                request_only=True,
                value={"tenant": "acme", "name": "cache", "template": 3, "parameters": {"memory": "256Mi"}},
            ),
        ],
    )
    def create(self, request):
        data = s.ApplicationCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        application = services.application_create(actor=self.principal, **data.validated_data)
        return self._present(application, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ApplicationUpdateSerializer)
    def partial_update(self, request, pk=None):
        application = self.get_object()
        data = s.ApplicationUpdateSerializer(
            data=request.data, context={"request": request, "application": application}
        )
        data.is_valid(raise_exception=True)
        services.application_update(actor=self.principal, application=application, **data.validated_data)
        return self._present(application)


class ReleaseViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Immutable, numbered releases. POST cuts the application's next release; nothing is ever edited
    or deleted, and a rollback deploys an earlier release."""

    model = Release
    serializer_class = s.ReleaseSerializer
    filterset_class = ReleaseFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant", "application", "created_by").order_by("-id")

    @idempotent
    @extend_schema(
        request=s.ReleaseCreateSerializer,
        responses={201: s.ReleaseSerializer},
        examples=[
            OpenApiExample(
                "Next release of an application",
                request_only=True,
                value={
                    "tenant": "acme",
                    "application": 7,
                    "image": "registry.example.com/acme/shop:1.4.2",
                    "env": {"LOG_LEVEL": "info"},
                    "replicas": 3,
                    "ports": [{"name": "http", "port": 8080}],
                    "readiness_probe": {"httpGet": {"path": "/healthz", "port": 8080}},
                },
            ),
            OpenApiExample(
                "Refused: a misspelt field",
                response_only=True,
                status_codes=["400"],
                value={
                    "code": "invalid",
                    "detail": "The request has invalid fields.",
                    "fields": {"replica": ["Unknown field."]},
                },
            ),
        ],
    )
    def create(self, request):
        data = s.ReleaseCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields.pop("tenant")
        release = services.release_create(actor=self.principal, **fields)
        return Response(self.get_serializer(release).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "against",
                OpenApiTypes.INT,
                required=True,
                description="Id of the release to compare against (the “before”).",
            )
        ],
        responses=s.ReleaseDiffSerializer,
    )
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        """What changed from release `against` to this one, field by field (env vars one by one)."""
        release = self.get_object()
        against = self._against(request.query_params.get("against", ""))
        changes = services.release_diff(against, release)
        body = {
            "application": release.application_id,
            "before": against.number,
            "after": release.number,
            "changes": [{"field": f, "before": b, "after": a} for f, b, a in changes],
        }
        return Response(s.ReleaseDiffSerializer(body).data)

    def _against(self, value: str) -> Release:
        pk = as_id(value)
        release = self.get_queryset().filter(pk=pk).first() if pk else None
        if release is None:
            raise ApplicationError(f"No release with id “{value}” to compare against.", code="invalid", field="against")
        return release


class TemplatesPermission(permissions.BasePermission):
    """Reading needs a signed-in user (through a key, the `apps:read` scope); publishing needs an
    operator signed in without a key, as the template policy says."""

    def has_permission(self, request, view):
        if request.method not in permissions.SAFE_METHODS:
            self.message = {"code": PERMISSION_DENIED, "detail": "Only platform operators publish templates."}
            return template_policy.can_add(request)
        self.message = missing_scope("apps", READ)
        return as_principal(request).has_scope("apps", READ)


class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The platform's service templates, newest first. Everyone signed in reads them; operators publish
    them, and posting an existing slug publishes its next version."""

    serializer_class = s.TemplateSerializer
    permission_classes = [permissions.IsAuthenticated, TemplatesPermission]
    filterset_class = TemplateFilterSet

    def get_queryset(self):
        return templates_visible_to(self.request).order_by("-id")

    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = services.template_create(operator=as_principal(request), **data.validated_data)
        return Response(self.get_serializer(template).data, status=status.HTTP_201_CREATED)
