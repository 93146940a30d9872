"""A time limit on each SQL statement a web request runs (`CLT_STATEMENT_TIMEOUT_S`).

Any staff member or planner token could ask the finder a question that kept PostgreSQL busy for
minutes (`near_holdings_m=5000` on 100,000 parcels), and the statement ran on, with its parallel
workers, after the client had given up. gunicorn gives up on a request at 30 s (its worker
timeout), so nothing a request asks has more time than that anyway: the database stops at
`CLT_STATEMENT_TIMEOUT_S` (25 s by default; 0 is no limit) too, and the request is answered 503
"took too long" (`clt.security.took_too_long`) before gunicorn kills the worker with no answer.

Only connections serving a request get the limit: `clt` commands (import-parcels, migrate, backup,
restore) run outside any request and may take many minutes. The limit is set on a connection
when a request first uses it (when the request starts, for a connection already open; when it is
opened, for one opened during the request) and remembered per connection, so a persistent or
pooled connection is set once in its life, not once a request. A limit set inside a transaction
(the tests') is not remembered, as a rollback undoes it.
"""

from __future__ import annotations

import contextvars
import logging
import weakref

import psycopg
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import DatabaseError, connections
from django.db.backends.signals import connection_created

logger = logging.getLogger("clt.statement_timeout")

# Whether this thread (or task) is serving a request now.
_serving = contextvars.ContextVar("clt_serving_request", default=False)
# The limit each open connection was given outside a transaction, in milliseconds.
_limit_set: weakref.WeakKeyDictionary[psycopg.Connection, int] = weakref.WeakKeyDictionary()


def limit_ms() -> int:
    """CLT_STATEMENT_TIMEOUT_S in milliseconds, as PostgreSQL's statement_timeout takes it."""
    return round(settings.CLT_STATEMENT_TIMEOUT_S * 1000)


def _limit(wrapper) -> None:
    """Give the connection of `wrapper` (open) the request's limit, unless it has it already.
    No limit (0) sets nothing, leaving any the server or its role has."""
    wanted = limit_ms()
    if not wanted or _limit_set.get(wrapper.connection) == wanted:
        return
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [str(wanted)])
    if wrapper.get_autocommit() and not wrapper.in_atomic_block:
        _limit_set[wrapper.connection] = wanted


def _request_started(**kwargs) -> None:
    _serving.set(True)
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is None:
            continue  # opened later, if the request needs it: `_connection_opened`
        try:
            _limit(wrapper)
        except DatabaseError as exc:
            # A connection broken since its last request: the request's first query meets the
            # same error and answers 503 (clt.security); a new connection gets the limit.
            logger.info("statement timeout not set on %s: %s", wrapper.alias, exc)


def _request_finished(**kwargs) -> None:
    _serving.set(False)


def _connection_opened(sender, connection, **kwargs) -> None:
    if _serving.get():
        _limit(connection)


def install() -> None:
    """Connect the receivers (AppConfig.ready)."""
    request_started.connect(_request_started, dispatch_uid="clt.statement_timeout.started")
    request_finished.connect(_request_finished, dispatch_uid="clt.statement_timeout.finished")
    connection_created.connect(_connection_opened, dispatch_uid="clt.statement_timeout.opened")


def cancelled(exception: BaseException) -> bool:
    """Whether `exception` is PostgreSQL stopping a statement (its statement_timeout, or an
    administrator's pg_cancel_backend): SQLSTATE 57014, which Django raises as an
    OperationalError, the class of a lost connection."""
    stopped = psycopg.errors.QueryCanceled
    return isinstance(exception, stopped) or isinstance(exception.__cause__, stopped)
