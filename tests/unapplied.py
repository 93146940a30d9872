"""A database one migration behind the code, as after updating the code without `clt migrate`
or restoring an older backup: the migration's row is taken out of django_migrations, which is
all Django reads to know what is applied."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

# A leaf whose operations only change field validators: applying it again (`clt migrate`, in
# the tests) changes no table, so the tables stay what the code expects.
BEHIND = ("maps", "0003_token_dates_in_range")
BEHIND_NAME = "maps.0003_token_dates_in_range"


def forget_migration() -> str:
    """Mark BEHIND as not applied; its name as clt prints it."""
    leaves = MigrationLoader(connection, ignore_no_migrations=True).graph.leaf_nodes()
    assert BEHIND in leaves, f"{BEHIND} is no longer a leaf: pick the latest no-op migration"
    MigrationRecorder(connection).record_unapplied(*BEHIND)
    return BEHIND_NAME


def catch_up() -> None:
    """Mark BEHIND as applied again (its tables never changed)."""
    recorder = MigrationRecorder(connection)
    if BEHIND not in recorder.applied_migrations():
        recorder.record_applied(*BEHIND)


@contextlib.contextmanager
def one_migration_behind() -> Iterator[str]:
    """The database without BEHIND's row, put back after (a test that commits, or runs `clt` in
    another process, would otherwise leave every later test one migration behind)."""
    try:
        yield forget_migration()
    finally:
        catch_up()
