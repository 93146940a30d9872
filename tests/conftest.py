"""Test-wide set-up: a real PostGIS, never SQLite.

With no DATABASE_URL, the project's own cluster is started before pytest-django creates the test
database (`test_clt`), and stopped at the end if this session started it.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from clt import devserver, localdb
from tests.adminpages import editor, reader  # noqa: F401 (fixtures: staff clients)
from tests.browser import browser  # noqa: F401 (a fixture, for every browser test)
from tests.serverlock import MARK as STOPS_SERVER
from tests.serverlock import ServerLock

_started_here = False
_server_lock: ServerLock | None = None  # only with workers (pytest-xdist): tests/serverlock.py


def pytest_configure(config: pytest.Config) -> None:
    global _started_here
    # The live servers' clients (browsers, GDAL, schemathesis) keep connections alive: without
    # this each request after a connection's first waited 40 ms (clt/devserver.py).
    devserver.answer_without_delay()
    # Every test user's password was hashed with PBKDF2's million rounds (0.4-0.7 s here, for
    # hundreds of users a run). One round, under the same algorithm's name: what the tests check
    # of passwords is unchanged, and a `clt` subprocess still reads these hashes (the rounds are
    # written in each one).
    settings.PASSWORD_HASHERS = ["tests.hashers.OneRoundPBKDF2", *settings.PASSWORD_HASHERS]
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # The controller started the server before it started the workers, and stops it.
        global _server_lock
        _server_lock = ServerLock(localdb.home() / "test-locks")
        return
    if os.environ.get("DATABASE_URL"):
        return
    _started_here = localdb.start(log=lambda m: None)
    localdb.ensure_database()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """With workers, a test that stops the database server runs while no other test does."""
    if _server_lock is None:
        yield
        return
    hold = _server_lock.exclusive if item.get_closest_marker(STOPS_SERVER) else _server_lock.shared
    with hold():
        yield


@pytest.fixture(autouse=True, scope="session")
def _export_cache_of_this_run(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Downloads this run keeps (maps/export_cache.py) go to a folder of its own, not beside
    the developer's in the checkout's .clt/exports."""
    settings.CLT_EXPORT_CACHE_DIR = tmp_path_factory.mktemp("exports")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _started_here and not os.environ.get("CLT_KEEP_DB"):
        localdb.stop(log=lambda m: None)
