"""/healthz after the database's migrations changed under a running server: a `clt restore` of
an older backup brings back fewer of them, and every page asking for the newer tables is a 500
until `clt migrate`. The check must say so at once, in every worker, and stay cheap: it reads the
migration files again only when the applied migrations changed."""

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from clt import schema
from tests.unapplied import BEHIND_NAME, catch_up, forget_migration

pytestmark = pytest.mark.django_db


@pytest.fixture
def plans_made(monkeypatch) -> list[list[str]]:
    """Each time `pending_migrations` runs (the migration files read and planned), its answer;
    from a process that has not checked yet."""
    made: list[list[str]] = []
    plan = schema.pending_migrations

    def planning() -> list[str]:
        made.append(plan())
        return made[-1]

    monkeypatch.setattr(schema, "pending_migrations", planning)
    monkeypatch.setattr(schema, "_last_answer", None)
    return made


def test_a_server_that_saw_the_database_up_to_date_sees_an_older_backup_restored(client):
    assert client.get("/healthz").status_code == 200
    forget_migration()  # what the restored, older django_migrations lacks

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "migrations pending", "pending": 1, "fix": "clt migrate"}


def test_the_migration_files_are_read_again_only_when_the_applied_migrations_change(
    client, plans_made
):
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert plans_made == [[]]

    forget_migration()
    for _ in range(3):
        assert client.get("/healthz").status_code == 503
    assert plans_made == [[], [BEHIND_NAME]]

    catch_up()
    assert client.get("/healthz").status_code == 200
    assert plans_made == [[], [BEHIND_NAME], []]


def test_the_fingerprint_is_the_set_of_applied_migrations_not_their_order():
    before = schema.applied_migrations_fingerprint()
    forget_migration()
    without = schema.applied_migrations_fingerprint()
    catch_up()  # the same row again, under a new id

    assert without != before
    assert schema.applied_migrations_fingerprint() == before


def test_a_database_never_migrated_has_every_migration_pending(client):
    with connection.cursor() as cursor:  # undone with the test's transaction
        cursor.execute("ALTER TABLE django_migrations RENAME TO django_migrations_aside")
    every = MigrationLoader(None, ignore_no_migrations=True).graph.nodes

    assert schema.applied_migrations_fingerprint() is None
    response = client.get("/healthz")  # the missing table failed its query alone

    assert response.status_code == 503
    assert response.json()["pending"] == len(every)
