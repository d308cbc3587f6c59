"""Benchmark of the `world` fixture: building it through the services against replaying a remembered
build with COPY (tests/personas.py). Prints numbers and never fails on time.

    make bench BENCH=tests/bench/bench_world.py

Results are also written to tests/bench/results/world.json.
"""

import json
import statistics
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests import personas

RESULTS = Path(__file__).parent / "results"
ROUNDS = 20
pytestmark = pytest.mark.django_db


def _measure(make) -> dict:
    """Median and slowest milliseconds of `make()`, each round rolled back, and the queries of one."""
    samples, queries = [], 0
    for _ in range(ROUNDS):
        savepoint = transaction.savepoint()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            world = make()
            samples.append((time.perf_counter() - started) * 1000)
        assert world.acme.environments.count() == 3 and len(world.users) == 8
        queries = len(captured)
        transaction.savepoint_rollback(savepoint)
    return {"median_ms": statistics.median(samples), "max_ms": max(samples), "queries": queries}


def test_world_build_against_replay():
    for _ in range(3):  # learn the tables, meet the state, remember its build
        savepoint = transaction.savepoint()
        personas.world_for_test()
        transaction.savepoint_rollback(savepoint)
    built = _measure(personas.build_world)
    replayed = _measure(personas.world_for_test)
    assert replayed["queries"] < built["queries"]  # the replay was used, not a build
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "world.json").write_text(json.dumps({"built": built, "replayed": replayed}, indent=2))
    print(
        f"\nworld fixture, {ROUNDS} rounds: built {built['median_ms']:.1f} ms median ({built['queries']} queries), "
        f"replayed {replayed['median_ms']:.1f} ms median ({replayed['queries']} queries)"
    )
