"""Reads of deployment data that pages and the API share."""

import functools

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.db.models.expressions import RawSQL

from apps.tenants.models import promotion_order

from .choices import ACTIVE, State, Strategy
from .models import Deployment, DeploymentEvent, DeploySettings
from .strategies.manifests import other_colour
from .strategies.plan import canary_rule

EVENTS_PAGE_MAX = 1000


def with_names(rows, *related: str):
    """Every column of the deployments themselves, but of the rows selected with them only the ones named
    (`release__number`): a list shows a release's number, not its variables, probes and ports, whose JSON
    costs more to load than everything else in the row. Touching a column left out costs a query per row."""
    return rows.only(*(field.name for field in Deployment._meta.concrete_fields), *related)


# What the deployments page's list shows of each row.
LISTED = (
    "pk",
    "strategy",
    "state",
    "removed_at",
    "created_at",
    "application__name",
    "release__number",
    "environment__name",
    "requested_by__email",
)
STATE_LABELS, STRATEGY_LABELS = dict(State.choices), dict(Strategy.choices)


def listed(rows) -> list[dict]:
    """The deployments page's rows: the columns it shows read as values, as the API's list reads its
    serializer's COLUMNS, with the state's and strategy's labels. A page of model instances and the five
    rows selected with each cost more to build than to render."""
    values = list(rows.values(*LISTED))
    for row in values:
        row["state_label"], row["strategy_label"] = STATE_LABELS[row["state"]], STRATEGY_LABELS[row["strategy"]]
    return values


def with_change_request(rows):
    """Each deployment with `change_request_id`: its open change request's (the approvals app's reverse
    relation), else its newest one's, else None. One subquery in the list's own query, written as SQL:
    the ORM's correlated subquery (a join, a Case to put the open one first) cost more to build and
    compile on each request than reading and writing the rest of a page of 50 rows."""
    return rows.annotate(change_request_id=RawSQL(_change_request_sql(), (OPEN_STATE,)))


OPEN_STATE = "pending"  # the approvals app's one open state (approvals.choices.OPEN)


@functools.cache
def _change_request_sql() -> str:
    quote = connection.ops.quote_name
    requests = quote(Deployment._meta.get_field("change_requests").related_model._meta.db_table)
    deployments = quote(Deployment._meta.db_table)  # the list's own table, which the subquery follows
    return (
        f"SELECT request.id FROM {requests} request WHERE request.deployment_id = {deployments}.id"
        " ORDER BY request.state = %s DESC, request.id DESC LIMIT 1"
    )


def deployment_list_for(principal, tenant=None):
    """The deployments the principal may see, newest first, ready for a list without extra queries."""
    rows = Deployment.objects.restrict(principal, "view")
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    return rows.select_related("tenant", "application", "release", "environment", "requested_by").order_by("-id")


def deploy_settings_list_for(principal, tenant):
    """The settings of the tenant's environments the principal may see, in promotion order."""
    rows = DeploySettings.objects.restrict(principal, "view").filter(tenant=tenant)
    return rows.select_related("environment").order_by(*promotion_order("environment__"))


def events_after(deployment: Deployment, after_seq: int = 0, limit: int = EVENTS_PAGE_MAX):
    """Events of a deployment after `after_seq`, in seq order: what a page asks for after a reconnect."""
    return DeploymentEvent.objects.filter(deployment=deployment, seq__gt=after_seq).order_by("seq")[:limit]


def latest_deployments_for(principal, tenant, application=None, *, limit: int | None = None):
    """The newest deployment of each (application, environment) the principal may see, with the message
    of its newest event: what the overview and application pages show, and the live script then moves.
    By application and environment name; with `limit`, only the places deployed to most recently."""
    newest_message = DeploymentEvent.objects.filter(deployment=OuterRef("pk")).order_by("-seq").values("message")[:1]
    seen = Deployment.objects.restrict(principal, "view").filter(tenant=tenant)
    if application is not None:
        seen = seen.filter(application=application)
    newest = seen.order_by("application_id", "environment_id", "-id").distinct("application_id", "environment_id")
    # What serves each pair is read with the application's name and kind in the environment's namespace.
    rows = with_names(
        Deployment.objects.filter(pk__in=newest.values("pk")).select_related("application", "release", "environment"),
        "application__name",
        "application__component_kind",
        "release__number",
        "environment__name",
        "environment__namespace",
    ).annotate(latest_message=Subquery(newest_message))
    if limit is not None:
        return rows.order_by("-id")[:limit]
    return rows.order_by("application__name", "environment__name", "application_id", "environment_id")


