"""Serializers of the approvals API. They shape input and output only; the services decide."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.numbers import digits
from apps.tenants.api.serializers import NamedField, TenantField
from apps.tenants.models import Environment

from ..choices import APPROVER_ROLES, Recurrence
from ..models import ApprovalPolicy, ApprovalRules, ChangeRequest, Decision, FreezeWindow
from ..services.configuration import MAX_STAGES

# --- Policies ----------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class MemberField(serializers.Field):
    """A named approver, by email or by user id; whether they are a member is the service's rule."""

    def to_internal_value(self, data):
        if isinstance(data, int) or digits(data):
            return int(data)
        if isinstance(data, str) and "@" in data:
            return data.strip()  # looked up among the tenant's members only, by the service
        raise serializers.ValidationError("A member's email or user id.")

    def to_representation(self, value):
        return value


class StageSerializer(serializers.Serializer):
    """One stage: `quorum` approvals from members holding one of `roles` or named in `members`."""

    position = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=80)
    quorum = serializers.IntegerField(min_value=1, max_value=10, default=1)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=APPROVER_ROLES), default=list)
    members = serializers.ListField(
        child=MemberField(), default=list, help_text="Emails (or user ids) of named approvers."
    )


def stage_rows(policy: ApprovalPolicy) -> list[dict]:
    """The policy's stages from the prefetched rows, members as emails."""
    return [
        {
            "position": stage.position,
            "name": stage.name,
            "quorum": stage.quorum,
            "roles": list(stage.roles),
            "members": sorted(member.email for member in stage.members.all()),
        }
        for stage in sorted(policy.stages.all(), key=lambda stage: stage.position)
    ]


class ApprovalPolicySerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    environment_name = serializers.SerializerMethodField()
    stages = serializers.SerializerMethodField()

    class Meta:
        model = ApprovalPolicy
        fields = [
            "id",
            "tenant",
            "environment",
            "environment_name",
            "requires_approval",
            "allow_self_approval",
            "expire_after_hours",
            "stages",
            "updated_at",
        ]
        read_only_fields = fields

    def get_environment_name(self, policy) -> str | None:
        return policy.environment.name if policy.environment_id else None

    @extend_schema_field(StageSerializer(many=True))
    def get_stages(self, policy):
        return stage_rows(policy)


class ApprovalPolicyWriteSerializer(serializers.Serializer):
    """The policy of `environment` (or the tenant default, without one). Saving replaces the stages."""

    tenant = TenantField()
    environment = NamedField(
        Environment, required=False, allow_null=True, default=None, help_text="The environment by id or name."
    )
    requires_approval = serializers.BooleanField(default=True)
    allow_self_approval = serializers.BooleanField(default=False)
    expire_after_hours = serializers.IntegerField(min_value=1, default=72)
    stages = StageSerializer(many=True, max_length=MAX_STAGES, default=list)

    def validate(self, data):
        environment = data.get("environment")
        if environment is not None and environment.tenant_id != data["tenant"].pk:
            raise serializers.ValidationError({"environment": [f"Not an environment of {data['tenant'].slug}."]})
        return data


class ApprovalPolicyUpdateSerializer(serializers.Serializer):
    """Change a policy; fields left out keep their value (stages, when given, replace all stages)."""

    requires_approval = serializers.BooleanField(required=False)
    allow_self_approval = serializers.BooleanField(required=False)
    expire_after_hours = serializers.IntegerField(min_value=1, required=False)
    stages = StageSerializer(many=True, max_length=MAX_STAGES, required=False)


# --- Freeze windows ----------------------------------------------------------------------------


class FreezeWindowSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    environment_name = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = FreezeWindow
        fields = [
            "id",
            "tenant",
            "environment",
            "environment_name",
            "name",
            "recurrence",
            "starts_at",
            "ends_at",
            "weekdays",
            "start_time",
            "end_time",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_environment_name(self, window) -> str | None:
        return window.environment.name if window.environment_id else None

    @extend_schema_field(OpenApiTypes.EMAIL)
    def get_created_by(self, window) -> str | None:
        return window.created_by.email if window.created_by else None


class FreezeWindowCreateSerializer(serializers.Serializer):
    """A freeze of `environment` (or of every production environment, without one). Once: `starts_at`
    and `ends_at`. Weekly: `weekdays` (0 is Monday) and `start_time`/`end_time` in UTC."""

    tenant = TenantField()
    environment = NamedField(
        Environment, required=False, allow_null=True, default=None, help_text="The environment by id or name."
    )
    name = serializers.CharField(max_length=100)
    recurrence = serializers.ChoiceField(choices=Recurrence.choices, default=Recurrence.ONCE)
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ends_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), required=False, default=list
    )
    start_time = serializers.TimeField(required=False, allow_null=True, default=None)
    end_time = serializers.TimeField(required=False, allow_null=True, default=None)

    def validate(self, data):
        environment = data.get("environment")
        if environment is not None and environment.tenant_id != data["tenant"].pk:
            raise serializers.ValidationError({"environment": [f"Not an environment of {data['tenant'].slug}."]})
        return data


