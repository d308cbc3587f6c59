"""Shapes of the catalog API. They parse and present; the services decide what is valid."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.catalog.models import Application, ComponentKind, Release, ServiceTemplate
from apps.catalog.selectors import member_by_email, templates_visible_to
from apps.catalog.services import release_check
from apps.core.api import EveryErrorSerializer
from apps.tenants.api.serializers import NamedField, TenantField

# --- Typed JSON fields: validated by the services, described precisely in the schema -------------

PORT = {
    "type": "object",
    "required": ["port"],
    "properties": {
        "name": {"type": "string", "example": "http"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "protocol": {"type": "string", "enum": ["TCP", "UDP", "SCTP"]},
    },
}
SECRET_REF = {
    "type": "object",
    "required": ["name", "secret", "key"],
    "properties": {
        "name": {"type": "string", "example": "DB_PASSWORD"},
        "secret": {"type": "string", "example": "db"},
        "key": {"type": "string", "example": "password"},
    },
}
PROBE = {
    "type": "object",
    "description": "Empty for none, or exactly one of httpGet {path, port}, tcpSocket {port}, "
    "exec {command}, with optional initialDelaySeconds, periodSeconds, "
    "timeoutSeconds, failureThreshold, successThreshold.",
    "example": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
}


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}, "example": {"LOG_LEVEL": "info"}})
class EnvField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "items": SECRET_REF})
class SecretRefsField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class StringListField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "items": PORT})
class PortsField(serializers.JSONField):
    pass


@extend_schema_field(PROBE)
class ProbeField(serializers.JSONField):
    pass


@extend_schema_field({"type": "object", "additionalProperties": True})
class ObjectField(serializers.JSONField):
    pass


@extend_schema_field({"nullable": True})
class AnyValueField(serializers.JSONField):
    pass


# --- Templates ---------------------------------------------------------------------------------


class TemplateSerializer(serializers.ModelSerializer):
    """A service template. Creating one whose slug exists publishes its next version."""

    parameter_schema = ObjectField(
        required=False,
        help_text="A JSON schema of string, integer, boolean or enum properties: the form a tenant fills in.",
    )
    defaults = ObjectField(
        required=False,
        help_text="Release fields a new application starts with; a parameter "
        "named after a release field (or `port`) overrides them.",
    )

    class Meta:
        model = ServiceTemplate
        fields = [
            "id",
            "slug",
            "version",
            "name",
            "description",
            "component_kind",
            "parameter_schema",
            "defaults",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["id", "version", "is_active", "created_at"]
        validators = []  # a taken slug is the next version, decided by the service


class TemplateRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceTemplate
        fields = ["id", "slug", "version", "name"]
        read_only_fields = fields


@extend_schema_field(serializers.IntegerField)
class TemplateField(serializers.PrimaryKeyRelatedField):
    """A template by id, among those the caller may see."""

    def get_queryset(self):
        return templates_visible_to(self.context["request"])


# --- Applications ------------------------------------------------------------------------------


class ApplicationSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.EmailField(source="owner.email", read_only=True, allow_null=True)
    template = TemplateRefSerializer(read_only=True, allow_null=True)
    template_parameters = ObjectField(read_only=True)
    latest_release = serializers.IntegerField(
        source="latest_number", read_only=True, allow_null=True, help_text="The number of the newest release, if any."
    )
    # A plain string: the model's URLField is optional, and "" is not a URI (the schema must allow it).
    repository_url = serializers.CharField(read_only=True, help_text="The source repository's URL, or empty.")

    class Meta:
        model = Application
        fields = [
            "id",
            "tenant",
            "name",
            "description",
            "component_kind",
            "owner",
            "team",
            "repository_url",
            "keep_image_tags",
            "template",
            "template_parameters",
            "latest_release",
            "created_at",
        ]
        read_only_fields = fields


class StrictSerializer(EveryErrorSerializer):
    """Refuses fields it does not know: a misspelt field ("replica") must not silently take a default.
    Like every error, an unknown field is named together with the other fields at fault."""

    refuses_unknown_fields = True  # the schema says so: additionalProperties false (apps/core/openapi.py)

    def unknown_fields(self) -> dict[str, list[str]]:
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        return {name: ["Unknown field."] for name in unknown}

    def to_internal_value(self, data):
        unknown = self.unknown_fields()
        try:
            attrs = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**unknown, **exc.detail}) from None
            raise
        if unknown:
            self.refuse(unknown, attrs)
        return attrs


class _OwnerMixin:
    def _owner(self, tenant, attrs):
        """Turn the owner's email into the member it names; anyone else reads as unknown."""
        if attrs.get("owner") is None:
            return attrs
        member = member_by_email(tenant, attrs["owner"])
        if member is None:
            raise serializers.ValidationError(
                {"owner": [f"No member of {tenant.name} has the address {attrs['owner']}."]}
            )
        return {**attrs, "owner": member}


