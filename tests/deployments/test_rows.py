"""A deployment's row in the API is built as a plain dict, not by walking DRF's fields: the body must be the
one the serializer's declared fields (the schema) would give, for the list, the detail and an action's
answer alike. The list reads plain values in one query, whatever the page's length."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from apps.deployments.api.serializers import DeploymentSerializer
from apps.deployments.choices import State, Strategy
from apps.deployments.models import Deployment
from apps.deployments.selectors import with_change_request
from tests.base.cases_approvals import change_request
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db

URL = "/api/v1/deployments/"


@pytest.fixture
def deployments(world):
    """A canary at a step, matching a header and a cookie, rolled back from a failed deployment, requested
    by a user, with an open change request and a newer closed one and every time set; a blue-green row
    with two closed change requests; a failed rolling one with nothing optional set (no requester, no
    change request)."""
    environments = list(world.acme.environments.order_by("pk"))
    web = make_app(world.acme, "web")
    first, second = make_release(web), make_release(web, image="registry.example/web:2.0")
    now = timezone.now()
    failed = Deployment.objects.create(
        tenant=world.acme, application=web, release=first, environment=environments[0], state=State.FAILED
    )
    canary = Deployment.objects.create(
        tenant=world.acme,
        application=web,
        release=second,
        environment=environments[1],
        strategy=Strategy.CANARY,
        strategy_config={
            "steps": [10, 50, 100],
            "gate_seconds": 60,
            "match_header": {"name": "X-Canary", "value": "always"},
            "match_cookie": "canary",
        },
        step=2,
        waiting=True,
        state=State.PROGRESSING,
        reason="INC-1234",
        requested_by=world.user("developer"),
        rollback_of=failed,
        attempts=2,
        last_seq=7,
        switch_back_until=now + timedelta(minutes=10),
        switched_back_at=now,
        paused_at=now - timedelta(minutes=3),
        resumed_at=now - timedelta(minutes=2),
        started_at=now - timedelta(minutes=5),
        finished_at=now,
        removed_at=now,
    )
    change_request(world.acme, world.user("developer"), deployment=canary)  # open, though not the newest
    change_request(world.acme, world.user("developer"), deployment=canary, state="rejected")
    api = make_app(world.acme, "api")
    blue_green = Deployment.objects.create(
        tenant=world.acme,
        application=api,
        release=make_release(api),
        environment=environments[2],
        strategy=Strategy.BLUE_GREEN,
        strategy_config={"keep_seconds": 600},
        colour="green",
        state=State.SUCCEEDED,
        outcome="Rolled out.",
    )
    for _ in range(2):  # closed ones only: the newest
        change_request(world.acme, world.user("developer"), deployment=blue_green, state="approved")
    return canary, blue_green, failed


def _declared(deployment: Deployment) -> dict:
    """The body DRF's generic walk over the declared fields gives, as JSON reads it back."""
    read = Deployment.objects.select_related("tenant", "application", "release", "environment", "requested_by")
    generic = serializers.ModelSerializer.to_representation(DeploymentSerializer(), read.get(pk=deployment.pk))
    return json.loads(JSONRenderer().render(generic))


def test_list_detail_and_action_rows_are_what_the_declared_fields_give(world, api, deployments):
    api.as_user(world.user("viewer"))
    listed = {row["id"]: row for row in api.get(URL).json()["results"]}
    for deployment in deployments:
        declared = _declared(deployment)
        assert listed[deployment.pk] == declared
        assert list(listed[deployment.pk]) == list(declared), "the fields in the schema's order"
        assert api.get(f"{URL}{deployment.pk}/").json() == declared
        # As an action answers: a deployment a service returns, without the list's annotation.
        returned = Deployment.objects.get(pk=deployment.pk)
        assert json.loads(JSONRenderer().render(DeploymentSerializer(returned).data)) == declared
    canary, blue_green, failed = (listed[deployment.pk] for deployment in deployments)
    assert canary["change_request"] == deployments[0].change_requests.get(state="pending").pk
    assert blue_green["change_request"] == max(request.pk for request in deployments[1].change_requests.all())
    assert canary["canary_traffic"] == {
        "weight": 50,
        "header": {"name": "X-Canary", "value": "always"},
        "cookie": "canary",
    }
    assert (canary["rollback_of"], canary["requested_by"], canary["release_number"]) == (
        failed["id"],
        world.user("developer").email,
        2,
    )
    assert canary["created_at"].endswith("Z") and canary["removed_at"].endswith("Z")
    assert blue_green["colour"] == "green" and blue_green["canary_traffic"] is None
    assert (failed["requested_by"], failed["change_request"], failed["started_at"]) == (None, None, None)


def test_a_page_costs_the_same_queries_at_any_length(world, api, deployments):
    api.as_user(world.user("viewer"))
    api.get(URL)  # the first request of a session also records the session's activity
    counts = []
    for size in (1, 3):
        with CaptureQueriesContext(connection) as queries:
            assert len(api.get(URL, {"page_size": size}).json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_list_annotation_is_the_change_request_a_model_reads(deployments):
    canary = deployments[0]
    annotated = with_change_request(Deployment.objects.filter(pk=canary.pk)).get()
    assert DeploymentSerializer(annotated).data["change_request"] == DeploymentSerializer(canary).data["change_request"]


def test_what_runs_in_each_environment_is_read_at_once_and_as_for_one(world):
    """The application page asks what runs in every environment in one query; each answer is the newest
    deployment that succeeded there, unless the application was removed there since."""
    from apps.deployments.selectors import live_deployment, live_deployments

    web = make_app(world.acme, "web")
    first, second = make_release(web), make_release(web)
    dev, staging, prod = (world.acme.environments.get(name=name) for name in ("dev", "staging", "prod"))

    def deployed(release, environment, state=State.SUCCEEDED, **fields):
        return Deployment.objects.create(
            tenant=world.acme, application=web, release=release, environment=environment, state=state, **fields
        )

    deployed(first, dev)
    newest_dev = deployed(second, dev)
    deployed(second, dev, state=State.FAILED)  # newer, but it did not succeed: #2 still runs
    staging_live = deployed(first, staging)
    deployed(first, prod, removed_at=timezone.now())  # removed from prod since: nothing runs there
    environments = [dev, staging, prod]
    with CaptureQueriesContext(connection) as queries:
        live = live_deployments(web, environments)
    assert len(queries) == 1
    assert live == {dev.pk: newest_dev, staging.pk: staging_live}
    for environment in environments:
        assert live_deployment(web, environment) == live.get(environment.pk)
        assert live_deployment(web.pk, environment.pk) == live.get(environment.pk)
