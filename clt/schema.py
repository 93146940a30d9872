"""Whether the database's tables are the ones the code expects: the migrations not yet applied.

Code updated without `clt migrate` (or an older backup restored) serves pages that ask for
columns the tables do not have yet: 500s, and before axes' migrations every staff login was one.
`clt doctor`, `/healthz`, `clt restore` and `clt migrate` say so through this one answer.
"""

from __future__ import annotations

import contextlib


def pending_migrations() -> list[str]:
    """The migrations the code has and the database lacks, in the order they would be applied
    (`app.name`, e.g. "leases.0009_index_and_source_history"); empty when it is up to date.

    Reads every migration file and the django_migrations table: ~160 ms the first time in a
    process (importing the files), 5-20 ms after; too slow to run on every health check (see
    `pending_migrations_cached`).
    """
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, backwards in plan
            if not backwards]  # fmt: skip


def applied_migrations_fingerprint() -> str | None:
    """A digest of the migrations the database records as applied (django_migrations' app and
    name, as a set); None when the table is not there (a database never migrated).

    One query over a table of a few hundred rows, ~0.2 ms: cheap enough for every health check.
    It changes whenever the set does: `clt migrate`, `clt restore` of a backup of another age,
    a migration rolled back; not when the same rows come back under other ids. The names
    themselves, not a row count and highest id, which another set could share (a backup from
    another install), for 0.05 ms more.
    """
    from django.db import connection, transaction
    from django.db.utils import ProgrammingError

    # Requests run in autocommit, where a query that fails (no table) leaves nothing behind; in
    # a caller's transaction it would abort it, so there it gets a savepoint. Not always one: a
    # transaction of its own would be two round trips more, doubling the query's cost.
    alone = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with alone, connection.cursor() as cursor:
            cursor.execute(
                "SELECT md5(coalesce(string_agg(app || '.' || name, ',' ORDER BY app, name), ''))"
                " FROM django_migrations"
            )
            return cursor.fetchone()[0]
    except ProgrammingError:  # no django_migrations: nothing was ever applied here
        return None


# (fingerprint of the applied migrations, the migrations pending then), as this process last saw
_last_answer: tuple[str | None, list[str]] | None = None


def pending_migrations_cached() -> list[str]:
    """`pending_migrations`, asked again only when the applied migrations have changed.

    What is pending depends on the code's migrations, fixed for the life of a process (new ones
    come with new code, which a restart loads), and on the ones the database records, which
    `applied_migrations_fingerprint` identifies for one tiny query. So the answer is kept with
    the fingerprint it was computed for: a `clt migrate` makes a server healthy at its next
    check, and a `clt restore` of an older backup under a running server makes every worker
    report the migrations it lacks (caching "up to date" for the life of the process, as this
    did, answered 200 while every page was a 500).
    """
    global _last_answer
    # Read before the plan: a migrate between the two reads is seen again at the next call.
    fingerprint = applied_migrations_fingerprint()
    last = _last_answer
    if last is not None and last[0] == fingerprint:
        return list(last[1])
    pending = pending_migrations()
    _last_answer = (fingerprint, pending)
    return list(pending)


def has_no_migrations_applied() -> bool:
    """Whether the database is new: no migration recorded (django_migrations may not exist)."""
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    return not MigrationRecorder(connection).applied_migrations()


def describe_pending(pending: list[str], *, shown: int = 5) -> str:
    """ "2 migrations are not applied (leases.0008_x, leases.0009_y)", the first few named."""
    names = ", ".join(pending[:shown])
    if len(pending) > shown:
        names += f" and {len(pending) - shown} more"
    verb = "migration is" if len(pending) == 1 else "migrations are"
    return f"{len(pending)} {verb} not applied ({names})"