def waiting_change_request(deployment) -> int | None:
    """The change request a deployment in pending_approval waits for (the approvals app's reverse relation)."""
    if deployment.state != State.PENDING_APPROVAL:
        return None
    return deployment.change_requests.filter(state="pending").values_list("pk", flat=True).first()


def previous_good_deployment(deployment: Deployment) -> Deployment | None:
    """The newest earlier deployment of another release to the same place that succeeded."""
    return (
        Deployment.objects.filter(
            application=deployment.application_id,
            environment=deployment.environment_id,
            state=State.SUCCEEDED,
            id__lt=deployment.pk,
        )
        .exclude(release=deployment.release_id)
        .select_related("release")
        .order_by("-id")
        .first()
    )


def restore_target(deployment: Deployment) -> Deployment | None:
    """The deployment whose release served before this one, which cancelling it brings back; None when
    nothing was live there (never deployed, or removed since). A blue-green deployment that was switched
    back serves its old colour's release."""
    before = (
        Deployment.objects.filter(
            application=deployment.application_id,
            environment=deployment.environment_id,
            state=State.SUCCEEDED,
            id__lt=deployment.pk,
        )
        .select_related("release", "application")
        .order_by("-id")
        .first()
    )
    if before is None or before.removed_at is not None:
        return None
    if before.strategy == Strategy.BLUE_GREEN and before.switched_back_at:
        return previous_colour_deployment(before) or before
    return before


def live_deployment(application, environment) -> Deployment | None:
    """The deployment whose release runs in the environment now: the newest that succeeded, unless the
    application was removed from the environment since (then nothing runs there)."""
    return live_deployments(application, [environment]).get(getattr(environment, "pk", environment))


def live_deployments(application, environments) -> dict[int, Deployment]:
    """live_deployment in each of the environments (models or ids), by environment id, in one query (an
    environment where nothing runs has no key)."""
    newest = (
        Deployment.objects.filter(application=application, environment__in=environments, state=State.SUCCEEDED)
        # environment__tenant: whether the viewer may change it is asked of its environment's tenant.
        .select_related("release", "environment__tenant", "application", "tenant")
        .order_by("environment_id", "-id")
        .distinct("environment_id")
    )
    return {deployment.environment_id: deployment for deployment in newest if deployment.removed_at is None}


def step_recorded_at(deployment: Deployment, key: str):
    """When the step with this key was recorded, or None: the clock of gates and step deadlines."""
    return deployment.events.filter(key=key).values_list("created_at", flat=True).first()


def serving_colour(application_id: int, environment_id: int, *, before: int | None = None) -> str | None:
    """The blue-green colour serving the application in the environment (before deployment `before`)."""
    earlier = Deployment.objects.filter(
        application=application_id, environment=environment_id, strategy=Strategy.BLUE_GREEN, state=State.SUCCEEDED
    )
    earlier = (earlier.filter(id__lt=before) if before else earlier).order_by("-id").first()
    if earlier is None:
        return None
    return other_colour(earlier.colour) if earlier.switched_back_at else earlier.colour


def live_colour(deployment: Deployment) -> str | None:
    """The colour serving before this deployment: the last blue-green one's, unless it was switched back."""
    return serving_colour(deployment.application_id, deployment.environment_id, before=deployment.pk)


def previous_colour_deployment(deployment: Deployment) -> Deployment | None:
    """The deployment whose release the old colour runs."""
    old = other_colour(deployment.colour)
    return (
        Deployment.objects.filter(
            application=deployment.application_id,
            environment=deployment.environment_id,
            strategy=Strategy.BLUE_GREEN,
            colour=old,
            state=State.SUCCEEDED,
            id__lt=deployment.pk,
        )
        .select_related("release")
        .order_by("-id")
        .first()
    )


def canary_splits(principal, application) -> dict[int, tuple[Deployment, dict]]:
    """Environment id -> (the canary deployment, its traffic rule) where a canary of the application
    splits traffic now (see strategies.plan.canary_rule)."""
    running = (
        Deployment.objects.restrict(principal, "view")
        .filter(application=application, strategy=Strategy.CANARY, state__in=ACTIVE)
        .select_related("release")
    )
    return {d.environment_id: (d, rule) for d in running if (rule := canary_rule(d)) is not None}
