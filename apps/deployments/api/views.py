"""REST API for deployments: list, read, create (with Idempotency-Key), events, and every state change
as an action (rollback, cancel, continue, switch back, pause, resume, scale, restart, promote, remove);
and each environment's deploy settings as a small resource of its own. Every action on one deployment
runs through one runner (`DeploymentViewSet._act`)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from apps.catalog.models import Application
from apps.catalog.selectors import applications_named
from apps.core.errors import ApplicationError, require
from apps.core.idempotency import idempotent
from apps.core.numbers import digits
from apps.core.policies import policy_for
from apps.tenants.api.base import TenantViewSetMixin
from apps.tenants.filters import ID_OR_NAME

from .. import services
from ..filtersets import DeploymentAPIFilterSet, DeploySettingsFilterSet
from ..models import Deployment, DeploySettings
from ..pods import CLUSTER_UNREADABLE, live_pods
from ..selectors import EVENTS_PAGE_MAX, events_after, with_change_request
from ..serving import serving_by_environment, serving_now
from . import serializers as s

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key and payload returns the first deployment (200) instead of a new one.",
)
APPLICATION = OpenApiParameter(
    "application",
    ID_OR_NAME,
    OpenApiParameter.QUERY,
    required=True,
    description="The application's id, or its name (looked up in `tenant` when given; a name two of your "
    "tenants share needs it). One you cannot see is a 404.",
)
AFTER_SEQ = OpenApiParameter(
    "after_seq",
    OpenApiTypes.INT,
    OpenApiParameter.QUERY,
    required=False,
    description="Only events with a larger seq (what a page missed while disconnected).",
)


def _application(request) -> Application:
    """`?application=` by id or name among the applications the caller may see (see NamedLookupMixin)."""
    value = request.query_params.get("application") or ""
    if not digits(value) and (not value or "\x00" in value):
        raise ValidationError({"application": ["An application's id or name."]})
    found = applications_named(request, value, tenant_slug=request.query_params.get("tenant"))
    if len(found) > 1:
        raise ValidationError({"tenant": [f"More than one of your tenants has application “{value}”: give tenant."]})
    if not found:
        raise NotFound()
    return found[0]


def _waits(subject, what: str):
    """202 when the operation waits: for approval (with the change request) or for the cluster; else None."""
    if getattr(subject, "waiting_for_cluster", False):
        return Response(
            {
                "change_request": None,
                "state": "waiting_for_cluster",
                "detail": f"The cluster is not answering; the {what} is made once it answers again, retried with "
                "backoff up to the deployment's progress deadline. The deployment's events say when.",
            },
            status=status.HTTP_202_ACCEPTED,
        )
    waiting = getattr(subject, "change_request", None)
    if waiting is not None and waiting.is_open:
        return Response(
            {
                "change_request": waiting.pk,
                "state": waiting.state,
                "detail": f"The {what} waits for approval in change request {waiting.pk}.",
            },
            status=status.HTTP_202_ACCEPTED,
        )
    return None


class DeploymentViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deployments of releases into environments. State changes are actions: rollback, cancel, continue,
    switch back, pause, resume, scale, restart, promote; removing an application is a collection action."""

    model = Deployment
    serializer_class = s.DeploymentSerializer
    filterset_class = DeploymentAPIFilterSet

    def optimise(self, queryset):
        if self.action == "list":
            # Plain rows of the columns a row shows, the names of the rows around each deployment and its
            # change request's id among them, in one query: no models (building six per row, every column
            # of each decoded, was most of a page's time).
            return with_change_request(queryset).values(*s.DeploymentSerializer.COLUMNS)
        queryset = queryset.select_related("tenant", "application", "release", "environment", "requested_by")
        # One deployment goes on to services (the actions), which read the whole of the rows around it and
        # may open a change request: change_requests is the approvals app's reverse relation, read afresh.
        return queryset.prefetch_related("change_requests")

    def _act(self, request, service, data_class=None, *, waits_as: str = "", created: bool = False):
        """Run one service on this deployment with the request's validated fields: 202 when the change
        waits for approval (`waits_as` names it), else the deployment (201 when the service made one)."""
        deployment, fields = self.get_object(), {}
        # Whether the caller may act at all comes before what is wrong with the body: a viewer is told 403,
        # not asked to fix a field first. Promoting deploys to another environment (a deploy's own rule);
        # every other action changes this deployment. The service checks again, with the rest of its rules.
        policy = policy_for(Deployment)
        may = (
            policy.can_add(self.principal, deployment.tenant)
            if service is services.deployment_promote
            else policy.can_change(self.principal, deployment)
        )
        require(may, tenant=deployment.tenant)
        if data_class is not None:
            # Names in the body (promote's environment) are the deployment's tenant's.
            data = data_class(data=request.data, context={"request": request, "tenant": deployment.tenant})
            data.is_valid(raise_exception=True)
            fields = data.validated_data
        result = service(actor=self.principal, deployment=deployment, **fields)
        waiting = _waits(result, waits_as) if waits_as else None
        return waiting or Response(
            self.get_serializer(result).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        request=s.StrategyCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.DeploymentSerializer, 200: s.DeploymentSerializer},
        examples=[
            OpenApiExample(
                "Rolling deploy", request_only=True, value={"tenant": "acme", "release": 42, "environment": 3}
            ),
            OpenApiExample(
                "Canary to a governed environment",
                request_only=True,
                value={
                    "tenant": "acme",
                    "release": 42,
                    "environment": 5,
                    "strategy": "canary",
                    "steps": [10, 50, 100],
                    "gate_seconds": 120,
                    "justification": "Checkout fix for INC-1234",
                },
            ),
        ],
    )
    def create(self, request):
        data = s.StrategyCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        deployment, created = services.strategy_deploy(
            actor=self.principal,
            plan=data.validated_data["plan"],
            release=data.validated_data["release"],
            environment=data.validated_data["environment"],
            idempotency_key=request.headers.get("Idempotency-Key"),
            progress_deadline_seconds=data.validated_data.get("progress_deadline_seconds"),
            justification=data.validated_data["justification"],
            break_glass_reason=data.validated_data["break_glass_reason"],
        )
        # A repeated Idempotency-Key finds the first deployment in the database, even when the stored
        # answer is gone (Redis lost it): the client is told it is a replay either way.
        return Response(
            self.get_serializer(deployment).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            headers={} if created else {"Idempotent-Replayed": "true"},
        )

    @idempotent
    @extend_schema(request=s.RollbackSerializer, responses={201: s.DeploymentSerializer})
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        """Deploy the release that last succeeded before this one in the same environment. Where the
        environment needs approval the rollback waits in pending_approval (the reason is the justification)."""
        return self._act(request, services.deployment_rollback, s.RollbackSerializer, created=True)

    @extend_schema(request=s.ReasonSerializer, responses=s.DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Stop an in-flight deployment. Before anything was applied it is cancelled at once; after, it
        answers `cancelling` while the release that was live before is re-applied in full (or, when none
        was, what this deployment applied is removed), and turns `cancelled` once the cluster runs that
        release again (409 `deployment_cancelling` when asked twice)."""
        return self._act(request, services.deployment_cancel, s.ReasonSerializer)

    @extend_schema(request=s.ContinueSerializer, responses=s.DeploymentSerializer)
    @action(detail=True, methods=["post"], url_path="continue", url_name="continue")
    def continue_rollout(self, request, pk=None):
        """Move a canary waiting at a step on to its next step (409 when it is not waiting, 409
        change_freeze during a freeze unless an owner gives a break-glass reason)."""
        return self._act(request, services.deployment_continue, s.ContinueSerializer)

    @extend_schema(request=s.ReasonSerializer, responses=s.DeploymentSerializer)
    @action(detail=True, methods=["post"], url_path="switch-back", url_name="switch-back")
    def switch_back(self, request, pk=None):
        """Send a blue-green deployment's traffic back to the old colour while it is kept (409 after)."""
        return self._act(request, services.deployment_switch_back, s.ReasonSerializer)

    @extend_schema(request=None, responses=s.DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Pause this in-flight rolling update where it stands; it stays progressing until resumed."""
        return self._act(request, services.deployment_pause)

    @extend_schema(request=s.BreakGlassSerializer, responses=s.DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Let this paused rolling update carry on; its progress deadline counts again from now. A freeze
        refuses it (409 change_freeze) unless an owner gives a break-glass reason."""
        return self._act(request, services.deployment_resume, s.BreakGlassSerializer)

    @idempotent
    @extend_schema(request=s.ScaleSerializer, responses={200: s.DeploymentSerializer, 202: s.PendingApprovalSerializer})
    @action(detail=True, methods=["post"])
    def scale(self, request, pk=None):
        """Set the replicas of this (running) deployment's release, within the tenant's quotas. Where the
        environment needs approval nothing is scaled yet: 202 with the change request to approve."""
        return self._act(request, services.deployment_scale, s.ScaleSerializer, waits_as="scale")

    @idempotent
    @extend_schema(
        request=s.GovernedSerializer, responses={200: s.DeploymentSerializer, 202: s.PendingApprovalSerializer}
    )
    @action(detail=True, methods=["post"])
    def restart(self, request, pk=None):
        """Replace every pod of this (running) deployment's release, one by one. Where the environment
        needs approval nothing is restarted yet: 202 with the change request to approve."""
        return self._act(request, services.deployment_restart, s.GovernedSerializer, waits_as="restart")

    @idempotent
    @extend_schema(request=s.PromoteSerializer, responses={201: s.DeploymentSerializer})
    @action(detail=True, methods=["post"])
    def promote(self, request, pk=None):
        """Deploy this deployment's release to another environment; it must have succeeded here. Where the
        target needs approval the new deployment waits in pending_approval (see its change_request)."""
        return self._act(request, services.deployment_promote, s.PromoteSerializer, created=True)

    @idempotent
    @extend_schema(request=s.RemoveSerializer, responses={200: s.RemovedSerializer, 202: s.PendingApprovalSerializer})
    @action(detail=False, methods=["post"])
    def remove(self, request):
        """Remove an application from an environment: delete its cluster objects; the history stays.
        Where the environment needs approval nothing is deleted yet: 202 with the change request."""
        data = s.RemoveSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        removal = services.application_remove(actor=self.principal, **data.validated_data)
        return _waits(removal, "removal") or Response({"removed": removal.removed})

    @extend_schema(parameters=[AFTER_SEQ], responses=s.DeploymentEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def events(self, request, pk=None):
        """The deployment's events in seq order (at most 1000 per call; ask again after the last seq)."""
        try:
            after = int(request.query_params.get("after_seq", 0))
        except ValueError:
            raise ValidationError({"after_seq": ["A whole number."]}) from None
        rows = events_after(self.get_object(), after, EVENTS_PAGE_MAX)
        return Response(s.DeploymentEventSerializer(rows, many=True).data)

    @extend_schema(responses=s.LivePodsSerializer)
    @action(detail=True, methods=["get"], pagination_class=None)
    def pods(self, request, pk=None):
        """The pods running this deployment's release now, read from the cluster (not from past events).
        `live` is false when none runs any more; when the cluster cannot be read the answer is 503
        with code `cluster_unreadable`, never what was seen before."""
        live = live_pods(self.get_object())
        if live.error:
            raise ApplicationError(live.error, code=CLUSTER_UNREADABLE, status=503)
        return Response(s.LivePodsSerializer(live.as_dict()).data)

    @extend_schema(parameters=[APPLICATION], responses=s.EnvironmentServingSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="serving", url_name="serving-list", pagination_class=None)
    def serving_list(self, request):
        """What serves an application now in each environment, read from the cluster: per environment the
        release the Service routes to, or why its cluster could not be read."""
        application = _application(request)
        return Response(
            s.EnvironmentServingSerializer(
                [
                    {"environment": env.pk, "environment_name": env.name, **now.as_dict()}
                    for env, now in serving_by_environment(request, application)
                ],
                many=True,
            ).data
        )

    @extend_schema(responses=s.ServingSerializer)
    @action(detail=True, methods=["get"], pagination_class=None)
    def serving(self, request, pk=None):
        """What serves this deployment's application in its environment now, read from the cluster: the
        release (and blue-green colour) the Service routes to, which after a switch back is not this
        deployment's. 503 `cluster_unreadable` when the cluster cannot be read."""
        deployment = self.get_object()
        now = serving_now(deployment.application, deployment.environment)
        if now.error:
            raise ApplicationError(now.error, code=CLUSTER_UNREADABLE, status=503)
        return Response(s.ServingSerializer(now.as_dict()).data)


class DeploySettingsViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """How deployments behave in each environment: whether a failed rollout rolls back automatically,
    what happens when the cluster drifts from the live release (`self_heal`: off, notify, heal), and
    whether only images pinned by digest may be deployed (`require_digest`).
    Every environment has settings; admins and owners change them. `?environment=` takes a name or id."""

    model = DeploySettings
    serializer_class = s.DeploySettingsSerializer
    filterset_class = DeploySettingsFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant", "environment")

    def list(self, request, *args, **kwargs):
        services.deploy_settings_ensure(principal=self.principal)
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: s.DeploySettingsSerializer, 202: s.PendingApprovalSerializer})
    def update(self, request, *args, **kwargs):
        """Change the settings. Where the environment needs approval nothing changes yet: 202 with the
        change request to approve; a freeze refuses it (409 change_freeze)."""
        self.waiting = None
        response = super().update(request, *args, **kwargs)
        return self.waiting or response

    @extend_schema(responses={200: s.DeploySettingsSerializer, 202: s.PendingApprovalSerializer})
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.deploy_settings_update(
            actor=self.principal,
            settings=serializer.instance,
            auto_rollback=data.get("auto_rollback"),
            self_heal=data.get("self_heal"),
            heal_skips_approval=data.get("heal_skips_approval"),
            restart_on_incident=data.get("restart_on_incident"),
            require_digest=data.get("require_digest"),
            justification=data.get("justification", ""),
            break_glass_reason=data.get("break_glass_reason", ""),
        )
        self.waiting = _waits(serializer.instance, "settings change")
