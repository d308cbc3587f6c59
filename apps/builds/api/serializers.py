from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.catalog.api.serializers import StrictSerializer
from apps.catalog.models import Application
from apps.tenants.api.serializers import NamedField, TenantField

from ..models import Build, BuildLogLine


class BuildCreateSerializer(StrictSerializer):
    """A build request: multipart with a `context` file (.tar.gz), or JSON with repository_url and ref."""

    tenant = TenantField()
    application = NamedField(Application, help_text="The application by id or name.")
    # DRF takes declared fields off the class, so this does not hide the serializer's own `context`.
    context = serializers.FileField(  # type: ignore[assignment]
        required=False, help_text="The build context as a .tar.gz archive."
    )
    repository_url = serializers.CharField(required=False, default="", allow_blank=True, max_length=300)
    ref = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    dockerfile = serializers.CharField(required=False, default="Dockerfile", max_length=200)
    build_args = serializers.JSONField(
        required=False, default=dict, binary=True, help_text='{"NAME": "value"}; in multipart, as JSON text.'
    )
    target = serializers.CharField(required=False, default="", allow_blank=True, max_length=100)
    tag = serializers.CharField(required=False, default="", allow_blank=True, max_length=128)
    create_release = serializers.BooleanField(
        required=False, default=False, help_text="Cut a release pinned to the pushed digest, with the current settings."
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs["application"].tenant_id != attrs["tenant"].pk:
            raise serializers.ValidationError({"application": [f"No such application in {attrs['tenant'].slug}."]})
        return attrs


class BuildSerializer(serializers.ModelSerializer):
    tenant: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    application_name = serializers.CharField(source="application.name", read_only=True)
    release_number = serializers.IntegerField(source="release.number", read_only=True, allow_null=True)
    pinned_image = serializers.CharField(read_only=True, help_text="image@digest, once pushed.")
    requested_by = serializers.SerializerMethodField()
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Build
        fields = [
            "id",
            "tenant",
            "application",
            "application_name",
            "state",
            "repository_url",
            "ref",
            "dockerfile",
            "build_args",
            "target",
            "tag",
            "image",
            "digest",
            "pinned_image",
            "create_release",
            "release",
            "release_number",
            "outcome",
            "cancel_requested",
            "requested_by",
            "last_seq",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.EMAIL)
    def get_requested_by(self, build) -> str | None:
        return build.requested_by.email if build.requested_by else None

    def get_duration_seconds(self, build) -> float | None:
        return build.duration.total_seconds() if build.duration is not None else None


class BuildLogLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = BuildLogLine
        fields = ["seq", "stream", "text", "created_at"]
        read_only_fields = fields


class ImageTagSerializer(serializers.Serializer):
    tag = serializers.CharField()
    digest = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes of the image's config and layers, as pushed (compressed).")
    releases = serializers.ListField(child=serializers.IntegerField(), help_text="Numbers of the releases pinning it.")
    workloads = serializers.ListField(
        child=serializers.CharField(), help_text="Environments whose workload runs it now."
    )


class ImageSerializer(serializers.Serializer):
    tenant = serializers.CharField()
    application = serializers.CharField()
    repository = serializers.CharField()
    tags = ImageTagSerializer(many=True)
