"""Builds through the real thing: the API, a Celery worker on the builds queue, the Docker engine, the
registry, and the sandbox cluster the built release is deployed to."""

import base64
import json
import subprocess
import time

import pytest
from django.conf import settings

from apps.builds import engine
from apps.builds.access import pull_credential
from apps.builds.models import TERMINAL, Build, BuildContext, State
from apps.builds.pipeline import WORKER_DIED, builds_sweep
from apps.catalog.models import Release
from apps.clusters.services import kube_of
from apps.deployments.choices import State as DeploymentState
from apps.tenants.principals import as_principal
from tests.conftest import start_worker, wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy
from tests.deployments.test_pipeline import finished as deployment_finished

from .conftest import BUSYBOX, context, docker_cli, dockerfile, finished, log_text, registry_manifest, upload

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/builds/"


@pytest.fixture
def builder(build_stack, celery_worker):
    """A worker that builds (it consumes the builds queue with the engine and registry in its environment)."""
    return celery_worker


def test_a_build_is_pushed_pinned_by_the_registrys_digest_and_deploys(world, api, client, builder, sandbox):
    registered(world, sandbox)
    globex_shop = make_app(world.globex, name="shop")
    globex_data = context({"Dockerfile": dockerfile()})
    globex_build = finished(upload(api, world.user("developer", "globex"), globex_shop, globex_data).json()["id"])
    assert globex_build.state == State.SUCCEEDED, log_text(globex_build)
    shop = make_app(world.acme, name="shop")
    make_release(shop, replicas=3, env={"GREETING": "hi"})
    data = context({"Dockerfile": dockerfile('RUN ["/bin/sh", "-c", "echo built by the portal"]')})
    response = upload(api, world.user("developer"), shop, data, create_release="true", tag="v1")
    assert response.status_code == 201, response.content
    build = finished(response.json()["id"])

    assert build.state == State.SUCCEEDED, log_text(build)
    assert "built by the portal" in log_text(build)
    assert [line.seq for line in build.log_lines.order_by("seq")] == list(range(1, build.last_seq + 1))
    texts = list(build.log_lines.order_by("seq").values_list("text", flat=True))
    output = next(n for n, text in enumerate(texts) if "built by the portal" in text)
    assert output < texts.index("Pushing " + build.image + ":v1.") < len(texts) - 1
    assert texts[-1] == build.outcome
    # The digest is the registry's, not the engine's image id.
    manifest = registry_manifest("acme/shop", "v1")
    assert manifest.status_code == 200
    assert build.digest == manifest.headers["Docker-Content-Digest"]
    assert build.image.endswith("/acme/shop")
    # A release pinned to it, with the settings of the release before.
    release = build.release
    assert release.number == 2
    assert release.image == f"{build.image}@{build.digest}"
    assert release.image_digest == build.digest
    assert (release.replicas, release.env) == (3, {"GREETING": "hi"})
    # Nothing of the build stays behind: the local image and the uploaded context are gone.
    assert not BuildContext.objects.exists()
    wait_for(lambda: build.image not in docker_cli("images", "--format", "{{.Repository}}"))

    response = api.get(f"{URL}{build.pk}/")
    assert response.json()["pinned_image"] == release.image
    assert response.json()["release_number"] == 2
    # Deployed to the sandbox cluster, which runs the image by digest.
    deployment = deploy(api, world.user("developer"), release)
    assert deployment.status_code == 201, deployment.content
    assert deployment_finished(deployment.json()["id"]).state == DeploymentState.SUCCEEDED
    # The cluster pulls with the tenant's own credential: a pull Secret in the namespace, named by the pods.
    dev = world.acme.environments.get(name="dev")
    with kube_of(dev) as kube:
        secret = kube.get("v1", "Secret", settings.REGISTRY_PULL_SECRET, dev.namespace)
        applied = kube.get("apps/v1", "Deployment", "shop", dev.namespace)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    login = config["auths"][engine.registry_host()]
    assert login["username"] == pull_credential(world.acme).username
    assert base64.b64decode(login["auth"]).decode() == f"{login['username']}:{pull_credential(world.acme).password}"
    assert applied["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": settings.REGISTRY_PULL_SECRET}]
    assert applied["spec"]["template"]["spec"]["containers"][0]["image"] == release.image

    # What the Secret holds pulls acme's repositories and no other tenant's: asked for both, as a
    # container runtime asks the realm, it gets a token the registry honours for acme/shop alone.
    realm = client.get(
        "/registry/token/",
        {
            "service": settings.REGISTRY_TOKEN_SERVICE,
            "scope": ["repository:acme/shop:pull", "repository:globex/shop:pull"],
        },
        HTTP_AUTHORIZATION=f"Basic {login['auth']}",
    )
    assert realm.status_code == 200, realm.content
    token = realm.json()["token"]
    own = registry_manifest("acme/shop", build.digest, token=token)
    assert own.status_code == 200 and own.headers["Docker-Content-Digest"] == build.digest
    assert registry_manifest("globex/shop", globex_build.digest, token=token).status_code == 401
    # The registry has globex's manifest: a token of globex's own reads it.
    assert registry_manifest("globex/shop", globex_build.digest).status_code == 200


