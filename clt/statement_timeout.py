"""A time limit on each SQL statement a web request runs (`CLT_STATEMENT_TIMEOUT_S`).

Any staff member or planner token could ask the finder a question that kept PostgreSQL busy for
minutes (`near_holdings_m=5000` on 100,000 parcels), and the statement ran on, with its parallel
workers, after the client had given up. gunicorn gives up on a request at 30 s (its worker
timeout), so nothing a request asks has more time than that anyway: the database stops at
`CLT_STATEMENT_TIMEOUT_S` (25 s by default; 0 is no limit) too, and the request is answered 503
"took too long" (`clt.security.took_too_long`) before gunicorn kills the worker with no answer.

Only connections serving a request get the limit: `clt` commands (import-parcels, migrate, backup,
restore) run outside any request and may take many minutes. The limit is set just before a
request's first statement on a connection (an execute wrapper, installed on every connection
while a request is served), so a request that asks the database nothing, such as a tile below a
layer's zoom, still asks it nothing. It is remembered per connection, so a persistent or pooled
connection is set once in its life, not once a request; a limit set inside a transaction (the
tests') is remembered for the request only, as a rollback undoes it.
"""

from __future__ import annotations

import contextvars
import weakref

import psycopg
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import connections

# The connections (psycopg's) given the limit during the request this thread (or task) serves
# now; None when it serves none.
_set_this_request: contextvars.ContextVar[set[int] | None] = contextvars.ContextVar(
    "clt_statement_limit_set", default=None
)
# The limit each open connection was given outside a transaction, in milliseconds.
_limit_set: weakref.WeakKeyDictionary[psycopg.Connection, int] = weakref.WeakKeyDictionary()


def limit_ms() -> int:
    """CLT_STATEMENT_TIMEOUT_S in milliseconds, as PostgreSQL's statement_timeout takes it."""
    return round(settings.CLT_STATEMENT_TIMEOUT_S * 1000)


def _limit(wrapper, done: set[int]) -> None:
    """Give the connection of `wrapper` (open) the request's limit, unless it has it already.
    No limit (0) sets nothing, leaving any the server or its role has."""
    wanted, raw = limit_ms(), wrapper.connection
    if not wanted or id(raw) in done or _limit_set.get(raw) == wanted:
        return
    done.add(id(raw))  # first: the statement below passes through `_limit_first` too
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [str(wanted)])
    if wrapper.get_autocommit() and not wrapper.in_atomic_block:
        _limit_set[raw] = wanted


def _limit_first(execute, sql, params, many, context):
    """An execute wrapper: the limit before a request's first statement on a connection."""
    done = _set_this_request.get()
    if done is not None:
        _limit(context["connection"], done)
    return execute(sql, params, many, context)


def _request_started(**kwargs) -> None:
    _set_this_request.set(set())
    for alias in connections:
        wrappers = connections[alias].execute_wrappers
        if _limit_first not in wrappers:
            wrappers.append(_limit_first)


def _request_finished(**kwargs) -> None:
    _set_this_request.set(None)
    for alias in connections:
        wrappers = connections[alias].execute_wrappers
        if _limit_first in wrappers:
            wrappers.remove(_limit_first)


def install() -> None:
    """Connect the receivers (AppConfig.ready)."""
    request_started.connect(_request_started, dispatch_uid="clt.statement_timeout.started")
    request_finished.connect(_request_finished, dispatch_uid="clt.statement_timeout.finished")


def cancelled(exception: BaseException) -> bool:
    """Whether `exception` is PostgreSQL stopping a statement (its statement_timeout, or an
    administrator's pg_cancel_backend): SQLSTATE 57014, which Django raises as an
    OperationalError, the class of a lost connection."""
    stopped = psycopg.errors.QueryCanceled
    return isinstance(exception, stopped) or isinstance(exception.__cause__, stopped)
