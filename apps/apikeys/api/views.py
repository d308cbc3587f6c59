"""REST API for API keys: metadata, creation (the key is returned once) and revocation."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from apps.apikeys import services
from apps.apikeys.models import APIKey
from apps.tenants.api.base import TenantViewSetMixin

from .serializers import APIKeyCreatedSerializer, APIKeyCreateSerializer, APIKeySerializer


class APIKeyViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Your API keys (owners and admins see everyone's in their tenants). DELETE revokes at once."""

    model = APIKey
    serializer_class = APIKeySerializer

    def optimise(self, queryset):
        return queryset.select_related("tenant", "user").order_by("-id")

    @extend_schema(request=APIKeyCreateSerializer, responses={201: APIKeyCreatedSerializer})
    def create(self, request):
        data = APIKeyCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        api_key, plaintext = services.apikey_create(actor=request, **data.validated_data)
        api_key.key = plaintext
        response = Response(APIKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    def perform_destroy(self, api_key):
        services.apikey_revoke(actor=self.request, api_key=api_key)
