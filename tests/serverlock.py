"""One PostGIS server, several pytest workers (pytest-xdist): a test that stops the server runs
alone.

Every test holds a shared lock on the server for its whole run (set-up to tear-down); a test
marked `stops_database_server` holds it exclusively, so no other worker is half-way through a
test when the server goes down. A gate lock in front keeps the exclusive one from waiting for
ever behind a stream of shared ones: flock(2) promises no order among waiters, and the workers
release and take the shared lock again between every two tests.

A restart breaks the connections every other worker holds, though none of them was in use: the
exclusive holder bumps a counter, and a worker that sees it changed closes its connections
before its next test, so Django opens new ones.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MARK = "stops_database_server"


class ServerLock:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.gate = folder / "server.gate"
        self.lock = folder / "server.lock"
        self.restarts = folder / "server.restarts"
        self.seen = self._restarts()

    @contextmanager
    def shared(self) -> Iterator[None]:
        with _flock(self.gate, fcntl.LOCK_EX):
            held = _open_locked(self.lock, fcntl.LOCK_SH)
        try:
            if self._restarts() != self.seen:
                self.seen = self._restarts()
                _close_database_connections()
            yield
        finally:
            os.close(held)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with _flock(self.gate, fcntl.LOCK_EX), _flock(self.lock, fcntl.LOCK_EX):
            try:
                yield
            finally:
                self.seen = self._restarts() + 1
                self.restarts.write_text(str(self.seen))
                _close_database_connections()

    def _restarts(self) -> int:
        try:
            return int(self.restarts.read_text() or 0)
        except FileNotFoundError:
            return 0


def _open_locked(path: Path, how: int) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, how)
    return fd


@contextmanager
def _flock(path: Path, how: int) -> Iterator[None]:
    fd = _open_locked(path, how)
    try:
        yield
    finally:
        os.close(fd)


def _close_database_connections() -> None:
    from django.db import connections

    connections.close_all()
