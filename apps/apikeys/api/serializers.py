from rest_framework import serializers

from apps.apikeys.models import APIKey
from apps.apikeys.services import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS
from apps.tenants.api.serializers import TenantField


class APIKeySerializer(serializers.ModelSerializer):
    """Key metadata. The key itself is never readable after creation."""

    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.EmailField(source="user.email", read_only=True)
    prefix = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)

    class Meta:
        model = APIKey
        fields = ["id", "tenant", "name", "prefix", "owner", "scopes", "allowed_ips", "state", "created_at",
                  "expires_at", "revoked_at", "last_used_at", "last_used_ip"]
        read_only_fields = fields


class APIKeyCreateSerializer(serializers.Serializer):
    tenant = TenantField()
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.CharField(max_length=40), allow_empty=False)
    expires_in_days = serializers.IntegerField(min_value=1, max_value=MAX_EXPIRY_DAYS, default=DEFAULT_EXPIRY_DAYS)
    allowed_ips = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)


class APIKeyCreatedSerializer(APIKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The full key. Shown only in this response.")

    class Meta(APIKeySerializer.Meta):
        fields = [*APIKeySerializer.Meta.fields, "key"]
        read_only_fields = fields
