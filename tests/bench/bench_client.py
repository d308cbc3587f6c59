"""The client layer's overhead over the bare official client, on the same calls to the sandbox.

    make bench BENCH=tests/bench/bench_client.py

Budget: under 10 percent. Prints numbers and writes tests/bench/results/client.json.
"""

import json
import time
from pathlib import Path

from kubernetes.dynamic import DynamicClient

from apps.clusters.kube import FIELD_MANAGER, KubeClient
from sandbox import SandboxCluster

RESULTS = Path(__file__).parent / "results"
ROUNDS = 400


def config_map(i):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{i % 20}", "namespace": "bench"},
        "data": {"value": str(i)},
    }


def _rate(func):
    func(0)  # warm: discovery, connection
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for i in range(ROUNDS):
            func(i)
        best = min(best, time.perf_counter() - started)
    return best / ROUNDS * 1000


def test_client_layer_overhead():
    with SandboxCluster() as sandbox:
        ours = KubeClient(sandbox.api_client())
        ours.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}])
        bare = DynamicClient(sandbox.api_client())
        resource = bare.resources.get(api_version="v1", kind="ConfigMap")

        def bare_apply(i):
            bare.server_side_apply(
                resource,
                body=config_map(i),
                name=f"cm-{i % 20}",
                namespace="bench",
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
            ).to_dict()

        def bare_get(i):
            bare.get(resource, name=f"cm-{i % 20}", namespace="bench").to_dict()

        results = {
            "apply": {"bare_ms": _rate(bare_apply), "ours_ms": _rate(lambda i: ours.apply([config_map(i)]))},
            "get": {
                "bare_ms": _rate(bare_get),
                "ours_ms": _rate(lambda i: ours.get("v1", "ConfigMap", f"cm-{i % 20}", "bench")),
            },
        }
    print()
    for call, numbers in results.items():
        numbers["overhead_percent"] = round(100 * (numbers["ours_ms"] / numbers["bare_ms"] - 1), 1)
        print(
            f"{call:<6} bare {numbers['bare_ms']:.3f} ms  ours {numbers['ours_ms']:.3f} ms  "
            f"overhead {numbers['overhead_percent']:+.1f} %"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "client.json").write_text(json.dumps(results, indent=2))