class ApplicationCreateSerializer(_OwnerMixin, StrictSerializer):
    tenant = TenantField()
    name = serializers.CharField(max_length=40, help_text="Lower-case letters, digits and hyphens; never changes.")
    component_kind = serializers.ChoiceField(
        choices=ComponentKind.choices, required=False, help_text="Taken from the template when one is given."
    )
    description = serializers.CharField(required=False, allow_blank=True)
    team = serializers.CharField(max_length=100, required=False, allow_blank=True)
    owner = serializers.EmailField(required=False, allow_null=True, help_text="Email of a member of the tenant.")
    repository_url = serializers.CharField(max_length=300, required=False, allow_blank=True)
    template = TemplateField(required=False, allow_null=True, help_text="Id of the template version to start from.")
    parameters = ObjectField(required=False, help_text="Values for the template's parameter schema.")

    def validate(self, attrs):
        return self._owner(attrs["tenant"], super().validate(attrs))


class ApplicationUpdateSerializer(_OwnerMixin, StrictSerializer):
    """The editable details. Name and kind are fixed: they name the application's cluster objects."""

    description = serializers.CharField(required=False, allow_blank=True)
    team = serializers.CharField(max_length=100, required=False, allow_blank=True)
    owner = serializers.EmailField(required=False, allow_null=True, help_text="Email of a member; null clears it.")
    repository_url = serializers.CharField(max_length=300, required=False, allow_blank=True)
    keep_image_tags = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=1000,
        help_text="How many of the newest image tags the platform registry keeps; null: the operators' default.",
    )

    def validate(self, attrs):
        fixed = [name for name in ("name", "component_kind", "template") if name in self.initial_data]
        if fixed:
            raise serializers.ValidationError(
                {name: ["This never changes; create a new application instead."] for name in fixed}
            )
        return self._owner(self.context["application"].tenant, super().validate(attrs))


# --- Releases ----------------------------------------------------------------------------------


class ReleaseFieldsSerializer(serializers.Serializer):
    """The fields that say how a release runs. Omitted fields take their defaults, not the previous
    release's values: a release is complete in itself."""

    image = serializers.CharField(max_length=300, help_text="registry/repository:tag or repository@sha256:<digest>")
    command = StringListField(required=False)
    args = StringListField(required=False)
    env = EnvField(required=False)
    secret_refs = SecretRefsField(required=False)
    ports = PortsField(required=False)
    replicas = serializers.IntegerField(required=False, help_text="0 to 100.")
    cpu_request = serializers.CharField(max_length=20, required=False, help_text="Cores or millicores: 0.5, 250m.")
    cpu_limit = serializers.CharField(max_length=20, required=False, allow_blank=True)
    memory_request = serializers.CharField(max_length=20, required=False, help_text="128Mi, 1Gi.")
    memory_limit = serializers.CharField(max_length=20, required=False, allow_blank=True)
    liveness_probe = ProbeField(required=False)
    readiness_probe = ProbeField(required=False)
    ingress_host = serializers.CharField(
        max_length=253, required=False, allow_blank=True, help_text="Web services only."
    )
    ingress_path = serializers.CharField(max_length=200, required=False, allow_blank=True)
    autoscale_min = serializers.IntegerField(required=False, allow_null=True)
    autoscale_max = serializers.IntegerField(required=False, allow_null=True)
    autoscale_cpu_target = serializers.IntegerField(required=False, allow_null=True, help_text="Percent, 1 to 100.")
    schedule = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Cron jobs only: five fields, for example */15 * * * *.",
    )
    notes = serializers.CharField(required=False, allow_blank=True)


class ReleaseCreateSerializer(ReleaseFieldsSerializer, StrictSerializer):
    tenant = TenantField()
    application = NamedField(Application, help_text="The application by id or name.")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs["application"].tenant_id != attrs["tenant"].pk:
            self.refuse({"application": [f"No such application in {attrs['tenant'].slug}."]}, attrs)
        return attrs

    def further_checks(self, data: dict, invalid: set[str]) -> None:
        """The release rules on the fields that parsed (the service checks them again when it cuts it)."""
        application = data.get("application") if "application" not in invalid else None
        release_check(kind=application.component_kind if application else None, fields=data, invalid=invalid)


class ReleaseSerializer(ReleaseFieldsSerializer, serializers.ModelSerializer):
    """A release as stored. Releases never change; the next one is a POST."""

    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    application_name = serializers.CharField(source="application.name", read_only=True)
    image_digest = serializers.CharField(read_only=True, help_text="The digest the image reference pins, if any.")
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True)

    class Meta:
        model = Release
        fields = [
            "id",
            "tenant",
            "application",
            "application_name",
            "number",
            "image",
            "image_digest",
            "command",
            "args",
            "env",
            "secret_refs",
            "ports",
            "replicas",
            "cpu_request",
            "cpu_limit",
            "memory_request",
            "memory_limit",
            "liveness_probe",
            "readiness_probe",
            "ingress_host",
            "ingress_path",
            "autoscale_min",
            "autoscale_max",
            "autoscale_cpu_target",
            "schedule",
            "notes",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ReleaseChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="A release field, or env.NAME for one environment variable.")
    before = AnyValueField()
    after = AnyValueField()


class ReleaseDiffSerializer(serializers.Serializer):
    application = serializers.IntegerField()
    before = serializers.IntegerField(help_text="Number of the release compared against.")
    after = serializers.IntegerField(help_text="Number of this release.")
    changes = ReleaseChangeSerializer(many=True)
