"""Shapes of the routes API. They parse and present; the services decide what is valid."""

from rest_framework import serializers

from apps.catalog.api.serializers import StrictSerializer
from apps.catalog.models import Application
from apps.tenants.api.serializers import NamedField, TenantField
from apps.tenants.models import Environment

from ..models import Route
from ..services import FIELDS

NUMBERS = (
    ("service_port", "The port of the application's Service; defaults to its latest release's first port."),
    ("connect_timeout_seconds", "Seconds to connect to the application (1-3600)."),
    ("read_timeout_seconds", "Seconds to wait for the application's answer (1-3600)."),
    ("max_body_size_mb", "Largest request body in MiB (1-1024)."),
    ("rate_limit_rps", "Requests per second per client address (1-10000), counted by each controller pod."),
    ("rate_limit_burst", "Requests a client may burst above the rate (at least the rate, up to 100000)."),
    ("rate_limit_connections", "Open connections per client address (1-10000)."),
)


def _number(help_text: str) -> serializers.IntegerField:
    # Bounds are the service's (one message per field, whatever the surface).
    return serializers.IntegerField(required=False, allow_null=True, help_text=help_text)


class RouteSerializer(serializers.ModelSerializer):
    tenant: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    environment: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="name", read_only=True)
    application: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="name", read_only=True)
    url = serializers.CharField(read_only=True)

    class Meta:
        model = Route
        fields = [
            "id",
            "tenant",
            "environment",
            "application",
            "name",
            *FIELDS,  # what a person sets, as the services take it
            "url",
            "from_release",
            "maintenance",
            "maintenance_message",
            "maintenance_retry_after_seconds",
            "maintenance_starts_at",
            "maintenance_ends_at",
            "degraded",
            "degraded_message",
            "state",
            "last_error",
            "applied_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RouteFieldsSerializer(StrictSerializer):
    """What a person sets on a route; absent fields keep their value (or default, on create)."""

    host = serializers.CharField(max_length=253, help_text="A DNS name, or *.domain under a domain reserved for you.")
    path = serializers.CharField(max_length=200, required=False, help_text="Starts with /. Default /.")
    path_type = serializers.CharField(max_length=8, required=False, help_text="prefix (default) or exact.")
    tls = serializers.CharField(max_length=8, required=False, help_text="none (default), secret, or issue.")
    tls_secret = serializers.CharField(
        max_length=253, required=False, allow_blank=True, help_text="With tls=secret: a Secret in the namespace."
    )
    cert_issuer = serializers.CharField(
        max_length=253, required=False, allow_blank=True, help_text="With tls=issue: the cert-manager ClusterIssuer."
    )
    cors_allow_origins = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text='Origins CORS allows, e.g. ["https://app.example.com"]; [] or null turns CORS off.',
    )
    auth = serializers.CharField(
        max_length=8, required=False, help_text="none (default) or api_key (consumer keys, checked by the gateway)."
    )
    justification = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="Why: needed where route changes need approval."
    )
    break_glass_reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def get_fields(self):
        fields = super().get_fields()
        for name, help_text in NUMBERS:
            fields[name] = _number(help_text)
        return fields


class RouteCreateSerializer(RouteFieldsSerializer):
    tenant = TenantField()
    environment = NamedField(Environment, help_text="The environment by id or name.")
    application = NamedField(Application, help_text="The application by id or name.")
    name = serializers.CharField(
        max_length=63, required=False, help_text="The cluster object's name; defaults to the application's."
    )


class RouteUpdateSerializer(RouteFieldsSerializer):
    host = serializers.CharField(max_length=253, required=False)


class RouteDeleteSerializer(StrictSerializer):
    justification = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    break_glass_reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class _SwitchSerializer(StrictSerializer):
    enabled = serializers.BooleanField(help_text="true switches on, false back to the application.")
    message = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="Shown on the page, HTML-escaped."
    )
    justification = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="Why: needed where route changes need approval."
    )
    break_glass_reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class MaintenanceSerializer(_SwitchSerializer):
    """Maintenance: the route answers 503 with the message's page (and Retry-After), now or in a window."""

    retry_after_seconds = serializers.IntegerField(
        required=False, allow_null=True, help_text="Sent as Retry-After with the 503 (1-86400 seconds)."
    )
    starts_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Schedule a window: beat switches maintenance on then."
    )
    ends_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="... and off then (alone: on now, off then)."
    )


class DegradeSerializer(_SwitchSerializer):
    """Degrade: the route's path answers 200 with a static fallback page while a dependency is down."""
