"""Property-based fuzzing of the whole API with schemathesis, once per role, against a live portal.

For every operation in /api/schema/ schemathesis generates valid and invalid requests (examples,
coverage, fuzzing and stateful phases) with an owner's and a viewer's API key and runs every check
it has (all enabled in the generated schemathesis.toml): no 5xx, documented status codes, content
types and headers, bodies matching their schema, invalid data refused, valid data accepted, deleted
things gone, authentication needed.

Two things keep the fuzzer from sawing off the branch it sits on: the API key and the membership it
authenticates with are never the ones it rotates, revokes, demotes or removes (the `{id}` of those
routes is pinned to a spare key and the viewer's membership).

The checks that cannot hold for an operation are switched off for that operation only in
OPERATION_CHECKS below, each with the reason the tool is wrong there.

Runs in `make test` in a short form (one example per operation, SHORT_PHASES), the owner's run split
by path into SHARDS so that two test processes share its four minutes; `make fuzz` runs every phase,
stateful included (following the schema's links from each create to the operations on the created
row, so in one run per role), with more examples. Replay a run with FUZZ_SEED.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

ST = Path(sys.executable).parent / "st"
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "1"))
# make test's short run: the coverage phase (schema boundaries and invalid values, deterministic, about
# four minutes on two cores) with the owner's key, which passes authorization and reaches validation
# everywhere; the viewer's key, refused most writes, gets examples and a round of fuzzing. make fuzz sets
# FUZZ_PHASES.
SHORT_PHASES = {"owner": "examples,coverage,fuzzing", "viewer": "examples,fuzzing"}
ROLES = os.environ.get("FUZZ_ROLES", "owner,viewer").split(",")
# The short run of a role in parts, by the first letter after /api/v1/ (about 90 and 120 operations),
# each a test of its own. Not with FUZZ_PHASES: the stateful phase follows links across every path.
SHARDS = {} if os.environ.get("FUZZ_PHASES") else {"owner": ("a-h", "i-z")}
RUNS = [
    pytest.param(role, shard, id=f"{role}-{shard}" if shard else role)
    for role in ROLES
    for shard in SHARDS.get(role, (None,))
]

# A body names its tenant by slug, and the slug must be one of the caller's tenants: the schema can
# say "a slug", not "one of yours", so most generated slugs are refused with a 400 naming `tenant`.
TENANT_SLUG = "the tenant slug must name one of the caller's tenants"

# (operation, check, reason): a check the tool gets wrong for this one operation.
OPERATION_CHECKS = [
    *(
        (f"POST /api/v1/{path}/", "positive_data_acceptance", TENANT_SLUG)
        for path in (
            "api-keys",
            "approval-policies",
            "builds",
            "cmdb/items",
            "cmdb/saved-filters",
            "consumer-keys",
            "environments",
            "freeze-windows",
            "invitations",
            "quotas/request-increase",
            "releases",
            "routes",
            "service-instances",
            "usage-plans",
            "webhooks",
        )
    ),
    # Schema-valid ids or names of no row the caller can see: the schema can say "an integer", not
    # "an existing one", and a body naming a missing row is a 400 that names the field.
    ("POST /api/v1/deployments/", "positive_data_acceptance", "the release and environment (ids or names) must exist"),
    (
        "POST /api/v1/deployments/remove/",
        "positive_data_acceptance",
        "the application and environment (ids or names) must exist",
    ),
    (
        "POST /api/v1/deployments/{id}/promote/",
        "positive_data_acceptance",
        "the target environment (id or name) must exist",
    ),
    ("POST /api/v1/applications/", "positive_data_acceptance", "a template id must exist"),
    # A list filter's name must name a row of the caller's tenants: the schema can say "a string",
    # not "one of your environments' names", and one that names nothing is a 400 naming the filter.
    *(
        (f"GET /api/v1/{path}/", "positive_data_acceptance", "a filter's name must name a row of your tenants")
        for path in (
            "deployments",
            "releases",
            "routes",
            "builds",
            "approval-policies",
            "freeze-windows",
            "change-requests",
            "deploy-settings",
            "workloads",
            "service-instances",
            "service-bindings",
        )
    ),
    ("POST /api/v1/cmdb/relationships/", "positive_data_acceptance", "source and target item ids must exist"),
    (
        "GET /api/v1/gateway/verify/",
        "positive_data_acceptance",
        "only a consumer key of the route's tenant passes; the fuzzer holds a portal key, which never does",
    ),
    *(
        (f"{method} /api/v1/usage-plans/{{id}}/", "positive_data_acceptance", "a plan's burst is at least its rate")
        for method in ("PUT", "PATCH")
    ),
    ("GET /api/v1/releases/{id}/diff/", "positive_data_acceptance", "the release to compare against must exist"),
    ("GET /api/v1/deployments/serving/", "positive_data_acceptance", "the application id must exist"),
    ("PATCH /api/v1/applications/{id}/", "positive_data_acceptance", "the owner's email must name a member"),
    # An environment's name is unique in its tenant, and an earlier request of the run may have taken the
    # name a rename asks for: 400 name_taken. It shows where the run's ids reach a row (a fresh database).
    ("PATCH /api/v1/environments/{id}/", "positive_data_acceptance", "the new name may be taken already"),
    # Builds need a Docker engine and a registry, which the fuzz run does not start: 503 builds_unavailable.
    ("POST /api/v1/builds/", "not_a_server_error", "503 builds_unavailable: no build engine in this run"),
    ("GET /api/v1/images/", "not_a_server_error", "503 builds_unavailable: no registry in this run"),
    # The JSON form of the import documents the multipart `file` field too; a string there is refused.
    ("POST /api/v1/cmdb/items/import/", "positive_data_acceptance", "`file` is only an upload in multipart"),
]


def fuzz_config(world, role, path: Path) -> Path:
    """schemathesis.toml for this run: pinned ids for the self-harming routes, per-operation checks."""
    from apps.apikeys.services import apikey_create
    from apps.tenants.models import Membership
    from apps.tenants.roles import scopes_for_role

    # A spare key of the same member: the one the key routes may rotate and revoke.
    spare_key, _ = apikey_create(
        actor=world.principal(role), tenant=world.acme, name="spare key", scopes=scopes_for_role(role)
    )
    viewer = Membership.objects.get(tenant=world.acme, user=world.user("viewer"))
    lines = [
        "[checks]",
        "enabled = true  # every check schemathesis has",
        "",
        # The API refuses NUL in every string by design (PostgreSQL cannot store it; apps/core/parsers.py
        # and RejectNulMiddleware, tested in test_bad_input.py), which no schema can say for every
        # string: generated "valid" strings with NUL would read as valid data refused.
        "[generation]",
        "allow-x00 = false",
        "",
    ]
    for include, params in (
        (r"^/api/v1/api-keys/\{id\}/", {"id": spare_key.pk}),
        (r"^/api/v1/members/\{id\}/", {"id": viewer.pk}),
    ):
        lines += [
            "[[operations]]",
            f"include-path-regex = {json.dumps(include)}",
            f"parameters = {{ id = {params['id']} }}",
            "",
        ]
    # One block per operation: an operation may have more than one check turned off.
    by_operation: dict[str, list[tuple[str, str]]] = {}
    for operation, check, reason in OPERATION_CHECKS:
        by_operation.setdefault(operation, []).append((check, reason))
    for operation, checks in by_operation.items():
        lines += [f"# {reason}" for _, reason in checks]
        lines += ["[[operations]]", f"include-name = {json.dumps(operation)}"]
        lines += [f"checks.{check}.enabled = false" for check, _ in checks]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


@pytest.fixture
def unthrottled(settings, world):
    """Rate limits are tested in tests/apikeys; here they would only turn the run into 429s. The
    fuzzer sends many bad keys (the ignored_auth check), which the per-address key-failure limit
    would answer with 429 for every later request; and thousands of calls a minute pass any plan."""
    from apps.apikeys.models import Plan, TenantPlan

    settings.API_AUTH_FAILURES_PER_IP = 0
    plan = Plan.objects.create(
        name="fuzzing",
        requests_per_second=100_000,
        burst=100_000,
        tenant_requests_per_second=100_000,
        tenant_burst=100_000,
    )
    TenantPlan.objects.update_or_create(tenant=world.acme, defaults={"plan": plan})


@pytest.mark.parametrize(("role", "shard"), RUNS)
def test_fuzzing_the_api_with_every_check_finds_nothing(asgi_server, world, unthrottled, role, shard, tmp_path):
    from tests.deployments.conftest import make_app, make_release

    make_release(make_app(world.acme, "shop"))  # something to read, so GETs of ids hit real rows too
    key = world.key(role)
    out = Path(os.environ.get("FUZZ_OUT") or tmp_path)
    config = fuzz_config(world, role, tmp_path / "schemathesis.toml")
    seed = os.environ.get("FUZZ_SEED")
    phases = os.environ.get("FUZZ_PHASES") or SHORT_PHASES.get(role, "examples,fuzzing")
    command = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{asgi_server}/api/schema/",
        "--url",
        asgi_server,
        "--header",
        f"Authorization: Bearer {key}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        phases,
        *(["--include-path-regex", f"^/api/v1/[{shard}]"] if shard else []),
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--no-shrink",
        "--output-truncate",
        "false",
        f"--seed={seed}" if seed else "--generation-deterministic",
        "--report",
        "junit",
        "--report-dir",
        str(out),
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=3000,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
    )
    (out / f"fuzz-{role}{f'-{shard}' if shard else ''}.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
