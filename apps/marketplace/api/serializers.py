"""Shapes of the marketplace API. They parse and present; the services decide. No credential is ever
read back: a binding's variables appear only in the response that made it."""

from rest_framework import serializers

from apps.tenants.api.serializers import IdOrNameField, TenantField
from apps.tenants.models import Environment

from ..models import ServiceBinding, ServiceInstance, ServiceOffering, ServicePlan
from ..selectors import nameable


class ServicePlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServicePlan
        fields = ["slug", "name", "description", "limits", "needs_approval"]
        read_only_fields = fields


class ServiceOfferingSerializer(serializers.ModelSerializer):
    """An add-on the platform offers, with its plans in order."""

    plans = ServicePlanSerializer(many=True, read_only=True)
    provider = serializers.CharField(source="kind", read_only=True)

    class Meta:
        model = ServiceOffering
        fields = ["slug", "name", "description", "provider", "plans"]
        read_only_fields = fields


class ServiceInstanceSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    environment = serializers.SlugRelatedField(slug_field="name", read_only=True)
    offering = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    plan = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    storage_mb = serializers.SerializerMethodField(
        help_text="The storage its plan sets aside (MiB), counted against the add-on storage quota."
    )

    class Meta:
        model = ServiceInstance
        fields = [
            "id",
            "tenant",
            "environment",
            "offering",
            "plan",
            "name",
            "state",
            "last_operation",
            "storage_mb",
            "usage",
            "created_at",
        ]
        read_only_fields = fields

    def get_storage_mb(self, instance) -> int:
        return int((instance.plan.limits or {}).get("storage") or 0)


class ServiceInstanceCreateSerializer(serializers.Serializer):
    """Provision `offering`/`plan` (slugs) as `name` in `environment` (its name) of `tenant`."""

    tenant = TenantField()
    environment = serializers.CharField(max_length=30)
    offering = serializers.SlugField(max_length=40)
    plan = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=40)
    justification = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, data):
        tenant = data["tenant"]
        environment = nameable(Environment, self.context["request"]).filter(tenant=tenant, name=data["environment"])
        data["environment"] = environment.first()
        if data["environment"] is None:
            raise serializers.ValidationError({"environment": [f"Tenant {tenant.slug} has no such environment."]})
        offering = ServiceOffering.objects.filter(slug=data["offering"], is_active=True).first()
        if offering is None:
            raise serializers.ValidationError({"offering": ["No add-on is offered under that name."]})
        plan = offering.plans.filter(slug=data["plan"]).first()
        if plan is None:
            names = ", ".join(offering.plans.values_list("slug", flat=True))
            raise serializers.ValidationError({"plan": [f"{offering.name} has no such plan; choose one of {names}."]})
        data["offering"], data["plan"] = offering, plan
        return data


class ServiceBindingSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    application = serializers.SlugRelatedField(slug_field="name", read_only=True)
    instance_name = serializers.CharField(source="instance.name", read_only=True)
    environment = serializers.CharField(source="instance.environment.name", read_only=True)

    class Meta:
        model = ServiceBinding
        fields = [
            "id",
            "tenant",
            "instance",
            "instance_name",
            "environment",
            "application",
            "state",
            "last_operation",
            "env_prefix",
            "created_at",
        ]
        read_only_fields = fields


class ServiceBindingWithCredentialsSerializer(ServiceBindingSerializer):
    credentials = serializers.DictField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The environment variables the application gets; in this response only, for owners and admins.",
    )

    class Meta(ServiceBindingSerializer.Meta):
        fields = [*ServiceBindingSerializer.Meta.fields, "credentials"]
        read_only_fields = fields


class ServiceBindingCreateSerializer(serializers.Serializer):
    """Bind `application` (its id or name) to `instance` (its id); another tenant's either is a 404."""

    instance = serializers.IntegerField(min_value=1)
    application = IdOrNameField(help_text="The application by id or by name, in the instance's tenant.")
