"""What the workload tests share: the lifecycle watcher, running in this process."""

import threading

import pytest

from apps.workloads.watcher import Watcher


@pytest.fixture
def watcher(cluster):
    """The lifecycle watcher in a thread of this process, started once the test's cluster is registered
    and stopped after the test."""
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(stop=stop).run, daemon=True)
    thread.start()
    yield
    stop.set()
