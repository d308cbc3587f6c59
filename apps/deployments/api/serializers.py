from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.catalog.models import Application, Release
from apps.core.api import EveryErrorSerializer, PlainTimes
from apps.core.errors import ApplicationError, FieldErrors
from apps.core.numbers import digits
from apps.tenants.api.serializers import NamedField, TenantField
from apps.tenants.models import Environment

from ..choices import State, Strategy
from ..models import Deployment, DeploymentEvent, DeploySettings
from ..services import MAX_REPLICAS
from ..services.gating import justification_check
from ..strategies.plan import MAX_GATE_SECONDS, MAX_KEEP_SECONDS, canary_rule, step_rule, strategy_plan


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class ReleaseField(NamedField):
    """A release by id; when the body names an `application`, by its number within that application."""

    default_error_messages = {"incorrect_type": "A release id, or with `application` a release number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (isinstance(data, int) or digits(data)):
            self.fail("incorrect_type")
        given = self.sibling_input("application")
        if given is None:
            return self.by_id(self.get_queryset(), data, "")
        try:
            application = self.parent.fields["application"].to_internal_value(given)
        except serializers.ValidationError:
            return None  # the application's own error says what is wrong
        release = self.get_queryset().filter(application=application, number=int(data)).first()
        if release is None:
            self.fail("missing", model="release", value=int(data), where=f" of {application.name}")
        return release


class MatchHeaderSerializer(serializers.Serializer):
    """A request header whose exact value sends a request to the canary."""

    name = serializers.CharField(help_text="An HTTP token, e.g. X-Canary.", trim_whitespace=False)
    value = serializers.CharField(help_text="The exact value, e.g. always.", trim_whitespace=False)


class CanaryTrafficSerializer(serializers.Serializer):
    weight = serializers.IntegerField(help_text="The percentage of the other requests the step sends to the canary.")
    header = MatchHeaderSerializer(allow_null=True)
    cookie = serializers.CharField(allow_null=True, help_text='A cookie that, set to "always", sends to the canary.')


# The column each field not read as itself is shown by (a foreign key by its own name is its id); the
# canary rule is computed from other columns of the row.
RELATED_COLUMNS = {
    "tenant": "tenant__slug",
    "application": "application__name",
    "release_number": "release__number",
    "environment_name": "environment__name",
    "requested_by": "requested_by__email",
    "change_request": "change_request_id",  # selectors.with_change_request
}
COMPUTED = ("canary_traffic",)
# The fields written as times, as DRF's DateTimeField writes them.
TIMES = frozenset(field.name for field in Deployment._meta.concrete_fields if isinstance(field, models.DateTimeField))


# A deployment's row: the list's, the detail's and every action's. The fields declared here are the schema
# (no docstring: it would be the schema's description); `to_representation` builds the same body as a plain
# dict, since DRF's generic fields, walked for each of thirty fields of each row, were most of a list page's
# time (tests/deployments/test_rows.py holds the two equal). It takes a model instance or a row of
# `COLUMNS`: the list reads those as values, without building a deployment and five related models per row.
class DeploymentSerializer(PlainTimes, serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    application = serializers.SlugRelatedField(slug_field="name", read_only=True)
    release_number = serializers.IntegerField(source="release.number", read_only=True)
    environment_name = serializers.CharField(source="environment.name", read_only=True)
    requested_by = serializers.SerializerMethodField()
    change_request = serializers.SerializerMethodField()
    canary_traffic = serializers.SerializerMethodField(
        help_text="The rule the deployment's current step applies to the canary (the intended split, from the "
        "deployment, not read from the cluster), else null: before the first step, once the promotion starts and "
        "after the deployment ends."
    )

    class Meta:
        model = Deployment
        fields = [
            "id",
            "tenant",
            "application",
            "release",
            "release_number",
            "environment",
            "environment_name",
            "strategy",
            "strategy_config",
            "step",
            "waiting",
            "canary_traffic",
            "colour",
            "switch_back_until",
            "switched_back_at",
            "paused_at",
            "resumed_at",
            "state",
            "reason",
            "outcome",
            "requested_by",
            "rollback_of",
            "progress_deadline_seconds",
            "attempts",
            "last_seq",
            "created_at",
            "started_at",
            "finished_at",
            "removed_at",
            "change_request",
        ]
        read_only_fields = fields

    # What a row is built from, as `values()` names the columns.
    COLUMNS = tuple(RELATED_COLUMNS.get(name, name) for name in Meta.fields if name not in COMPUTED)

    def to_representation(self, instance):
        row = instance if isinstance(instance, dict) else columns_of(instance)
        body = {}
        for name in self.Meta.fields:
            if name == "canary_traffic":
                body[name] = step_rule(row["strategy"], row["state"], row["step"], row["strategy_config"])
            elif name in TIMES:
                body[name] = self._time(row[name])
            else:
                body[name] = row[RELATED_COLUMNS.get(name, name)]
        return body

    # The methods below are what the declared fields read (the schema's types and descriptions, and the
    # generic walk tests/deployments/test_rows.py compares with); the rows themselves come from above.
    @extend_schema_field(OpenApiTypes.EMAIL)
    def get_requested_by(self, deployment) -> str | None:
        return deployment.requested_by.email if deployment.requested_by else None

    @extend_schema_field(CanaryTrafficSerializer(allow_null=True))
    def get_canary_traffic(self, deployment) -> dict | None:
        """The rule the deployment's current step applies to the canary, else null (before the first
        step, once the promotion starts, after the deployment ends): its weight and the header and
        cookie whose requests reach it whatever the weight. This is the intended split, from the
        deployment's step, not read from the cluster: the application's Traffic tab shows what the
        cluster serves."""
        return canary_rule(deployment)

    def get_change_request(self, deployment) -> int | None:
        """The id of the deployment's open change request, else of its latest one (the viewset's rows
        carry it: selectors.with_change_request; a deployment a service returns reads it here)."""
        return change_request_of(deployment)


def change_request_of(deployment: Deployment) -> int | None:
    """See DeploymentSerializer.get_change_request."""
    if hasattr(deployment, "change_request_id"):
        return deployment.change_request_id
    requests = list(deployment.change_requests.all())  # newest first
    open_request = next((request for request in requests if request.is_open), None)
    chosen = open_request or (requests[0] if requests else None)
    return chosen.pk if chosen else None


KEYS = ("release", "environment", "rollback_of")  # foreign keys a row shows as ids
OWN_COLUMNS = tuple(
    column
    for column in DeploymentSerializer.COLUMNS
    if "__" not in column and column not in KEYS and column != "change_request_id"
)


def columns_of(deployment: Deployment) -> dict:
    """A deployment read as a model (the detail, an action's answer), as the list's `values()` row has it."""
    requested_by = deployment.requested_by
    return {
        **{column: getattr(deployment, column) for column in OWN_COLUMNS},
        **{key: getattr(deployment, f"{key}_id") for key in KEYS},
        "tenant__slug": deployment.tenant.slug,
        "application__name": deployment.application.name,
        "release__number": deployment.release.number,
        "environment__name": deployment.environment.name,
        "requested_by__email": None if requested_by is None else requested_by.email,
        "change_request_id": change_request_of(deployment),
    }


class GovernedSerializer(serializers.Serializer):
    """The fields of a change that may need approval (see the approvals app)."""

    justification = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why: required where the environment needs approval.",
    )
    break_glass_reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Owners only: push the change past approval or a freeze; it is flagged and reviewed afterwards.",
    )


