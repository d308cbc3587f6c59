"""A sandbox cluster per test module, reached through the official kubernetes client over HTTP.

Each test works in a namespace of its own, so tests sharing a cluster cannot see each other. The
sandbox is a tool of its own, so its tests need nothing from the portal's: no database, no Redis.
"""

import itertools
import re
import socket
import time

import pytest
from kubernetes import client

from sandbox import SandboxCluster

APPLY = "application/apply-patch+yaml"
_names = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout=15.0, interval=0.1):
    """Poll until predicate() is truthy; return its value or fail with the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture(scope="module")
def cluster():
    with SandboxCluster() as sandbox:
        yield sandbox


@pytest.fixture
def api_client(cluster):
    api = cluster.api_client()
    yield api
    api.close()


@pytest.fixture
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client):
    return client.AppsV1Api(api_client)


@pytest.fixture
def namespace(core, request):
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    name = f"t{next(_names)}-{slug}"
    core.create_namespace({"metadata": {"name": name}})
    return name


def deployment(
    name,
    *,
    image="registry.example/web:v1",
    replicas=2,
    labels=None,
    annotations=None,
    strategy=None,
    progress_deadline=None,
    resources=None,
    template_annotations=None,
):
    """A small Deployment manifest, as the portal renders them."""
    labels = labels or {"app": name}
    container = {"name": "web", "image": image, "ports": [{"containerPort": 8080}]}
    if resources:
        container["resources"] = resources
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
    }
    if template_annotations:
        spec["template"]["metadata"]["annotations"] = template_annotations
    if strategy:
        spec["strategy"] = strategy
    if progress_deadline is not None:
        spec["progressDeadlineSeconds"] = progress_deadline
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }
    if annotations:
        manifest["metadata"]["annotations"] = annotations
    return manifest


def apply_deployment(apps, namespace, manifest, *, manager="paas-portal", force=True):
    return apps.patch_namespaced_deployment(
        manifest["metadata"]["name"], namespace, manifest, field_manager=manager, force=force, _content_type=APPLY
    )


def rolled_out(apps, namespace, name, replicas):
    """The Deployment once its rollout is complete by the portal's rule (DESIGN.md section 5), else None."""
    found = apps.read_namespaced_deployment(name, namespace)
    status = found.status
    done = (
        (status.observed_generation or 0) >= found.metadata.generation
        and (status.updated_replicas or 0) == replicas
        and (status.ready_replicas or 0) == replicas
        and (status.available_replicas or 0) == replicas
        and (status.replicas or 0) == replicas
    )
    return found if done else None


def condition(obj, type_):
    return next((c for c in obj.status.conditions or () if c.type == type_), None)
