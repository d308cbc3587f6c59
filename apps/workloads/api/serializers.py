from rest_framework import serializers

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


class WorkloadSerializer(serializers.ModelSerializer):
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
        ]
        read_only_fields = fields
