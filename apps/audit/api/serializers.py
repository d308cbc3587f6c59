from rest_framework import serializers

from apps.audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    actor = serializers.CharField(source="actor_display", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "tenant",
            "actor",
            "api_key_id",
            "action",
            "object_type",
            "object_id",
            "object_display",
            "changes",
            "request_id",
            "ip",
            "user_agent",
            "created_at",
        ]
        read_only_fields = fields
