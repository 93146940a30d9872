"""Whether the database's tables are the ones the code expects: the migrations not yet applied.

Code updated without `clt migrate` (or an older backup restored) serves pages that ask for
columns the tables do not have yet: 500s, and before axes' migrations every staff login was one.
`clt doctor`, `/healthz`, `clt restore` and `clt migrate` say so through this one answer.
"""

from __future__ import annotations


def pending_migrations() -> list[str]:
    """The migrations the code has and the database lacks, in the order they would be applied
    (`app.name`, e.g. "leases.0009_index_and_source_history"); empty when it is up to date.

    Reads every migration file and the django_migrations table: ~160 ms the first time in a
    process (importing the files), 10-20 ms after; too slow to run on every health check (see
    `pending_migrations_cached`).
    """
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, backwards in plan
            if not backwards]  # fmt: skip


_up_to_date = False  # this process has seen the database up to date


def pending_migrations_cached() -> list[str]:
    """`pending_migrations`, asked again only until the answer is "none".

    Once the database is up to date it stays so for this process: new migrations come with new
    code, which a restart loads. While some are pending, each call looks again, so a server
    becomes healthy as soon as `clt migrate` has run.
    """
    global _up_to_date
    if _up_to_date:
        return []
    pending = pending_migrations()
    _up_to_date = not pending
    return pending


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
