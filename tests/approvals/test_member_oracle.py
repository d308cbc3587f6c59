"""Naming an approver never tells whether an email exists on the platform (issue 12, item 10): an
email nobody has, the email of someone in another tenant, and an id of either all get the one same
answer."""

import pytest

from apps.tenants.roles import Role

pytestmark = pytest.mark.django_db


def named(api, world, member):
    staging = world.acme.environments.get(name="staging")
    return api.post(
        "/api/v1/approval-policies/",
        {
            "tenant": "acme",
            "environment": staging.pk,
            "stages": [{"name": "Leads", "quorum": 1, "roles": [], "members": [member]}],
        },
        format="json",
    )


def test_unknown_and_foreign_approvers_get_one_answer(world, api):
    api.as_user(world.user(Role.ADMIN))
    foreign = world.user(Role.OWNER, "globex")
    answers = [
        named(api, world, member)
        for member in ("nobody-at-all@example.invalid", foreign.email, foreign.email.upper(), foreign.pk, 987654321)
    ]
    assert {response.status_code for response in answers} == {400}
    assert len({response.content for response in answers}) == 1, [r.content for r in answers]
    assert answers[0].json()["fields"] == {"stages": ["Stage 1: every named approver must be a member of the tenant."]}
    # A member, by email in any case or by id, is still accepted.
    assert named(api, world, world.user(Role.DEVELOPER).email.upper()).status_code == 201