def test_a_first_release_from_a_build_takes_the_template_defaults(world, api, builder, operator):
    from apps.catalog.services import application_create, template_create

    template = template_create(
        operator=as_principal(operator),
        slug="web",
        name="Web service",
        component_kind="web",
        defaults={"ports": [{"name": "http", "port": 8080}], "replicas": 2, "memory_request": "64Mi"},
    )
    shop = application_create(actor=world.principal("developer"), tenant=world.acme, name="shop", template=template)
    assert not shop.releases.exists()
    response = upload(api, world.user("developer"), shop, context({"Dockerfile": dockerfile()}), create_release=True)
    build = finished(response.json()["id"])
    assert build.state == State.SUCCEEDED, log_text(build)
    release = Release.objects.get(application=shop)
    assert release.image == build.pinned_image
    assert (release.replicas, release.memory_request, release.ports) == (2, "64Mi", [{"name": "http", "port": 8080}])


def test_a_context_without_a_dockerfile_fails_saying_so(world, api, builder):
    shop = make_app(world.acme, name="shop")
    build = finished(upload(api, world.user("developer"), shop, context({"README": "no Dockerfile"})).json()["id"])
    assert build.state == State.FAILED
    assert build.outcome == "The context has no Dockerfile at “Dockerfile”."
    assert not BuildContext.objects.exists()


def test_a_failing_dockerfile_fails_with_the_engines_error_and_pushes_nothing(world, api, builder):
    shop = make_app(world.acme, name="shop")
    data = context({"Dockerfile": dockerfile('RUN ["/bin/sh", "-c", "echo about to fail; exit 3"]')})
    build = finished(upload(api, world.user("developer"), shop, data, tag="broken").json()["id"])
    assert build.state == State.FAILED
    assert "returned a non-zero code: 3" in build.outcome
    assert "about to fail" in log_text(build)
    assert build.digest == ""
    assert registry_manifest("acme/shop", "broken").status_code == 404


def test_a_cancelled_build_stops_and_pushes_nothing(world, api, builder):
    shop = make_app(world.acme, name="shop")
    data = context({"Dockerfile": dockerfile('RUN ["/bin/sh", "-c", "echo sleeping; sleep 60"]')})
    build_id = upload(api, world.user("developer"), shop, data, tag="stopped").json()["id"]
    wait_for(lambda: "sleeping" in log_text(Build.objects.get(pk=build_id)), timeout=60)
    assert api.post(f"{URL}{build_id}/cancel/").json()["cancel_requested"] is True
    build = finished(build_id, timeout=15)
    assert build.state == State.CANCELLED
    assert build.outcome == "Cancelled; nothing was pushed."
    assert registry_manifest("acme/shop", "stopped").status_code == 404
    # The engine abandoned the build: no container of it is left running.
    wait_for(lambda: "sleeping; sleep 60" not in docker_cli("ps", "-a", "--no-trunc", "--format", "{{.Command}}"))


