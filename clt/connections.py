"""Database health checks, skipped for a connection that was working a moment ago.

With CONN_HEALTH_CHECKS, Django tests a persistent connection with `SELECT 1` before the first
query of every request: a round trip per request. For a map tile that takes 1-2 ms to build,
that check was a quarter of the endpoint's own cost (BENCHMARKS.md, map tiles).

A connection that finished a request less than `RECENT_SECONDS` ago is used unchecked, as
HikariCP does (its "alive bypass window", 500 ms by default): it has just answered. Should the
server have gone in that half second, the request's first query fails instead of the check, the
answer is a 503 with Retry-After (clt.security), and Django closes the connection after the
error (`close_if_unusable_or_obsolete`), so the next request opens a new one. Every other
connection is checked as before.

Not for the pool (CLT_DB_POOL): Django hands psycopg_pool its own `check` and allows no other,
so a pooled connection is still checked each time it leaves the pool.
"""

from __future__ import annotations

import time

from django.core.signals import request_finished, request_started
from django.db import connections

RECENT_SECONDS = 0.5


def _recent(when: float | None) -> bool:
    return when is not None and time.monotonic() - when < RECENT_SECONDS


def _skip_check_if_recent(**kwargs) -> None:
    """request_started, after Django's close_old_connections asked for a check: skip it for a
    connection that finished its last request a moment ago."""
    for wrapper in _open_wrappers():
        if _recent(getattr(wrapper, "clt_finished_at", None)):
            wrapper.health_check_done = True


def _note_finished(**kwargs) -> None:
    for wrapper in _open_wrappers():  # those still open after close_old_connections
        wrapper.clt_finished_at = time.monotonic()


def install() -> None:
    """Connect the receivers (AppConfig.ready); after Django's own, which reset the check."""
    request_started.connect(_skip_check_if_recent, dispatch_uid="clt.connections.started")
    request_finished.connect(_note_finished, dispatch_uid="clt.connections.finished")


def _open_wrappers():
    return [w for w in connections.all(initialized_only=True) if w.connection is not None]
