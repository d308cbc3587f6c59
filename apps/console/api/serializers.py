from rest_framework import serializers

from apps.tenants.models import Quota, Tenant


class OperatorTenantSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Tenant
        fields = ["id", "slug", "name", "status", "member_count", "created_at"]
        read_only_fields = fields


class StatusChangeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class QuotaSetSerializer(serializers.Serializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", queryset=Tenant.objects.all())
    environment = serializers.CharField(required=False, allow_null=True, default=None,
                                        help_text="Environment name; empty for a tenant-wide quota.")
    resource = serializers.ChoiceField(choices=Quota.Resource.choices)
    limit = serializers.IntegerField(min_value=0)
