from rest_framework import serializers

from apps.clusters.models import TRAFFIC_RENDERERS, Cluster
from apps.tenants.api.serializers import BacklogSerializer
from apps.tenants.models import Quota, Tenant
from apps.tenants.selectors import tenant_choices


class OperatorTenantSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Tenant
        fields = ["id", "slug", "name", "status", "member_count", "created_at"]
        read_only_fields = fields


class OperatorBacklogSerializer(serializers.Serializer):
    """A tenant with background work running or waiting, and that work by kind."""

    tenant = serializers.CharField(source="tenant.slug")
    name = serializers.CharField(source="tenant.name")
    waiting = serializers.IntegerField()
    running = serializers.IntegerField()
    work = BacklogSerializer(many=True)


class StatusChangeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class QuotaSetSerializer(serializers.Serializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", queryset=tenant_choices())
    environment = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="Environment name; empty for a tenant-wide quota."
    )
    resource = serializers.ChoiceField(choices=Quota.Resource.choices)
    limit = serializers.IntegerField(min_value=0)


class ClusterSerializer(serializers.ModelSerializer):
    """A cluster as operators see it: never its credentials."""

    has_credentials = serializers.SerializerMethodField()

    class Meta:
        model = Cluster
        fields = [
            "id",
            "name",
            "description",
            "api_url",
            "auth_method",
            "ingress_namespace",
            "traffic_renderer",
            "gateway_namespace",
            "gateway_name",
            "is_default",
            "has_credentials",
            "last_check",
            "last_checked_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_has_credentials(self, cluster) -> bool:
        return bool(cluster.credentials_encrypted)


class ClusterRegisterSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=50)
    description = serializers.CharField(max_length=200, required=False, default="")
    auth_method = serializers.ChoiceField(choices=["kubeconfig", "token", "in_cluster", "sandbox"])
    api_url = serializers.URLField(max_length=300, required=False, default="", allow_blank=True)
    kubeconfig = serializers.CharField(
        required=False, default="", allow_blank=True, write_only=True, trim_whitespace=False
    )
    context = serializers.CharField(required=False, default="", allow_blank=True)
    token = serializers.CharField(required=False, default="", allow_blank=True, write_only=True)
    ca_bundle = serializers.CharField(
        required=False, default="", allow_blank=True, write_only=True, trim_whitespace=False
    )
    ingress_namespace = serializers.CharField(max_length=63, required=False, default="ingress-nginx")
    traffic_renderer = serializers.ChoiceField(choices=TRAFFIC_RENDERERS, required=False, default="ingress_nginx")
    gateway_namespace = serializers.CharField(max_length=63, required=False, default="", allow_blank=True)
    gateway_name = serializers.CharField(max_length=253, required=False, default="", allow_blank=True)
    is_default = serializers.BooleanField(required=False, default=False)


class ClusterTrafficSerializer(serializers.Serializer):
    traffic_renderer = serializers.ChoiceField(choices=TRAFFIC_RENDERERS)
    gateway_namespace = serializers.CharField(max_length=63, required=False, default="", allow_blank=True)
    gateway_name = serializers.CharField(max_length=253, required=False, default="", allow_blank=True)
