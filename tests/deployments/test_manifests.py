"""Rendered manifests are deterministic, labelled, and valid against the official Kubernetes schemas."""

import json

import pytest

from apps.deployments.manifests import render

from .conftest import make_app, make_release

pytestmark = pytest.mark.django_db
kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is a test dependency")
K8S_VERSION = "1.32.0"


@pytest.fixture
def full_release(world):
    app = make_app(world.acme, "shop")
    return make_release(
        app,
        image="registry.example/shop:2.1",
        image_digest="sha256:" + "a" * 64,
        env={"B": "2", "A": "1"},
        secret_refs=[{"name": "DB_PASSWORD", "secret": "db", "key": "password"}],
        command=["gunicorn"],
        args=["shop.wsgi", "--workers", "2"],
        cpu_limit="500m",
        memory_limit="256Mi",
        liveness_probe={"path": "/healthz", "periodSeconds": 10},
        readiness_probe={"tcpSocket": {"port": 8080}},
        ingress_host="shop.acme.example",
        ingress_path="/",
        autoscale_min=2,
        autoscale_max=6,
        autoscale_cpu_target=70,
    )


def kinds(manifests):
    return [m["kind"] for m in manifests]


def test_the_same_input_renders_the_same_bytes(world, full_release):
    prod = world.acme.environments.get(name="prod")
    first = json.dumps(render(full_release, prod, 42), sort_keys=False)
    assert first == json.dumps(render(full_release, prod, 42), sort_keys=False)
    assert kinds(render(full_release, prod)) == [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Service",
        "Ingress",
    ]


def test_every_object_is_labelled_and_schema_valid(world, full_release):
    prod = world.acme.environments.get(name="prod")
    for manifest in render(full_release, prod, 42, progress_deadline_seconds=30):
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
        labels, annotations = manifest["metadata"]["labels"], manifest["metadata"]["annotations"]
        assert manifest["metadata"]["namespace"] == prod.namespace
        assert labels["paas.dev/tenant"] == "acme" and labels["paas.dev/environment"] == "prod"
        assert labels["paas.dev/application"] == "shop" and labels["paas.dev/release"] == str(full_release.number)
        assert annotations["paas.dev/deployment"] == "42"


def test_the_deployment_carries_what_the_release_says(world, full_release):
    dev = world.acme.environments.get(name="dev")
    deployment = next(m for m in render(full_release, dev, progress_deadline_seconds=30) if m["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example/shop:2.1@sha256:" + "a" * 64
    assert container["env"] == [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
    ]
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    assert container["livenessProbe"] == {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}
    assert deployment["spec"]["progressDeadlineSeconds"] == 30
    assert "replicas" not in deployment["spec"]  # the autoscaler owns the replica count


def test_a_worker_has_no_service_and_a_cron_job_is_a_cronjob(world):
    dev = world.acme.environments.get(name="dev")
    worker = make_release(make_app(world.acme, "jobs", kind="worker"))
    cron = make_release(make_app(world.acme, "nightly", kind="cron"), schedule="0 3 * * *")
    assert kinds(render(worker, dev)) == ["ConfigMap", "Deployment"]
    manifests = render(cron, dev)
    assert kinds(manifests) == ["ConfigMap", "CronJob"]
    for manifest in manifests:
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


def test_redeploying_a_release_does_not_change_its_pods(world, full_release):
    dev = world.acme.environments.get(name="dev")
    template = lambda deployment_id: next(  # noqa: E731
        m for m in render(full_release, dev, deployment_id) if m["kind"] == "Deployment"
    )["spec"]["template"]
    assert template(1) == template(2)


def test_an_image_in_the_platform_registry_runs_as_written_and_pulls_with_the_tenants_secret(world, settings):
    settings.DOCKER_HOST, settings.REGISTRY_URL = "unix:///nonexistent.sock", "http://registry.platform.test:5000"
    digest = "sha256:" + "b" * 64
    built = make_release(
        make_app(world.acme, "shop"), image=f"registry.platform.test:5000/acme/shop@{digest}", image_digest=digest
    )
    elsewhere = make_release(make_app(world.acme, "web"), image="ghcr.io/acme/web:1.0")
    dev = world.acme.environments.get(name="dev")

    def pod_spec(release):
        return next(m for m in render(release, dev) if m["kind"] == "Deployment")["spec"]["template"]["spec"]

    assert pod_spec(built)["containers"][0]["image"] == built.image  # never repo@digest@digest
    assert pod_spec(built)["imagePullSecrets"] == [{"name": settings.REGISTRY_PULL_SECRET}]
    assert "imagePullSecrets" not in pod_spec(elsewhere)
