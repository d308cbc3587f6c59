from rest_framework import serializers

from apps.apikeys.lifecycle import REPORT_UNUSED_DAYS
from apps.apikeys.models import APIKey, UsageDaily
from apps.apikeys.services import DEFAULT_EXPIRY_DAYS, DEFAULT_OVERLAP_HOURS, MAX_EXPIRY_DAYS, MAX_OVERLAP_HOURS
from apps.tenants.api.serializers import TenantField


class APIKeySerializer(serializers.ModelSerializer):
    """Key metadata. The key itself is never readable after creation."""

    tenant: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.EmailField(source="user.email", read_only=True)
    prefix = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)
    rotated_from = serializers.IntegerField(
        source="rotated_from_id",
        read_only=True,
        allow_null=True,
        help_text="The key this one replaced, when it came from a rotation.",
    )
    awaits_reveal = serializers.BooleanField(
        read_only=True,
        help_text="An automatic rotation made this key; its owner reveals it once in the developer console.",
    )

    class Meta:
        model = APIKey
        fields = [
            "id",
            "tenant",
            "name",
            "prefix",
            "owner",
            "scopes",
            "allowed_ips",
            "state",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "last_used_ip",
            "auto_rotate",
            "rotated_from",
            "awaits_reveal",
        ]
        read_only_fields = fields


class APIKeyCreateSerializer(serializers.Serializer):
    tenant = TenantField()
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.CharField(max_length=40), allow_empty=False)
    expires_in_days = serializers.IntegerField(min_value=1, max_value=MAX_EXPIRY_DAYS, default=DEFAULT_EXPIRY_DAYS)
    allowed_ips = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    auto_rotate = serializers.BooleanField(
        required=False, default=False, help_text="Rotate automatically a week before expiry."
    )


class APIKeyRotateSerializer(serializers.Serializer):
    overlap_hours = serializers.IntegerField(
        min_value=0,
        max_value=MAX_OVERLAP_HOURS,
        default=DEFAULT_OVERLAP_HOURS,
        help_text="How long the old key keeps working (never past its own expiry); 0 ends it at once.",
    )


class APIKeyAutoRotateSerializer(serializers.Serializer):
    auto_rotate = serializers.BooleanField()


class APIKeyReportSerializer(serializers.Serializer):
    """Live keys that were never used though older than `unused_days`, and live keys expiring soon."""

    unused_days = serializers.IntegerField()
    expiring_days = serializers.IntegerField()
    never_used = APIKeySerializer(many=True)
    expiring = APIKeySerializer(many=True)


class APIKeyReportQuerySerializer(serializers.Serializer):
    unused_days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        default=REPORT_UNUSED_DAYS,
        help_text="A key never used counts once it is this many days old.",
    )


class APIKeyCreatedSerializer(APIKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The full key. Shown only in this response.")

    class Meta(APIKeySerializer.Meta):
        fields = [*APIKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class UsageDailySerializer(serializers.ModelSerializer):
    """One key's requests to one endpoint on one UTC day."""

    tenant: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    key = serializers.IntegerField(source="api_key_id", read_only=True)
    key_prefix = serializers.CharField(source="api_key.prefix", read_only=True)
    key_name = serializers.CharField(source="api_key.name", read_only=True)
    # The field is called "errors" in the API, over the serializer's own `errors` it never uses.
    errors = serializers.IntegerField(read_only=True)  # type: ignore[assignment]
    latency_ms_avg = serializers.FloatField(read_only=True, allow_null=True)
    latency_ms_p95 = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Upper bound of the latency bucket holding the 95th percentile."
    )

    class Meta:
        model = UsageDaily
        fields = [
            "id",
            "tenant",
            "key",
            "key_prefix",
            "key_name",
            "endpoint",
            "day",
            "requests",
            "errors",
            "errors_4xx",
            "errors_5xx",
            "throttled",
            "latency_ms_sum",
            "latency_ms_avg",
            "latency_ms_p95",
            "latency_buckets",
        ]
        read_only_fields = fields


class PlanLimitsSerializer(serializers.Serializer):
    name = serializers.CharField()
    requests_per_second = serializers.IntegerField(help_text="Refill rate of each key's bucket.")
    burst = serializers.IntegerField(help_text="Size of each key's bucket.")
    tenant_requests_per_second = serializers.IntegerField(help_text="Refill rate of the bucket all keys share.")
    tenant_burst = serializers.IntegerField()
    daily_quota = serializers.IntegerField(allow_null=True, help_text="Requests per UTC day; null: unlimited.")
    monthly_quota = serializers.IntegerField(allow_null=True, help_text="Requests per UTC month; null: unlimited.")


class ConsumptionSerializer(serializers.Serializer):
    used = serializers.IntegerField(allow_null=True, help_text="null when the counters cannot be read.")
    quota = serializers.IntegerField(allow_null=True)
    remaining = serializers.IntegerField(allow_null=True)
    percent = serializers.IntegerField()


class PlanSummarySerializer(serializers.Serializer):
    """The plan in force for a tenant and what its keys consumed today and this month."""

    tenant = serializers.CharField(source="tenant.slug")
    plan = PlanLimitsSerializer(source="limits")
    assigned = serializers.BooleanField(help_text="False: the tenant is on the default plan.")
    today = ConsumptionSerializer()
    month = ConsumptionSerializer()
