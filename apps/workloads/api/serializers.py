from rest_framework import serializers

from apps.core.api import PlainTimes

from ..models import Incident, Workload


class DriftSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    path = serializers.CharField(help_text='Dotted, with keys holding dots in brackets; "" for a missing object.')
    desired = serializers.JSONField()
    live = serializers.JSONField()


class PodSerializer(serializers.Serializer):
    name = serializers.CharField()
    phase = serializers.CharField()
    ready = serializers.BooleanField()
    state = serializers.CharField(help_text="ready, starting, terminating, image pull error or crash loop")
    message = serializers.CharField()
    restarts = serializers.IntegerField()
    last_reason = serializers.CharField(help_text="Why its container last ended (OOMKilled, Error), if it did.")
    node = serializers.CharField()
    release = serializers.CharField()
    created_at = serializers.CharField(allow_null=True)


class AutoscalerSerializer(serializers.Serializer):
    current = serializers.IntegerField(allow_null=True)
    desired = serializers.IntegerField(allow_null=True)
    min = serializers.IntegerField(allow_null=True)
    max = serializers.IntegerField(allow_null=True)


# The column each related row is shown by.
RELATED_COLUMNS = {
    "tenant": "tenant__slug",
    "application": "application__name",
    "environment": "environment__name",
    "release": "release__number",
}


# A workload's row: the list's, the detail's and the one `/ws/workloads/<id>/` sends. The fields declared
# here are the schema (no docstring: it would be the schema's description); `to_representation` builds
# the same body as plain dicts, since DRF's generic fields, walked once per row and once more per pod,
# were most of a list page's time (tests/workloads/test_rows.py holds the two equal). It takes a model
# instance or a row of `COLUMNS`: the list reads those as values, without building models or reading
# the replica history, which only the workload page's chart draws.
class WorkloadSerializer(PlainTimes, serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    application = serializers.SlugRelatedField(slug_field="name", read_only=True)
    environment = serializers.SlugRelatedField(slug_field="name", read_only=True)
    release = serializers.IntegerField(source="release.number", read_only=True, allow_null=True)
    drift = DriftSerializer(many=True, read_only=True)
    pods = PodSerializer(many=True, read_only=True)
    autoscaler = AutoscalerSerializer(read_only=True, allow_null=True)
    formation = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Replicas a member set through the portal's scale: every later release runs with them. "
        "Null: each release brings its own (and with an autoscaler, it decides).",
    )

    class Meta:
        model = Workload
        fields = [
            "id",
            "tenant",
            "application",
            "environment",
            "release",
            "image",
            "colour",
            "replicas",
            "formation",
            "ready_replicas",
            "updated_replicas",
            "available_replicas",
            "autoscaler",
            "health",
            "health_reason",
            "sync",
            "drift",
            "pods",
            "read_error",
            "observed_at",
        ]
        read_only_fields = fields

    # What a row is built from, as `values()` names the columns.
    COLUMNS = tuple(RELATED_COLUMNS.get(name, name) for name in Meta.fields)

    def to_representation(self, instance):
        row = instance if isinstance(instance, dict) else columns_of(instance)
        autoscaler = row["autoscaler"]
        return {
            "id": row["id"],
            "tenant": row["tenant__slug"],
            "application": row["application__name"],
            "environment": row["environment__name"],
            "release": row["release__number"],
            "image": row["image"],
            "colour": row["colour"],
            "replicas": row["replicas"],
            "formation": row["formation"],
            "ready_replicas": row["ready_replicas"],
            "updated_replicas": row["updated_replicas"],
            "available_replicas": row["available_replicas"],
            "autoscaler": None if autoscaler is None else {key: autoscaler.get(key) for key in AUTOSCALER_KEYS},
            "health": row["health"],
            "health_reason": row["health_reason"],
            "sync": row["sync"],
            "drift": [{key: change.get(key) for key in DRIFT_KEYS} for change in row["drift"] or ()],
            "pods": [{key: pod.get(key) for key in POD_KEYS} for pod in row["pods"] or ()],
            "read_error": row["read_error"],
            "observed_at": self._time(row["observed_at"]),
        }


# The keys of the stored JSON a row shows, in the order the schema declares them.
AUTOSCALER_KEYS = tuple(AutoscalerSerializer._declared_fields)
DRIFT_KEYS = tuple(DriftSerializer._declared_fields)
POD_KEYS = tuple(PodSerializer._declared_fields)
OWN_COLUMNS = tuple(column for column in WorkloadSerializer.COLUMNS if "__" not in column and column != "formation")


def columns_of(workload: Workload) -> dict:
    """A workload read as a model (the detail, the stream), as the list's `values()` row has it."""
    release = workload.release
    return {
        **{column: getattr(workload, column) for column in OWN_COLUMNS},
        "formation": getattr(workload, "formation", None),  # only where the read annotated it
        "tenant__slug": workload.tenant.slug,
        "application__name": workload.application.name,
        "environment__name": workload.environment.name,
        "release__number": None if release is None else release.number,
    }


class WorkloadEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField(allow_null=True)
    source = serializers.ChoiceField(choices=["cluster", "portal"])
    object = serializers.CharField(help_text="Kind/name the event is about.")
    reason = serializers.CharField()
    message = serializers.CharField()
    count = serializers.IntegerField()


class LogQuerySerializer(serializers.Serializer):
    pod = serializers.CharField(required=False, max_length=253)
    container = serializers.CharField(required=False, max_length=63)
    tail = serializers.IntegerField(required=False, min_value=1, max_value=10000, default=200)
    since = serializers.IntegerField(required=False, min_value=1, max_value=7 * 24 * 3600)


class IncidentSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    application = serializers.CharField(source="workload.application.name", read_only=True)
    environment = serializers.CharField(source="workload.environment.name", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="email", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="email", read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "tenant",
            "workload",
            "application",
            "environment",
            "cause",
            "state",
            "message",
            "count",
            "first_seen",
            "last_seen",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "action",
            "waits_for",
            "clear_since",
        ]
        read_only_fields = fields
