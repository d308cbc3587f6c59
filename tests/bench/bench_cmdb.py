"""Benchmarks for the CMDB. They print numbers and never fail on time.

    make bench BENCH=tests/bench/bench_cmdb.py

- Impact analysis on 100,000 items and 500,000 relationships (generated with INSERT ... SELECT
  generate_series: a layered dependency graph, each item relying on five others, with cycles), to
  depth 6, upstream and downstream, restricted to the tenant as a tenant's request is (budget: under
  200 ms).
- Discovery of a sandbox cluster with 5,000 objects (namespaces, Deployments, their Pods, Services,
  Ingresses) over HTTP: wall time and SQL statements, first pass and an unchanged second pass
  (budget: under 30 s, statements bounded).
Results are also written to tests/bench/results/cmdb.json.
"""

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.clusters.kube import KubeClient
from apps.clusters.models import Cluster, Placement
from apps.cmdb.discovery import discover
from apps.cmdb.models import CIType, ConfigurationItem
from apps.cmdb.selectors import impact
from apps.tenants.models import Environment, Tenant, namespace_for
from sandbox import SandboxCluster

pytestmark = pytest.mark.django_db
RESULTS = Path(__file__).parent / "results"
ITEMS, EDGES_PER_ITEM, DEPTH, STARTS = 100_000, 5, 6, 30


def write(section, numbers):
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "cmdb.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[section] = numbers
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{section}: {json.dumps(numbers)}")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _generate(tenant_id: int, type_id: int) -> tuple[int, int]:
    """100,000 items in 1,000 layers of 100; each relies on five items of the next layer (wrapping
    round at the end, which closes long cycles), so depth 6 reaches a realistic few hundred items."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO cmdb_configurationitem (tenant_id, ci_type_id, name, key, description, labels,
                declared_attributes, discovered_attributes, provenance, source, status, first_seen_at, updated_at)
            SELECT %s, %s, 'ci-' || g, 'bench/' || g, '', '{}', '{}', '{}', 'declared', 'bench', 'active', now(), now()
            FROM generate_series(1, %s) g RETURNING id
        """,
            [tenant_id, type_id, ITEMS],
        )
        ids = [row[0] for row in cursor.fetchall()]
        first = min(ids)
        cursor.execute(
            """
            INSERT INTO cmdb_relationship (tenant_id, source_id, target_id, kind, provenance, origin, status, note,
                first_seen_at)
            SELECT %(tenant)s, %(first)s + s, %(first)s + ((s / 100 + 1) * 100 + (s * 7 + k * 13) %% 100) %% %(n)s,
                   'depends_on', 'declared', 'bench', 'active', '', now()
            FROM generate_series(0, %(n)s - 1) s CROSS JOIN generate_series(0, %(k)s - 1) k
            ON CONFLICT DO NOTHING
        """,
            {"tenant": tenant_id, "first": first, "n": ITEMS, "k": EDGES_PER_ITEM},
        )
        edges = cursor.rowcount
        cursor.execute("ANALYZE cmdb_configurationitem")
        cursor.execute("ANALYZE cmdb_relationship")
    return first, edges


def test_impact_on_100k_items_and_500k_relationships():
    tenant = Tenant.objects.create(slug="bench", name="Bench")
    started = time.perf_counter()
    first, edges = _generate(tenant.pk, CIType.objects.get(slug="database").pk)
    generated = time.perf_counter() - started
    numbers = {
        "items": ConfigurationItem.objects.count(),
        "relationships": edges,
        "depth": DEPTH,
        "generate_s": round(generated, 1),
    }
    for direction in ("downstream", "upstream"):
        timings, reached = [], []
        for n in range(STARTS):
            start = first + (n * 3331) % ITEMS
            began = time.perf_counter()
            found = impact(start, direction=direction, depth=DEPTH, tenant_ids=[tenant.pk])
            timings.append((time.perf_counter() - began) * 1000)
            reached.append(len(found))
        numbers[direction] = {
            "p50_ms": round(percentile(timings, 50), 1),
            "p99_ms": round(percentile(timings, 99), 1),
            "max_ms": round(max(timings), 1),
            "mean_reached": round(statistics.mean(reached)),
        }
    write("impact", numbers)


NAMESPACES, PER_NAMESPACE = 100, 15


def _objects(namespace: str) -> list[dict]:
    objects = []
    for n in range(PER_NAMESPACE):
        name, selector = f"app{n}", {"app": f"app{n}"}
        objects.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": selector},
                    "template": {
                        "metadata": {"labels": selector},
                        "spec": {"containers": [{"name": name, "image": f"registry.example/{name}:1"}]},
                    },
                },
            }
        )
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"selector": selector, "ports": [{"port": 80}]},
            }
        )
        if n % 3 == 0:
            objects.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": {
                        "rules": [
                            {
                                "host": f"{name}.{namespace}.example.com",
                                "http": {
                                    "paths": [
                                        {
                                            "path": "/",
                                            "pathType": "Prefix",
                                            "backend": {"service": {"name": name, "port": {"number": 80}}},
                                        }
                                    ]
                                },
                            }
                        ]
                    },
                }
            )
    return objects


def test_discovery_of_5000_objects():
    with SandboxCluster(ready_after=0.05) as sandbox:
        cluster = Cluster.objects.create(name="bench", auth_method="sandbox", api_url=sandbox.url)
        tenants = [Tenant.objects.create(slug=f"bench-{n}", name=f"Bench {n}") for n in range(5)]
        namespaces = []
        for n in range(NAMESPACES):
            tenant = tenants[n % len(tenants)]
            if n % 10 == 9:
                namespaces.append(f"platform-{n}")  # not an environment's: platform-owned
                continue
            environment = Environment.objects.create(
                tenant=tenant, name=f"env{n}", namespace=namespace_for(tenant.slug, f"env{n}")
            )
            Placement.objects.create(environment=environment, cluster=cluster)
            namespaces.append(environment.namespace)
        kube = KubeClient(sandbox.api_client())
        kube.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces])
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda ns: KubeClient(sandbox.api_client()).apply(_objects(ns)), namespaces))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pods = [p for p in kube.list("v1", "Pod")[0] if p["spec"].get("nodeName")]
            if len(pods) >= NAMESPACES * PER_NAMESPACE:
                break
            time.sleep(0.5)
        listed = sum(
            len(kube.list(*kind)[0])
            for kind in (
                ("v1", "Namespace"),
                ("apps/v1", "Deployment"),
                ("v1", "Service"),
                ("networking.k8s.io/v1", "Ingress"),
                ("v1", "Pod"),
            )
        )
        numbers = {"objects": listed}
        for label in ("first_pass", "second_pass"):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                run = discover(cluster)
                elapsed = time.perf_counter() - began
            assert not run.error, run.error
            numbers[label] = {"seconds": round(elapsed, 2), "sql_statements": len(queries), **run.counts}
        write("discovery", numbers)
