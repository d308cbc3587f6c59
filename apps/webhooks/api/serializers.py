"""Shapes of the webhooks API. They parse and present; the services decide what is valid."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.tenants.api.serializers import TenantField
from apps.webhooks.events import EVENT_TYPES, GROUPS
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint

EVENTS_HELP = "Event types or groups: " + ", ".join([*GROUPS, *EVENT_TYPES]) + "."


@extend_schema_field({"type": "object", "additionalProperties": True})
class ObjectField(serializers.JSONField):
    pass


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint. Its signing secret is never readable after creation or rotation."""

    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True, default=None)
    events = serializers.ListField(child=serializers.CharField(), help_text=EVENTS_HELP)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "tenant",
            "url",
            "description",
            "events",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "allow_private",
            "created_by",
            "created_at",
            "secret_rotated_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(serializers.Serializer):
    tenant = TenantField()
    url = serializers.CharField(max_length=500, help_text="An http(s) URL on a public address.")
    events = serializers.ListField(
        child=serializers.CharField(max_length=100), allow_empty=False, help_text=EVENTS_HELP
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class WebhookEndpointUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500, required=False)
    events = serializers.ListField(child=serializers.CharField(max_length=100), required=False, help_text=EVENTS_HELP)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret. Shown only in this response.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One event sent to one endpoint and the outcome of its latest attempt."""

    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    payload = ObjectField(read_only=True, help_text="Exactly what is posted: {id, type, created_at, tenant, data}.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "tenant",
            "endpoint",
            "event",
            "event_id",
            "payload",
            "state",
            "attempts",
            "response_code",
            "response_body",
            "latency_ms",
            "error",
            "next_attempt_at",
            "replay_of",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields


class AllowPrivateSerializer(serializers.Serializer):
    allow_private = serializers.BooleanField(help_text="Let this endpoint reach private and loopback addresses.")
    url = serializers.CharField(
        max_length=500,
        required=False,
        help_text="The private URL approved (the endpoint is moved there); by default its "
        "current URL. Any later URL change ends the exception.",
    )