class DeploymentCreateSerializer(EveryErrorSerializer, GovernedSerializer):
    """Deploy `release` to `environment` in `tenant`. Send an Idempotency-Key header to make retries safe."""

    tenant = TenantField()
    application = NamedField(
        Application,
        required=False,
        help_text="The application by id or name; when given, `release` is the release number within it.",
    )
    release = ReleaseField(
        Release, help_text="A release id; with `application`, the release number within that application."
    )
    environment = NamedField(Environment, help_text="The environment by id or name (`dev`).")
    progress_deadline_seconds = serializers.IntegerField(min_value=2, max_value=3600, required=False)

    def validate(self, data):
        tenant = data["tenant"]
        errors = {
            field: [f"No {field} of that id in {tenant.slug}."]
            for field in ("application", "release", "environment")
            if field in data and data[field].tenant_id != tenant.pk
        }
        if errors:
            self.refuse(errors, data)
        return data


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ContinueSerializer(ReasonSerializer):
    """The reason doubles as the justification where the environment needs approval."""

    break_glass_reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Owners only: roll back past approval or a freeze; it is flagged and reviewed afterwards.",
    )


class RollbackSerializer(ContinueSerializer):
    """A rollback says why: the reason is recorded on the new deployment (and justifies it where the
    environment needs approval)."""

    reason = serializers.CharField(max_length=500, help_text="Why you are rolling back.")


