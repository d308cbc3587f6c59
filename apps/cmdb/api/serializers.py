"""Shapes of the CMDB API. They parse and present; the services decide what is valid."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.catalog.api.serializers import ObjectField, StrictSerializer
from apps.cmdb.choices import Direction, Provenance, RelationKind
from apps.cmdb.models import ChangeRecord, CIType, ConfigurationItem, ImportJob, Relationship, SavedFilter
from apps.tenants.api.serializers import TenantField


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}, "example": {"tier": "gold"}})
class LabelsField(serializers.JSONField):
    pass


@extend_schema_field({"type": "object", "nullable": True, "additionalProperties": True})
class SnapshotField(serializers.JSONField):
    pass


# --- Types -------------------------------------------------------------------------------------


class CITypeSerializer(serializers.ModelSerializer):
    attribute_schema = ObjectField(
        required=False, help_text="JSON schema of an object: every item's declared attributes must satisfy it."
    )

    class Meta:
        model = CIType
        fields = ["id", "slug", "name", "description", "attribute_schema", "is_platform", "is_builtin", "created_at"]
        read_only_fields = ["id", "is_builtin", "created_at"]
        extra_kwargs = {"slug": {"validators": []}}


class CITypeUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    attribute_schema = ObjectField(required=False)


@extend_schema_field(serializers.CharField)
class TypeField(serializers.SlugRelatedField):
    """A CI type by slug."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", queryset=CIType.objects.all(), **kwargs)

    def to_internal_value(self, data):
        if "\x00" in str(data):  # PostgreSQL cannot even compare it: unknown, not a 500
            self.fail("does_not_exist", slug_name=self.slug_field, value="(a name with a NUL character)")
        return super().to_internal_value(data)


# --- Items -------------------------------------------------------------------------------------


class ConflictSerializer(serializers.Serializer):
    attribute = serializers.CharField()
    declared = serializers.JSONField()
    discovered = serializers.JSONField()


class ItemSerializer(serializers.ModelSerializer):
    """An item with both sides of what is known about it and where they disagree."""

    tenant = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="Empty for platform items (clusters, nodes)."
    )
    type = serializers.CharField(source="ci_type.slug", read_only=True)
    labels = LabelsField(read_only=True)
    declared_attributes = ObjectField(read_only=True)
    discovered_attributes = ObjectField(read_only=True)
    conflicts = ConflictSerializer(many=True, read_only=True)

    class Meta:
        model = ConfigurationItem
        fields = [
            "id",
            "tenant",
            "type",
            "name",
            "key",
            "description",
            "labels",
            "declared_attributes",
            "discovered_attributes",
            "conflicts",
            "provenance",
            "source",
            "status",
            "first_seen_at",
            "last_seen_at",
            "updated_at",
        ]
        read_only_fields = fields


class ItemCreateSerializer(StrictSerializer):
    tenant = TenantField()
    type = TypeField(help_text="Slug of the CI type, e.g. database or external-service.")
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    labels = LabelsField(required=False)
    attributes = ObjectField(required=False, help_text="Declared attributes; checked against the type's schema.")


class ItemUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    labels = LabelsField(required=False)
    attributes = ObjectField(required=False, help_text="Replaces the declared attributes.")


@extend_schema_field(serializers.IntegerField)
class ItemField(serializers.PrimaryKeyRelatedField):
    """An item by id, among those the caller may see: another tenant's reads as unknown."""

    def get_queryset(self):
        return ConfigurationItem.objects.restrict(self.context["request"], "reference").select_related("tenant")


# --- Relationships -----------------------------------------------------------------------------


class RelationshipSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    source_name = serializers.CharField(source="source.name", read_only=True)
    target_name = serializers.CharField(source="target.name", read_only=True)

    class Meta:
        model = Relationship
        fields = [
            "id",
            "tenant",
            "source",
            "source_name",
            "kind",
            "target",
            "target_name",
            "provenance",
            "origin",
            "status",
            "note",
            "first_seen_at",
            "last_seen_at",
        ]
        read_only_fields = fields


