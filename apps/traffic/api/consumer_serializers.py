"""Shapes of the usage-plan, consumer-key and gateway-check API. They parse and present; the services decide."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.apikeys import ratelimit
from apps.catalog.api.serializers import StrictSerializer
from apps.tenants.api.serializers import NamedField, TenantField

from .. import consumer_keys, gateway
from ..models import ConsumerKey, UsagePlan

PLAN_NUMBERS = (
    ("requests_per_second", "Refill rate of each key's token bucket."),
    ("burst", "Size of each key's bucket: calls a key may make at once (at least the rate)."),
    ("daily_quota", "Calls per key per UTC day; null: unlimited."),
    ("monthly_quota", "Calls per key per UTC month; null: unlimited (at least the daily quota)."),
)
# What the service accepts as a name, said in the schema too (names travel in headers).
NAME_PATTERN = consumer_keys.NAME_PATTERN


def _name(max_length: int, help_text: str, **kwargs) -> serializers.RegexField:
    return serializers.RegexField(NAME_PATTERN, max_length=max_length, help_text=help_text, **kwargs)


class UsagePlanSerializer(serializers.ModelSerializer):
    tenant = TenantField(read_only=True)

    class Meta:
        model = UsagePlan
        fields = [
            "id",
            "tenant",
            "name",
            "description",
            "requests_per_second",
            "burst",
            "daily_quota",
            "monthly_quota",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class UsagePlanFieldsSerializer(StrictSerializer):
    """What a tenant sets on a plan; absent fields keep their value. Bounds are the service's."""

    name = _name(60, "Sent to applications as X-Consumer-Plan.", required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def get_fields(self):
        fields = super().get_fields()
        for name, help_text in PLAN_NUMBERS:
            low, high = consumer_keys.BOUNDS[name]
            fields[name] = serializers.IntegerField(
                required=False, allow_null=name.endswith("_quota"), min_value=low, max_value=high, help_text=help_text
            )
        return fields


class UsagePlanCreateSerializer(UsagePlanFieldsSerializer):
    tenant = TenantField()
    name = _name(60, "Sent to applications as X-Consumer-Plan.")

    def get_fields(self):
        fields = super().get_fields()
        for name in ("requests_per_second", "burst"):
            fields[name].required = True
        return fields


class PlanLimitsSerializer(serializers.Serializer):
    """The numbers a key is held to: its plan's, or the platform's `default`."""

    name = serializers.CharField()
    requests_per_second = serializers.IntegerField()
    burst = serializers.IntegerField()
    daily_quota = serializers.IntegerField(allow_null=True)
    monthly_quota = serializers.IntegerField(allow_null=True)


class CallsSerializer(serializers.Serializer):
    """Calls the gateway let through with the key, as its plan's quotas count them (UTC periods)."""

    today = serializers.IntegerField()
    this_month = serializers.IntegerField()


class ConsumerKeySerializer(serializers.ModelSerializer):
    """Key metadata, the limits it is held to and its calls so far. The key itself is never readable after
    creation. A list reads every row's calls in one round trip to Redis and passes them in the context
    (`calls`: key id -> (today, this month), or None when Redis could not be asked)."""

    tenant = TenantField(read_only=True)
    usage_plan = serializers.IntegerField(
        source="usage_plan_id", read_only=True, allow_null=True, help_text="null: the platform's default limits."
    )
    limits = serializers.SerializerMethodField()
    prefix = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True, help_text="active, revoked or expired.")
    calls = serializers.SerializerMethodField(
        help_text="Calls let through today and this month; null when the gateway's counters could not be read."
    )

    class Meta:
        model = ConsumerKey
        fields = [
            "id",
            "tenant",
            "name",
            "prefix",
            "usage_plan",
            "limits",
            "calls",
            "state",
            "created_at",
            "expires_at",
            "revoked_at",
        ]
        read_only_fields = fields

    def get_limits(self, consumer_key) -> dict:
        limits = gateway.limits_of(consumer_key.usage_plan)
        return PlanLimitsSerializer(limits).data

    @extend_schema_field(CallsSerializer(allow_null=True))
    def get_calls(self, consumer_key) -> dict | None:
        # A list's rows come with theirs; one key reads its own.
        counts = self.context["calls"] if "calls" in self.context else ratelimit.consumer_consumption([consumer_key.pk])
        if counts is None:
            return None
        today, month = counts.get(consumer_key.pk, (0, 0))
        return {"today": today, "this_month": month}


class ConsumerKeyCreatedSerializer(ConsumerKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The full key (ck_…). Shown only in this response.")

    class Meta(ConsumerKeySerializer.Meta):
        fields = [*ConsumerKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class ConsumerKeyCreateSerializer(StrictSerializer):
    tenant = TenantField()
    name = _name(100, "Who the consumer is; sent as X-Consumer-Name.")
    usage_plan = NamedField(
        UsagePlan, required=False, allow_null=True, help_text="The tenant's usage plan by id or name; default: none."
    )
    expires_in_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=consumer_keys.MAX_EXPIRY_DAYS,
        help_text="Days until the key expires; null or absent: never.",
    )


class VerifiedSerializer(serializers.Serializer):
    """The consumer a key belongs to (the same values as the X-Consumer-* headers)."""

    consumer_id = serializers.CharField()
    consumer_name = serializers.CharField()
    plan = serializers.CharField()


class RefusedSerializer(serializers.Serializer):
    """Why a key may not pass; `code` is also the X-Portal-Reason header."""

    code = serializers.CharField()
    detail = serializers.CharField()