def test_a_build_past_the_time_limit_is_stopped(world, api, build_stack, transactional_db, tmp_path):
    worker = start_worker(tmp_path / "worker.log", BUILD_TIME_LIMIT_SECONDS="3")
    try:
        shop = make_app(world.acme, name="shop")
        data = context({"Dockerfile": dockerfile('RUN ["/bin/sh", "-c", "sleep 60"]')})
        build = finished(upload(api, world.user("developer"), shop, data).json()["id"], timeout=30)
        assert build.state == State.FAILED
        assert build.outcome == "Stopped after the time limit of 3 seconds."
    finally:
        worker.terminate()
        worker.wait(15)


def test_a_build_whose_worker_dies_is_failed_within_seconds(
    world, api, build_stack, transactional_db, tmp_path, settings
):
    worker = start_worker(tmp_path / "worker.log", BUILD_HEARTBEAT_SECONDS="1")
    try:
        shop = make_app(world.acme, name="shop")
        data = context({"Dockerfile": dockerfile('RUN ["/bin/sh", "-c", "echo sleeping; sleep 60"]')})
        build_id = upload(api, world.user("developer"), shop, data, tag="orphan").json()["id"]
        wait_for(lambda: "sleeping" in log_text(Build.objects.get(pk=build_id)), timeout=60)
        settings.BUILD_HEARTBEAT_TIMEOUT_SECONDS = 8
        first = Build.objects.get(pk=build_id).heartbeat_at
        # While the worker lives, its heartbeat keeps the build off the sweeper's list.
        wait_for(lambda: Build.objects.get(pk=build_id).heartbeat_at > first, timeout=10)
        builds_sweep()
        assert Build.objects.get(pk=build_id).state == State.RUNNING
    finally:
        worker.kill()  # no goodbye: the process is gone, as after the out-of-memory killer
        worker.wait(15)
    died = time.monotonic()

    def swept():
        builds_sweep()  # what beat runs every 15 seconds
        return Build.objects.filter(pk=build_id, state__in=TERMINAL).first()

    build = wait_for(swept, timeout=30, interval=1)
    assert build.state == State.FAILED
    assert build.outcome == WORKER_DIED
    assert time.monotonic() - died < 20  # not the time limit (30 minutes) plus five
    assert registry_manifest("acme/shop", "orphan").status_code == 404


def test_a_tenant_runs_at_most_its_limit_of_builds_at_once(world, api, build_stack, transactional_db, tmp_path):
    worker = start_worker(tmp_path / "worker.log", concurrency=2, BUILD_CONCURRENCY_PER_TENANT="1")
    try:
        shop = make_app(world.acme, name="shop")
        data = context({"Dockerfile": dockerfile('RUN ["/bin/sh", "-c", "sleep 2"]')})
        ids = [upload(api, world.user("developer"), shop, data).json()["id"] for _ in range(2)]
        first, second = sorted((finished(pk, timeout=90) for pk in ids), key=lambda build: build.started_at)
        assert first.state == second.state == State.SUCCEEDED
        assert second.started_at >= first.finished_at
    finally:
        worker.terminate()
        worker.wait(15)


def test_a_git_repository_is_cloned_and_built(world, api, builder, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Dockerfile").write_text(dockerfile('RUN ["/bin/sh", "-c", "cat /bin/sh > /dev/null; echo from git"]'))
    (repo / "busybox").write_bytes(BUSYBOX.read_bytes())
    (repo / "busybox").chmod(0o755)
    git = ["git", "-C", str(repo), "-c", "user.email=dev@acme.test", "-c", "user.name=Dev"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    shop = make_app(world.acme, name="shop")
    api.as_user(world.user("developer"))
    body = {"tenant": "acme", "application": shop.pk, "repository_url": f"file://{repo}", "ref": "main"}
    build = finished(api.post(URL, body, format="json").json()["id"])
    assert build.state == State.SUCCEEDED, log_text(build)
    assert "from git" in log_text(build)

    body["ref"] = "no-such-branch"
    build = finished(api.post(URL, body, format="json").json()["id"])
    assert build.state == State.FAILED
    assert build.outcome.startswith(f"Could not fetch no-such-branch from file://{repo}")
