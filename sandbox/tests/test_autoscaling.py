"""HorizontalPodAutoscaler (autoscaling/v2) scaling a Deployment from its synthetic CPU load."""

from kubernetes import client

from sandbox.tests.conftest import wait_for

from .conftest import apply_deployment, deployment, rolled_out

LOAD = "sandbox.paas.dev/load"


def hpa_manifest(name, minimum, maximum, target=80):
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": minimum,
            "maxReplicas": maximum,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}},
                }
            ],
        },
    }


def set_load(apps, namespace, percent):
    apps.patch_namespaced_deployment("web", namespace, {"metadata": {"annotations": {LOAD: str(percent)}}})


def conditions(hpa):
    return {c.type: (c.status, c.reason) for c in hpa.status.conditions or ()}


def test_the_autoscaler_follows_the_load_between_min_and_max(api_client, apps, core, namespace):
    autoscaling = client.AutoscalingV2Api(api_client)
    apply_deployment(apps, namespace, deployment("web", replicas=2, annotations={LOAD: "160"}))
    autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, hpa_manifest("web", 1, 5))
    scaled = wait_for(lambda: rolled_out(apps, namespace, "web", 5), timeout=15)
    assert scaled.spec.replicas == 5
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("web", namespace)
    assert hpa.status.desired_replicas == 5 and hpa.status.last_scale_time is not None
    assert hpa.status.current_metrics[0].resource.current.average_utilization == 160
    assert conditions(hpa)["ScalingLimited"] == ("True", "TooManyReplicas")
    assert conditions(hpa)["ScalingActive"] == ("True", "ValidMetricFound")
    messages = [e.message for e in core.list_namespaced_event(namespace).items if e.reason == "SuccessfulRescale"]
    assert "New size: 4; reason: cpu resource utilization (percentage of request) above target" in messages

    set_load(apps, namespace, 20)
    wait_for(lambda: rolled_out(apps, namespace, "web", 1), timeout=15)
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("web", namespace)
    assert hpa.status.current_replicas == 1 and hpa.status.desired_replicas == 1

    set_load(apps, namespace, 85)
    wait_for(
        lambda: (
            autoscaling.read_namespaced_horizontal_pod_autoscaler("web", namespace)
            .status.current_metrics[0]
            .resource.current.average_utilization
            == 85
        ),
        timeout=5,
    )
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 1


def test_the_autoscaler_enforces_its_minimum_without_metrics(api_client, apps, namespace):
    autoscaling = client.AutoscalingV2Api(api_client)
    apply_deployment(apps, namespace, deployment("web", replicas=1))
    autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, hpa_manifest("web", 3, 6))
    wait_for(lambda: rolled_out(apps, namespace, "web", 3), timeout=15)
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("web", namespace)
    assert conditions(hpa)["ScalingActive"] == ("False", "FailedGetResourceMetric")
