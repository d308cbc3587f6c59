"""The deployment state machine and the rules around creating one, without a worker."""

import pytest
from django.db import IntegrityError

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.deployments import services
from apps.deployments.choices import TERMINAL, TRANSITIONS, State
from apps.deployments.models import Deployment
from apps.tenants.models import Quota
from apps.tenants.quotas import QUOTA_EXCEEDED

from .conftest import make_app, make_release

pytestmark = pytest.mark.django_db


@pytest.fixture
def dev(world):
    return world.acme.environments.get(name="dev")


@pytest.fixture
def release(world):
    return make_release(make_app(world.acme))


def create(world, release, environment, role="developer", **kwargs):
    return services.deployment_create(actor=world.principal(role), release=release, environment=environment, **kwargs)[
        0
    ]


def seqs(deployment):
    return list(deployment.events.values_list("seq", flat=True))


def test_a_new_deployment_is_queued_with_event_one_and_an_audit_row(world, release, dev):
    deployment = create(world, release, dev)
    assert deployment.state == State.QUEUED and deployment.last_seq == 1
    assert list(deployment.events.values_list("seq", "state")) == [(1, State.QUEUED)]
    assert AuditEvent.objects.filter(action="deployment.create", object_id=str(deployment.pk)).count() == 1


@pytest.mark.parametrize("source", [s for s in State.values if s in TRANSITIONS])
def test_only_listed_moves_are_legal(world, release, dev, source):
    for target in State.values:
        deployment = create(world, release, dev)
        Deployment.objects.filter(pk=deployment.pk).update(state=source)
        deployment.refresh_from_db()
        if target in TRANSITIONS[source]:
            services.deployment_transition(deployment=deployment, to_state=target)
            assert Deployment.objects.get(pk=deployment.pk).state == target
        else:
            with pytest.raises(ApplicationError) as refused:
                services.deployment_transition(deployment=deployment, to_state=target)
            assert refused.value.code == services.ILLEGAL_TRANSITION
        Deployment.objects.filter(pk=deployment.pk).update(state=State.CANCELLED)


def test_a_terminal_deployment_never_changes_and_seq_has_no_gaps(world, release, dev):
    deployment = create(world, release, dev)
    for state in (State.APPLYING, State.PROGRESSING, State.SUCCEEDED):
        services.deployment_transition(deployment=deployment, to_state=state)
    for state in State.values:
        with pytest.raises(ApplicationError):
            services.deployment_transition(deployment=deployment, to_state=state)
    assert seqs(deployment) == [1, 2, 3, 4]
    assert deployment.state in TERMINAL and deployment.finished_at is not None
    assert AuditEvent.objects.filter(action="deployment.succeeded").count() == 1


def test_observations_are_recorded_once(world, release, dev):
    deployment = create(world, release, dev)
    seen = [{"key": "pod:web-1:ready", "kind": "pod", "message": "Pod web-1 is ready"}]
    assert services.deployment_observe(deployment=deployment, observations=seen) == 1
    assert services.deployment_observe(deployment=deployment, observations=seen) == 0
    assert seqs(deployment) == [1, 2]


def test_a_second_deployment_of_the_same_app_and_environment_is_refused(world, release, dev):
    first = create(world, release, dev)
    with pytest.raises(ApplicationError) as refused:
        create(world, release, dev)
    assert refused.value.code == services.IN_PROGRESS and str(first.pk) in refused.value.message
    with pytest.raises(IntegrityError):  # and the database says so too, whatever the code does
        Deployment.objects.create(tenant=world.acme, application=release.application, release=release, environment=dev)


def test_the_same_idempotency_key_returns_the_first_deployment(world, release, dev):
    first, created = services.deployment_create(
        actor=world.principal("developer"), release=release, environment=dev, idempotency_key="ci-123"
    )
    again, created_again = services.deployment_create(
        actor=world.principal("developer"), release=release, environment=dev, idempotency_key="ci-123"
    )
    assert created and not created_again and again.pk == first.pk
    other = make_release(release.application)
    with pytest.raises(ApplicationError) as refused:
        services.deployment_create(
            actor=world.principal("developer"), release=other, environment=dev, idempotency_key="ci-123"
        )
    assert refused.value.code == services.IDEMPOTENCY_KEY_REUSED


def test_developers_deploy_to_non_production_only(world, release):
    prod = world.acme.environments.get(name="prod")
    with pytest.raises(ApplicationError) as refused:
        create(world, release, prod, role="developer")
    assert refused.value.status == 403 and "production" in refused.value.message
    assert create(world, release, prod, role="admin").state == State.QUEUED
    with pytest.raises(ApplicationError):
        create(world, release, world.acme.environments.get(name="staging"), role="viewer")


def test_a_release_over_the_quota_is_refused_with_the_numbers(world, dev):
    Quota.objects.create(tenant=world.acme, environment=dev, resource="cpu", limit=300)
    big = make_release(make_app(world.acme, "big"), replicas=4, cpu_request="100m")
    with pytest.raises(ApplicationError) as refused:
        create(world, big, dev)
    assert refused.value.code == QUOTA_EXCEEDED
    assert "300" in refused.value.message and "400" in refused.value.message
    small = make_release(make_app(world.acme, "small"), replicas=3, cpu_request="100m")
    assert create(world, small, dev).state == State.QUEUED


def test_rollback_deploys_the_previous_good_release(world, dev):
    app = make_app(world.acme)
    good, bad = make_release(app), make_release(app, image="registry.example/web:crash")
    first = create(world, good, dev)
    for state in (State.APPLYING, State.PROGRESSING, State.SUCCEEDED):
        services.deployment_transition(deployment=first, to_state=state)
    second = create(world, bad, dev)
    for state in (State.APPLYING, State.PROGRESSING):
        services.deployment_transition(deployment=second, to_state=state)
    rollback = services.deployment_rollback(actor=world.principal("developer"), deployment=second, reason="crashes")
    assert rollback.release == good and rollback.rollback_of == second and "crashes" in rollback.reason
    assert Deployment.objects.get(pk=second.pk).state == State.ROLLED_BACK
    with pytest.raises(ApplicationError) as refused:
        services.deployment_rollback(actor=world.principal("developer"), deployment=first, reason="no")
    assert refused.value.code == services.NO_PREVIOUS_RELEASE
