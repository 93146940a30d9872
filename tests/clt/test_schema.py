"""The migrations the database lacks: what `clt migrate` applies and says, and what doctor,
/healthz and restore report."""

import pytest

from clt import schema
from clt.cli import _migrate
from tests.unapplied import BEHIND_NAME, one_migration_behind

pytestmark = pytest.mark.django_db


def test_a_migrated_database_has_no_pending_migrations():
    assert schema.pending_migrations() == []


def test_a_migration_the_database_has_not_recorded_is_pending():
    with one_migration_behind():
        assert schema.pending_migrations() == [BEHIND_NAME]


def test_pending_migrations_are_described_by_count_and_the_first_names():
    names = [f"leases.{n:04}_x" for n in range(1, 13)]
    assert schema.describe_pending(names[:1]) == "1 migration is not applied (leases.0001_x)"
    assert schema.describe_pending(names) == (
        "12 migrations are not applied (leases.0001_x, leases.0002_x, leases.0003_x, "
        "leases.0004_x, leases.0005_x and 7 more)"
    )


def test_migrate_names_each_migration_it_applies(capsys):
    with one_migration_behind():
        _migrate()
        assert schema.pending_migrations() == []
    assert capsys.readouterr().err.splitlines() == [
        "clt: migrating the database (1 to apply)",
        f"clt: applied {BEHIND_NAME}",
    ]


def test_migrate_says_when_the_database_is_already_up_to_date(capsys):
    _migrate()
    assert capsys.readouterr().err == "clt: the database is already up to date\n"
