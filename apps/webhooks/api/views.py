"""REST API for webhook endpoints and their deliveries. Writes call services."""

from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.tenants.api.base import TenantViewSetMixin
from apps.tenants.principals import as_principal
from apps.webhooks import selectors, services
from apps.webhooks.filtersets import WebhookDeliveryFilterSet, WebhookEndpointFilterSet
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint

from . import serializers as s


def _secret_response(endpoint, secret, **kwargs) -> Response:
    """The only responses that carry a secret; no browser or proxy may keep a copy."""
    data = s.WebhookEndpointWithSecretSerializer(endpoint).data
    data["secret"] = secret
    response = Response(data, **kwargs)
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store"
    return response


class WebhookEndpointViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook endpoints: URLs that receive the tenant's events, signed with a per-endpoint secret.

    Creating one and `rotate-secret/` return the secret, once. `test/` sends a "webhook.test" event;
    `enable/` turns an endpoint disabled after repeated failures back on. Owners and admins only.
    """

    model = WebhookEndpoint
    serializer_class = s.WebhookEndpointSerializer
    filterset_class = WebhookEndpointFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant", "created_by").order_by("-id")

    def _present(self, endpoint, **kwargs):
        return Response(self.get_serializer(self.get_queryset().get(pk=endpoint.pk)).data, **kwargs)

    @extend_schema(request=s.WebhookEndpointCreateSerializer, responses={201: s.WebhookEndpointWithSecretSerializer})
    def create(self, request):
        data = s.WebhookEndpointCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(actor=self.principal, **data.validated_data)
        return _secret_response(endpoint, secret, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.WebhookEndpointUpdateSerializer)
    def update(self, request, pk=None):
        return self.partial_update(request, pk)

    @extend_schema(request=s.WebhookEndpointUpdateSerializer)
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = s.WebhookEndpointUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.endpoint_update(actor=self.principal, endpoint=endpoint, **data.validated_data)
        return self._present(endpoint)

    def perform_destroy(self, endpoint):
        services.endpoint_delete(actor=self.principal, endpoint=endpoint)

    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a "webhook.test" event to this endpoint now."""
        delivery = services.endpoint_send_test(actor=self.principal, endpoint=self.get_object())
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=s.WebhookEndpointWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """Replace the signing secret at once; the new one is in this response only."""
        endpoint, secret = services.endpoint_rotate_secret(actor=self.principal, endpoint=self.get_object())
        return _secret_response(endpoint, secret)

    @extend_schema(request=None, responses=s.WebhookEndpointSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        """Turn a disabled endpoint back on, with its failure count reset."""
        endpoint = services.endpoint_enable(actor=self.principal, endpoint=self.get_object())
        return self._present(endpoint)


class WebhookDeliveryViewSet(
    TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Every delivery, newest first, with the response code, latency and error of its latest attempt.

    Filter by `endpoint`, `state` and `event`. `replay/` sends the same payload again as a new delivery.
    """

    model = WebhookDelivery
    serializer_class = s.WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant").order_by("-id")

    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        delivery = services.delivery_replay(actor=self.principal, delivery=self.get_object())
        return Response(self.get_serializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class IsOperator(permissions.BasePermission):
    message = "Only platform operators may use the operator API."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff and not getattr(request.auth, "is_api_key", False))


class OperatorWebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every tenant's webhook endpoints, for operators. PATCH `allow_private` (with the approved `url`)
    lets one endpoint reach one private or loopback URL (an internal receiver); each change is audited."""

    permission_classes = [permissions.IsAuthenticated, IsOperator]
    serializer_class = s.WebhookEndpointSerializer
    filterset_fields = ["is_active", "allow_private"]

    def get_queryset(self):
        return selectors.endpoints_of_every_tenant()

    @extend_schema(request=s.AllowPrivateSerializer)
    def partial_update(self, request, pk=None):
        data = s.AllowPrivateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_allow_private(
            operator=as_principal(request), endpoint=self.get_object(), **data.validated_data
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=endpoint.pk)).data)
