"""A state file keeps the cluster across restarts; watches from before a restart must relist."""

import json

import pytest
from kubernetes import client, watch
from kubernetes.client import ApiException

from sandbox import SandboxCluster
from sandbox.tests.conftest import wait_for

from .conftest import apply_deployment, deployment, rolled_out

pytestmark = pytest.mark.sandbox


def test_objects_survive_a_restart(tmp_path):
    state = tmp_path / "sandbox.json"
    with SandboxCluster(state_file=state) as first:
        api = first.api_client()
        apps = client.AppsV1Api(api)
        created = apply_deployment(apps, "default", deployment("web", replicas=2))
        before = wait_for(lambda: rolled_out(apps, "default", "web", 2), timeout=10)
        api.close()
    saved = json.loads(state.read_text())
    assert saved["resourceVersion"] >= int(before.metadata.resource_version)

    with SandboxCluster(state_file=state) as second:
        api = second.api_client()
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        after = apps.read_namespaced_deployment("web", "default")
        assert after.metadata.uid == before.metadata.uid
        assert after.status.available_replicas == 2
        assert len(core.list_namespaced_pod("default").items) == 2
        with pytest.raises(ApiException) as gone:
            list(
                watch.Watch().stream(
                    apps.list_namespaced_deployment,
                    "default",
                    resource_version=created.metadata.resource_version,
                    timeout_seconds=1,
                )
            )
        assert gone.value.status == 410
        scaled = apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 3}})
        assert int(scaled.metadata.resource_version) > saved["resourceVersion"]
        wait_for(lambda: rolled_out(apps, "default", "web", 3), timeout=10)
        api.close()