# --- Change requests ---------------------------------------------------------------------------


class ChangeRequestSerializer(serializers.ModelSerializer):
    """A change request as listed: who asked for what, and where it stands."""

    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    # Plain strings in the schema: "kind" and "state" name other enums too (environments, deployments).
    kind = serializers.CharField(read_only=True, help_text="deploy, scale or review")
    state = serializers.CharField(read_only=True, help_text="pending, approved, rejected, expired or cancelled")
    environment_name = serializers.SerializerMethodField()
    requested_by = serializers.SerializerMethodField()
    stage_count = serializers.SerializerMethodField()

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "tenant",
            "kind",
            "state",
            "title",
            "justification",
            "environment",
            "environment_name",
            "deployment",
            "params",
            "requested_by",
            "current_stage",
            "stage_count",
            "revision",
            "break_glass",
            "review_of",
            "expires_at",
            "decided_at",
            "outcome",
            "executed_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_environment_name(self, request) -> str | None:
        return request.environment.name if request.environment_id else None

    @extend_schema_field(OpenApiTypes.EMAIL)
    def get_requested_by(self, request) -> str | None:
        return request.requested_by.email if request.requested_by else None

    def get_stage_count(self, request) -> int:
        return len(request.stages)


class DecisionSerializer(serializers.ModelSerializer):
    approver = serializers.SerializerMethodField()
    voided = serializers.SerializerMethodField()

    class Meta:
        model = Decision
        fields = ["id", "stage", "approver", "verdict", "comment", "revision", "voided", "voided_at", "created_at"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.EMAIL)
    def get_approver(self, decision) -> str:
        return decision.approver.email

    def get_voided(self, decision) -> bool:
        return decision.voided_at is not None


class StageProgressSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    name = serializers.CharField()
    quorum = serializers.IntegerField()
    approvals = serializers.IntegerField(help_text="Approvals that count (not voided) on this stage.")
    status = serializers.CharField(help_text="approved, current, waiting, rejected or closed")
    roles = serializers.ListField(child=serializers.CharField())
    members = serializers.ListField(child=serializers.EmailField())


class ChangeSerializer(serializers.Serializer):
    summary = serializers.ListField(child=serializers.CharField(), required=False)
    release_diff = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="[{field, before, after}] against the release running now.",
    )
    manifest_diff = serializers.CharField(
        required=False, help_text="Unified diff of the live objects and the new ones."
    )
    live_error = serializers.CharField(required=False, allow_blank=True)


class ChangeRequestDetailSerializer(ChangeRequestSerializer):
    """One change request with the change, its stages' progress and every decision."""

    stages = serializers.SerializerMethodField()
    decisions = DecisionSerializer(many=True, read_only=True)
    change = ChangeSerializer(read_only=True)
    reviews = serializers.SerializerMethodField()
    waiting_on = serializers.SerializerMethodField()
    can_decide = serializers.SerializerMethodField()
    can_withdraw = serializers.SerializerMethodField()

    class Meta(ChangeRequestSerializer.Meta):
        fields = [
            *ChangeRequestSerializer.Meta.fields,
            "break_glass_reason",
            "change_hash",
            "change",
            "impact",
            "stages",
            "decisions",
            "reviews",
            "waiting_on",
            "can_decide",
            "can_withdraw",
        ]
        read_only_fields = fields

    @extend_schema_field(StageProgressSerializer(many=True))
    def get_stages(self, request):
        from ..selectors import stage_progress

        return stage_progress(request)

    def get_reviews(self, request) -> list[int]:
        return [review.pk for review in request.reviews.all()]

    @extend_schema_field(serializers.ListField(child=serializers.EmailField()))
    def get_waiting_on(self, request):
        from ..eligibility import waiting_on

        return [membership.user.email for membership in waiting_on(request)]

    def get_can_decide(self, request) -> bool:
        from apps.core.policies import policy_for

        return policy_for(ChangeRequest).can_decide(self.context["request"], request)

    def get_can_withdraw(self, request) -> bool:
        from apps.core.policies import policy_for

        return request.is_open and policy_for(ChangeRequest).can_withdraw(self.context["request"], request)


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# --- Operators ---------------------------------------------------------------------------------


class OperatorChangeRequestSerializer(ChangeRequestSerializer):
    """A pending request as the console lists it: how long it has waited, and whether past the SLA."""

    age_seconds = serializers.SerializerMethodField()
    over_sla = serializers.SerializerMethodField()

    class Meta(ChangeRequestSerializer.Meta):
        fields = [*ChangeRequestSerializer.Meta.fields, "age_seconds", "over_sla"]
        read_only_fields = fields

    def get_age_seconds(self, request) -> int:
        return int((self.context["now"] - request.created_at).total_seconds())

    def get_over_sla(self, request) -> bool:
        return self.get_age_seconds(request) > self.context["sla_hours"] * 3600


class ApprovalRulesSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApprovalRules
        fields = [
            "production_requires_approval",
            "min_quorum",
            "allow_self_approval",
            "max_pending_hours",
            "review_sla_hours",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]