class PendingApprovalSerializer(serializers.Serializer):
    """A change that waits, so nothing happened yet: for approval (`change_request` set, state `pending`),
    or for the cluster to answer again (state `waiting_for_cluster`; the deployment's events say when it is made)."""

    change_request = serializers.IntegerField(
        allow_null=True, help_text="The change request that must be approved first; null when waiting for the cluster."
    )
    state = serializers.CharField(help_text="pending or waiting_for_cluster")
    detail = serializers.CharField()


class LivePodSerializer(serializers.Serializer):
    name = serializers.CharField()
    state = serializers.CharField(help_text="ready, starting, terminating, image pull error or crash loop")
    restarts = serializers.IntegerField()
    message = serializers.CharField(help_text="What the cluster says about the pod")
    created_at = serializers.CharField(allow_null=True)


class LivePodsSerializer(serializers.Serializer):
    """The pods running a deployment's release, read from the cluster at the time of the request."""

    live = serializers.BooleanField(help_text="Whether any pod of the deployment's release runs now")
    readable = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    pods = LivePodSerializer(many=True)


class ServingSerializer(serializers.Serializer):
    """What serves the application in the environment now, read from the cluster at the time of the request:
    the release the Service routes to (for blue-green, the colour its selector names)."""

    readable = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    release_number = serializers.IntegerField(allow_null=True, help_text="null when nothing of the application runs")
    colour = serializers.CharField(allow_blank=True, help_text="blue or green under blue-green, else empty")
    deployment = serializers.IntegerField(allow_null=True, help_text="The deployment whose objects serve")
    ready = serializers.IntegerField()
    replicas = serializers.IntegerField(allow_null=True, help_text="null for a cron job")
    drift = serializers.CharField(
        allow_blank=True,
        help_text="How the cluster differs from the serving release, as the lifecycle watcher last judged it; "
        "empty when it does not, or while no watcher leads",
    )
    summary = serializers.CharField(help_text="The same in words, as pages show it")


class EnvironmentServingSerializer(ServingSerializer):
    environment = serializers.IntegerField()
    environment_name = serializers.CharField()


class DeploymentEventSerializer(serializers.ModelSerializer):
    # A plain string in the schema: "kind" is also an environment's field, and one enum name must not serve both.
    kind = serializers.CharField(read_only=True, help_text="state, pod, rollout or log")
    # Blank on events that are not state changes; a read-only model field would drop allow_blank.
    state = serializers.ChoiceField(
        choices=State.choices,
        allow_blank=True,
        read_only=True,
        help_text="The state entered, on state events; empty on the others.",
    )

    class Meta:
        model = DeploymentEvent
        fields = ["seq", "kind", "state", "key", "message", "data", "created_at"]
        read_only_fields = fields