class RelationshipCreateSerializer(StrictSerializer):
    tenant = TenantField(help_text="The tenant whose relationship this is.")
    source = ItemField(help_text="Id of the item that relies on the target.")
    kind = serializers.ChoiceField(choices=RelationKind.choices)
    target = ItemField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        tenants = {attrs["source"].tenant_id, attrs["target"].tenant_id} - {None}
        if tenants and attrs["tenant"].pk not in tenants:
            raise serializers.ValidationError({"tenant": [f"Neither item belongs to {attrs['tenant'].slug}."]})
        return attrs


# --- History, saved filters --------------------------------------------------------------------


class ChangeRecordSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    item = serializers.IntegerField(source="item_id", read_only=True, allow_null=True)
    before = SnapshotField(read_only=True)
    after = SnapshotField(read_only=True)

    class Meta:
        model = ChangeRecord
        fields = [
            "id",
            "tenant",
            "item",
            "relationship_id",
            "other_item_id",
            "action",
            "source",
            "summary",
            "before",
            "after",
            "created_at",
        ]
        read_only_fields = fields


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            name: {"type": "string"} for name in ("q", "type", "provenance", "status", "label", "attribute")
        },
    }
)
class QueryField(serializers.JSONField):
    pass


class SavedFilterSerializer(serializers.ModelSerializer):
    tenant = TenantField()
    query = QueryField(help_text="Search parameters, as the item list takes them.")
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True)

    class Meta:
        model = SavedFilter
        fields = ["id", "tenant", "name", "query", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]
        validators = []


# --- Impact, graph, import ---------------------------------------------------------------------


class ItemSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    type = serializers.CharField()
    status = serializers.CharField()
    tenant = serializers.CharField(allow_null=True)
    health = serializers.CharField(
        allow_null=True, help_text="A workload's health as last read from the cluster; null for other items."
    )
    sync = serializers.CharField(
        allow_null=True, help_text="A workload's sync (synced, out_of_sync, unknown); null for others."
    )


class ReachedSerializer(ItemSummarySerializer):
    depth = serializers.IntegerField()
    path = serializers.ListField(child=serializers.IntegerField(), help_text="Item ids from the start to here.")
    path_names = serializers.ListField(child=serializers.CharField())


class ImpactSerializer(serializers.Serializer):
    item = ItemSummarySerializer()
    direction = serializers.ChoiceField(choices=Direction.choices)
    depth = serializers.IntegerField()
    count = serializers.IntegerField()
    items = ReachedSerializer(many=True)


class GraphNodeSerializer(ItemSummarySerializer):
    provenance = serializers.ChoiceField(choices=Provenance.choices)
    center = serializers.BooleanField()


class GraphEdgeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.IntegerField()
    target = serializers.IntegerField()
    kind = serializers.CharField()
    provenance = serializers.CharField()
    status = serializers.CharField()


class GraphSerializer(serializers.Serializer):
    center = serializers.IntegerField()
    nodes = GraphNodeSerializer(many=True)
    edges = GraphEdgeSerializer(many=True)


class ImportRequestSerializer(serializers.Serializer):
    tenant = TenantField()
    file = serializers.FileField(required=False, help_text="A .csv or .json file (multipart).")
    items = serializers.ListField(child=ObjectField(), required=False, help_text="Or the rows inline, as JSON.")
    dry_run = serializers.BooleanField(default=False, help_text="Report what would change; change nothing.")
    skip_invalid = serializers.BooleanField(default=False, help_text="Import the good rows, skip the bad ones.")


class ImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    action = serializers.ChoiceField(choices=["create", "update", "unchanged", "error"])
    name = serializers.CharField()
    id = serializers.IntegerField(allow_null=True)
    field = serializers.CharField(required=False)
    error = serializers.CharField(required=False)


class ImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    applied = serializers.BooleanField()
    summary = serializers.DictField(child=serializers.IntegerField())
    rows = ImportRowSerializer(many=True)


class ImportJobSerializer(serializers.ModelSerializer):
    """A background import: its state, how far it got, and the invalid rows once it ends."""

    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    percent = serializers.IntegerField(read_only=True)
    summary = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    errors = ImportRowSerializer(many=True, read_only=True)
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "tenant",
            "state",
            "dry_run",
            "skip_invalid",
            "total",
            "processed",
            "percent",
            "applied",
            "summary",
            "errors",
            "detail",
            "status_url",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_status_url(self, job) -> str:
        path = reverse("cmdb-import-job-detail", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path
