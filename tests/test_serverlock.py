"""The lock that keeps the test which restarts PostGIS apart from the other workers' tests
(tests/serverlock.py). Threads stand in for workers: flock(2) locks belong to an open file, so
two opens in one process contend as two processes do."""

from __future__ import annotations

import threading
import time

import pytest

from tests import serverlock
from tests.serverlock import ServerLock


@pytest.fixture
def closed(monkeypatch) -> list[str]:
    """Each time a lock closes this process's database connections."""
    calls: list[str] = []
    monkeypatch.setattr(serverlock, "_close_database_connections", lambda: calls.append("x"))
    return calls


def hold(lock_context, entered: threading.Event, release: threading.Event) -> threading.Thread:
    def run() -> None:
        with lock_context():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_two_shared_holders_run_together(tmp_path, closed):
    first, second = ServerLock(tmp_path), ServerLock(tmp_path)
    with first.shared():
        entered, release = threading.Event(), threading.Event()
        thread = hold(second.shared, entered, release)
        assert entered.wait(2)
        release.set()
        thread.join(2)


def test_the_restart_waits_for_a_test_under_way_and_later_tests_wait_for_it(tmp_path, closed):
    worker, restarter, late = ServerLock(tmp_path), ServerLock(tmp_path), ServerLock(tmp_path)
    under_way = worker.shared()
    under_way.__enter__()

    restarting, restart_done = threading.Event(), threading.Event()
    restart = hold(restarter.exclusive, restarting, restart_done)
    time.sleep(0.3)
    assert not restarting.is_set(), "the restart began while another test was under way"

    # A test asked for after the restart was: it waits behind the restart, not beside it.
    late_entered, late_done = threading.Event(), threading.Event()
    late_test = hold(late.shared, late_entered, late_done)
    time.sleep(0.3)
    assert not late_entered.is_set()

    under_way.__exit__(None, None, None)
    assert restarting.wait(2), "the restart never began"
    time.sleep(0.3)
    assert not late_entered.is_set(), "a test ran during the restart"
    restart_done.set()
    assert late_entered.wait(2)
    late_done.set()
    for thread in (restart, late_test):
        thread.join(2)


def test_after_a_restart_every_worker_reconnects_once(tmp_path, closed):
    worker, restarter = ServerLock(tmp_path), ServerLock(tmp_path)
    with worker.shared():
        pass
    assert closed == []
    with restarter.exclusive():
        pass
    assert closed == ["x"]  # the restarter's own connections
    with worker.shared():
        pass
    assert closed == ["x", "x"]  # the worker's broken ones, before its next test
    with worker.shared():
        pass
    assert closed == ["x", "x"]