class StrategyCreateSerializer(DeploymentCreateSerializer):
    """Deploy `release` to `environment` in `tenant` with a strategy. Canary: `steps` (traffic
    percentages, default 10, 50, 100) and `gate_seconds` (omit to wait for a continue after each step);
    `match_header` and `match_cookie` send matching requests to the canary before any weight (a first
    step of 0 sends it nothing else). Blue-green: `keep_old_colour_seconds` (default 600). Send an Idempotency-Key header to make retries safe."""

    strategy = serializers.ChoiceField(choices=Strategy.choices, default=Strategy.ROLLING)
    steps = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=100), required=False, max_length=10
    )
    gate_seconds = serializers.IntegerField(min_value=0, max_value=MAX_GATE_SECONDS, required=False)
    match_header = MatchHeaderSerializer(
        required=False,
        help_text="Canary: requests with this header and value reach the canary whatever the step's weight.",
    )
    match_cookie = serializers.CharField(
        required=False,
        trim_whitespace=False,
        help_text='Canary: requests with this cookie set to "always" reach the canary whatever the weight.',
    )
    keep_old_colour_seconds = serializers.IntegerField(min_value=0, max_value=MAX_KEEP_SECONDS, required=False)

    def validate(self, data):
        data = super().validate(data)
        try:
            data["plan"] = self.plan(data, set())
        except ApplicationError as error:
            raise serializers.ValidationError(self.named(error.errors) or {"strategy": [error.message]}) from None
        return data

    def further_checks(self, data: dict, invalid: set[str]) -> None:
        problems = FieldErrors()
        with problems.check():
            self.plan(data, invalid)
        if "justification" not in invalid:
            with problems.check():
                justification_check(
                    data.get("environment"), data.get("justification", ""), data.get("break_glass_reason", "")
                )
        if problems.errors:
            raise serializers.ValidationError(self.named(problems.errors))

    def plan(self, data: dict, invalid: set[str]):
        release = data.get("release")
        return strategy_plan(
            strategy=data.get("strategy", ""),
            application=release.application if release is not None else None,
            steps=data.get("steps"),
            gate_seconds=data.get("gate_seconds"),
            keep_seconds=data.get("keep_old_colour_seconds"),
            match_header=dict(data["match_header"]) if data.get("match_header") else None,
            match_cookie=data.get("match_cookie"),
            release=release,
            invalid={"keep_seconds" if field == "keep_old_colour_seconds" else field for field in invalid},
        )

    @staticmethod
    def named(errors: dict) -> dict:
        """The plan's field names as this body spells them."""
        return {
            "keep_old_colour_seconds" if field == "keep_seconds" else field: value for field, value in errors.items()
        }


class ScaleSerializer(GovernedSerializer):
    replicas = serializers.IntegerField(min_value=0, max_value=MAX_REPLICAS)


class PromoteSerializer(GovernedSerializer):
    environment = NamedField(Environment, help_text="The environment (id or name) to deploy the same release to.")


class RemoveSerializer(GovernedSerializer):
    """Remove `application` from `environment`: every cluster object carrying its label there. Each is an
    id or a name; `tenant` says whose names they are when the caller has several tenants."""

    tenant = TenantField(required=False, write_only=True)
    application = NamedField(Application)
    environment = NamedField(Environment)

    def validate(self, data):
        data.pop("tenant", None)  # it only scoped the names
        return data


class BreakGlassSerializer(serializers.Serializer):
    """A change that carries on an approved one: only a freeze holds it, and only an owner's break-glass passes."""

    break_glass_reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Owners only: go ahead during a freeze; it is flagged and reviewed afterwards.",
    )


class RemovedSerializer(serializers.Serializer):
    removed = serializers.ListField(child=serializers.CharField(), help_text="Kind/name of each deleted object.")


class DeploySettingsSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    environment_name = serializers.CharField(source="environment.name", read_only=True)
    justification = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        help_text="Why: required where the environment needs approval.",
    )
    break_glass_reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        help_text="Owners only: change it past approval or a freeze; it is flagged and reviewed afterwards.",
    )

    class Meta:
        model = DeploySettings
        fields = [
            "id",
            "tenant",
            "environment",
            "environment_name",
            "auto_rollback",
            "self_heal",
            "heal_skips_approval",
            "restart_on_incident",
            "require_digest",
            "updated_at",
            "justification",
            "break_glass_reason",
        ]
        read_only_fields = ["id", "tenant", "environment", "environment_name", "updated_at"]
