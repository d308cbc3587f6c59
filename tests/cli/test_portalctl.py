"""portalctl against a running portal: a real ASGI server, a real Celery worker and the sandbox cluster.
The command is the installed console script, run as a subprocess like a user would."""

import re
import stat

import pytest

from apps.catalog.models import Release
from apps.deployments.models import Deployment
from tests.deployments.conftest import make_app, registered

pytestmark = pytest.mark.django_db(transaction=True)


def test_portalctl_cuts_a_release_deploys_it_and_watches_it_to_success(
    asgi_server, world, sandbox, celery_worker, portalctl
):
    registered(world, sandbox)
    make_app(world.acme, "shop", kind="worker")
    key = world.key("developer")

    listed = portalctl(asgi_server, key, "apps", "list")
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"^\d+\s+shop\s+worker\s+acme", listed.stdout, re.M)

    created = portalctl(
        asgi_server,
        key,
        "releases",
        "create",
        "shop",
        "--image",
        "registry.example/shop:1.0",
        "--env",
        "LOG_LEVEL=debug",
        "--replicas",
        "2",
    )
    assert created.returncode == 0, created.stderr
    release = Release.objects.get(application__name="shop")
    assert (release.number, release.env, release.replicas) == (1, {"LOG_LEVEL": "debug"}, 2)
    assert f"Created release #1 of shop (id {release.pk})" in created.stdout

    deployed = portalctl(
        asgi_server, key, "deploy", "--release", str(release.pk), "--env", "dev", "--watch", "--timeout", "60"
    )
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    deployment = Deployment.objects.get()
    assert deployment.state == "succeeded"
    assert f"Deployment {deployment.pk}: release #1 of shop to dev is queued" in deployed.stdout
    assert deployed.stdout.rstrip().endswith(f"Deployment {deployment.pk} succeeded.")
    # Every event exactly once, in order, and the states in the order they happened.
    seqs = [int(s) for s in re.findall(r"^\s*(\d+)\s+\d\d:\d\d:\d\d\s", deployed.stdout, re.M)]
    assert seqs == list(range(1, deployment.last_seq + 1))
    states = re.findall(r"^\s*\d+\s+\S+\s+state\s+(\w+)", deployed.stdout, re.M)
    assert states[0] == "queued" and states[-1] == "succeeded"
    assert {"applying", "progressing"} <= set(states)

    releases = portalctl(asgi_server, key, "releases", "list", "shop")
    assert re.search(rf"^{release.pk}\s+1\s+registry.example/shop:1.0", releases.stdout, re.M)

    watched_again = portalctl(asgi_server, key, "watch", str(deployment.pk), "--poll")
    assert watched_again.returncode == 0 and f"Deployment {deployment.pk} succeeded." in watched_again.stdout


def test_portalctl_prints_the_apis_detail_and_fails_on_an_error(asgi_server, world, portalctl):
    key = world.key("developer")
    unknown = portalctl(asgi_server, key, "deploy", "--release", "999999", "--env", "dev")
    assert unknown.returncode == 1
    assert "Not found." in unknown.stderr and "[not_found]" in unknown.stderr

    make_app(world.acme, "shop", kind="worker")
    invalid = portalctl(
        asgi_server, key, "releases", "create", "shop", "--image", "registry.example/shop:1.0", "--replicas", "1000"
    )
    assert invalid.returncode == 1
    assert "replicas:" in invalid.stderr and "[invalid]" in invalid.stderr

    viewer = portalctl(asgi_server, world.key("viewer"), "releases", "create", "shop", "--image", "x/y:1")
    assert viewer.returncode == 1 and viewer.stderr.strip()

    bad_key = portalctl(asgi_server, "pk_nosuchkey_000000000000000000", "apps", "list")
    assert bad_key.returncode == 1 and "[invalid_key]" in bad_key.stderr

    not_logged_in = portalctl(asgi_server, None, "apps", "list")
    assert not_logged_in.returncode == 2 and "portalctl login" in not_logged_in.stderr


def test_login_checks_the_key_and_stores_it_for_the_owner_only(asgi_server, world, portalctl, tmp_path):
    key = world.key("viewer")
    login = portalctl(asgi_server, None, "login", "--url", asgi_server, "--key", key)
    assert login.returncode == 0, login.stderr
    assert "viewer@acme.test" in login.stdout
    config = tmp_path / "config" / "portalctl" / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert key in config.read_text()

    make_app(world.acme, "shop", kind="worker")
    listed = portalctl("", None, "apps", "list")  # URL and key now come from the stored config
    assert listed.returncode == 0 and "shop" in listed.stdout

    refused = portalctl(asgi_server, None, "login", "--url", asgi_server, "--key", "pk_nosuchkey_0000")
    assert refused.returncode == 1
    assert key in config.read_text()  # a refused key does not replace the stored one


def test_portalctl_asks_for_a_production_deploy_and_an_admin_approves_it(
    asgi_server, world, sandbox, celery_worker, portalctl
):
    from apps.approvals.models import ChangeRequest
    from apps.approvals.services.configuration import approval_policy_save
    from tests.deployments.conftest import make_release

    registered(world, sandbox)
    prod = world.acme.environments.get(name="prod")
    approval_policy_save(
        actor=world.principal("owner"),
        tenant=world.acme,
        environment=prod,
        stages=[{"name": "Admins", "quorum": 1, "roles": ["admin", "owner"]}],
    )
    release = make_release(make_app(world.acme, "shop", kind="worker"), image="registry.example/shop:1.0")
    developer, admin = world.key("developer"), world.key("admin")

    refused = portalctl(asgi_server, developer, "deploy", "--release", str(release.pk), "--env", "prod")
    assert refused.returncode == 1 and "[justification_required]" in refused.stderr

    asked = portalctl(
        asgi_server,
        developer,
        "deploy",
        "--release",
        str(release.pk),
        "--env",
        "prod",
        "--justification",
        "Ship the new checkout",
    )
    assert asked.returncode == 0, asked.stderr
    assert "is pending_approval" in asked.stdout and "portalctl changes list" in asked.stdout
    request = ChangeRequest.objects.get()

    waiting = portalctl(asgi_server, admin, "changes", "list", "--waiting")
    assert re.search(rf"^{request.pk}\s+deploy\s+pending\s", waiting.stdout, re.M), waiting.stdout
    assert portalctl(asgi_server, developer, "changes", "list", "--waiting").stdout.count("pending") == 0

    approved = portalctl(asgi_server, admin, "approve", str(request.pk), "--comment", "Looks right")
    assert approved.returncode == 0, approved.stderr
    assert f"Change request {request.pk} is approved." in approved.stdout
    again = portalctl(asgi_server, admin, "approve", str(request.pk))
    assert again.returncode == 1 and "[request_closed]" in again.stderr

    watched = portalctl(asgi_server, developer, "watch", str(request.deployment_id), "--timeout", "60")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert watched.stdout.rstrip().endswith(f"Deployment {request.deployment_id} succeeded.")

    audit = portalctl(asgi_server, world.key("owner"), "audit", "tail", "-n", "50")
    assert re.search(r"admin@acme\.test \(key \w+\)\s+change_request\.approve", audit.stdout), audit.stdout
