"""Deployment files: the Compose file parses and wires the services, the Kubernetes manifests are
well formed and keep their safety properties, the image does not run as root.

No database and no Docker daemon needed.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
KUBERNETES_DIR = ROOT / "deploy" / "kubernetes"

PORTAL_SERVICES = ("migrate", "web", "worker", "beat", "lifecycle")


def _compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _kubernetes_documents():
    docs = []
    for path in sorted(KUBERNETES_DIR.rglob("*.y*ml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                docs.append((path.name, doc))
    return docs


def _deployment(name):
    matches = [
        doc for _, doc in _kubernetes_documents() if doc["kind"] == "Deployment" and doc["metadata"]["name"] == name
    ]
    assert len(matches) == 1, f"expected one Deployment {name}, found {len(matches)}"
    return matches[0]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose binary not installed")
@pytest.mark.process
def test_docker_compose_accepts_the_file():
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_compose_defines_the_stack():
    services = _compose()["services"]
    for name in ("postgres", "redis", *PORTAL_SERVICES):
        assert name in services, f"service {name} missing"


@pytest.mark.parametrize("name", PORTAL_SERVICES)
def test_portal_services_build_from_the_deploy_dockerfile(name):
    build = _compose()["services"][name]["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == "deploy/Dockerfile"


def test_web_waits_for_migrations_and_healthy_backing_services():
    depends_on = _compose()["services"]["web"]["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


def test_kubernetes_documents_are_well_formed():
    docs = _kubernetes_documents()
    assert docs, "no manifests found"
    for filename, doc in docs:
        assert doc.get("apiVersion"), f"{filename}: apiVersion missing"
        assert doc.get("kind"), f"{filename}: kind missing"
        assert (doc.get("metadata") or {}).get("name"), f"{filename}: metadata.name missing"


def test_kustomization_lists_every_manifest_but_the_secret_template():
    kustomization = yaml.safe_load((KUBERNETES_DIR / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {path.name for path in KUBERNETES_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk - {"secret.template.yaml"}


def test_beat_and_the_lifecycle_watcher_run_a_standby_beside_their_leader():
    # Only the lease holder acts (tests/core/test_leases.py); a scheduler named on the command line
    # would bypass the leader's scheduler in the settings.
    for name in ("portal-beat", "portal-lifecycle"):
        spec = _deployment(name)["spec"]
        assert spec["replicas"] == 2, name
        command = spec["template"]["spec"]["containers"][0]["command"]
        assert not any(arg.startswith(("-S", "--scheduler")) for arg in command), name


def test_web_probes():
    container = _deployment("portal-web")["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_dockerfile_switches_to_a_non_root_user():
    users = re.findall(r"^\s*USER\s+(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE | re.IGNORECASE)
    assert users, "no USER instruction"
    # The last USER wins; root is both the name and uid 0.
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
