"""Single leaders: the lease row in PostgreSQL, and beat and the lifecycle watcher running as two
replicas each, of which one acts and the other takes over when the leader is killed or frozen."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings

from apps.core.leases import Leadership, LeaseLost, acting_for, check, fence, renew, try_acquire
from apps.core.models import Lease
from tests.conftest import BASE_DIR, child_database_url, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

TAKEOVER_BUDGET = 30  # seconds from the leader's death or freeze to a standby leading


def test_one_holder_at_a_time_until_the_lease_runs_out_then_the_old_token_is_fenced_off():
    assert try_acquire("job", "a", 0.5) == 1
    assert try_acquire("job", "b", 0.5) is None, "a live lease is not taken"
    assert try_acquire("job", "a", 0.5) == 1, "the holder keeps its token when it asks again"
    assert renew("job", "a", 1, 0.5)
    check("job", 1)

    time.sleep(0.7)
    with pytest.raises(LeaseLost):
        check("job", 1)  # expired: the holder must not act even before anyone takes over
    assert try_acquire("job", "b", 5) == 2, "a takeover is a new token"
    assert not renew("job", "a", 1, 5), "the old holder cannot renew what is no longer its own"
    with pytest.raises(LeaseLost):
        check("job", 1)
    check("job", 2)
    assert Lease.objects.get(name="job").holder == "b"


def test_when_many_ask_at_once_exactly_one_leads():
    tokens, barrier = [], threading.Barrier(8)

    def ask(holder):
        from django.db import connection

        barrier.wait()
        tokens.append(try_acquire("race", holder, 10))
        connection.close()

    threads = [threading.Thread(target=ask, args=(f"h{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(tokens, key=str) == [1] + [None] * 7


def test_a_leader_that_loses_its_lease_is_fenced_inside_the_actions_it_runs():
    leader, standby = Leadership("fenced", seconds=0.5), Leadership("fenced", seconds=5)
    assert leader.try_lead() and not standby.try_lead()
    with acting_for(leader):
        fence()  # leading: the action may go ahead
    fence()  # outside any leader (a web request, say) there is nothing to check

    leader.stop.set()  # freeze the renewals, as a stopped process would
    wait_for(lambda: standby.try_lead(), timeout=5)
    with acting_for(leader), pytest.raises(LeaseLost):
        fence()
    assert leader.lost.is_set() and not leader.leading
    standby.release()
    assert Leadership("fenced", seconds=5).try_lead(), "a released lease is free at once"


# --- Two replicas as processes -------------------------------------------------------------------


def start(argv: list[str], log_path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": child_database_url(),
        "TEST_REDIS_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
    }
    out = open(log_path, "w")  # noqa: SIM115 - the process writes to it until it ends
    proc = subprocess.Popen([sys.executable, *argv], cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    proc.log = log_path
    return proc


def holder_pid(name: str) -> int | None:
    lease = Lease.objects.filter(name=name).first()
    return int(lease.holder.split(":")[1]) if lease else None


@pytest.fixture
def replicas(tmp_path):
    """Start two replicas of a command; both are killed (and resumed first, if frozen) after the test."""
    procs = []

    def spawn(argv):
        procs.extend(start(argv, tmp_path / f"replica-{i}.log") for i in range(2))
        return procs

    yield spawn
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait(timeout=10)


def leader_of(name: str, procs) -> tuple[subprocess.Popen, subprocess.Popen]:
    pid = wait_for(lambda: holder_pid(name) in {p.pid for p in procs} and holder_pid(name), timeout=60)
    [leader] = [p for p in procs if p.pid == pid]
    [standby] = [p for p in procs if p.pid != pid]
    return leader, standby


def takeover_seconds(name: str, standby, since: float) -> float:
    wait_for(lambda: holder_pid(name) == standby.pid, timeout=TAKEOVER_BUDGET + 5, interval=0.2)
    return time.monotonic() - since


LIFECYCLE = ["manage.py", "lifecycle"]
BEAT = ["-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO"]


@pytest.mark.worker
def test_a_standby_watcher_takes_over_within_30s_of_the_leader_being_killed(replicas):
    leader, standby = leader_of("lifecycle", replicas(LIFECYCLE))
    assert "lifecycle watcher started" not in standby.log.read_text()

    killed = time.monotonic()
    leader.send_signal(signal.SIGKILL)
    assert takeover_seconds("lifecycle", standby, killed) < TAKEOVER_BUDGET
    wait_for(lambda: "lifecycle watcher started" in standby.log.read_text(), timeout=10)


@pytest.mark.worker
def test_a_frozen_watcher_is_replaced_and_when_it_wakes_it_stands_by(replicas):
    leader, standby = leader_of("lifecycle", replicas(LIFECYCLE))

    frozen = time.monotonic()
    leader.send_signal(signal.SIGSTOP)  # alive, connection open, doing nothing: what a lock would wait out
    assert takeover_seconds("lifecycle", standby, frozen) < TAKEOVER_BUDGET
    token = Lease.objects.get(name="lifecycle").token

    leader.send_signal(signal.SIGCONT)
    # Its renewal (every third of the lease) finds the lease gone; on a loaded machine (the whole suite
    # beside browsers) a resumed process can take a while to be scheduled, so the wait is generous.
    wait_for(lambda: "lost the lease; standing by" in leader.log.read_text(), timeout=45)
    time.sleep(2)  # long enough for a confused leader to try to take the lease back
    lease = Lease.objects.get(name="lifecycle")
    assert (lease.token, holder_pid("lifecycle")) == (token, standby.pid)


@pytest.mark.worker
def test_two_beats_send_each_job_once_and_the_standby_sends_when_the_leader_dies(replicas):
    leader, standby = leader_of("beat", replicas(BEAT))
    wait_for(lambda: "Sending due task" in leader.log.read_text(), timeout=30)
    time.sleep(3)
    assert "Sending due task" not in standby.log.read_text(), "the standby sends nothing while the leader lives"

    killed = time.monotonic()
    leader.send_signal(signal.SIGKILL)
    assert takeover_seconds("beat", standby, killed) < TAKEOVER_BUDGET
    wait_for(lambda: "Sending due task" in standby.log.read_text(), timeout=20)
