"""`clt backup` / `clt restore`: the whole registry, history included, round-trips; a file that
is not a backup changes nothing; nothing is overwritten or replaced without being asked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from clt.roles import EDITOR
from clt.schema import pending_migrations
from leases.models import GroundLease, MonitoringEvent, Party
from maps import tokens
from parcels.models import Parcel, ParcelEvent
from tests import factories
from tests.dbstate import database_state, database_url
from tests.unapplied import BEHIND_NAME, catch_up, one_migration_behind

ROOT = Path(__file__).resolve().parents[2]
CLT = Path(sys.executable).with_name("clt")

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def clt(*args: str) -> subprocess.CompletedProcess:
    connection.close()  # hold no lock a restore would wait for
    env = {**os.environ, "DATABASE_URL": database_url()}
    return subprocess.run(
        [str(CLT), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
def registry():
    made = factories.registry()
    editor = factories.user("editor", role=EDITOR, is_staff=True)
    tokens.issue(editor, "QGIS")
    parcel = made["parcel"]
    parcel.owner_of_record = "Fannie Lou Hamer CLT"  # a change: a history event
    parcel.save()
    return made


def test_backup_then_restore_brings_back_every_table_history_included(tmp_path, registry):
    dump = tmp_path / "registry.dump"
    before = database_state()
    assert before["parcels_parcelevent"][0] >= 2  # insert + update

    made = clt("backup", str(dump))
    assert made.returncode == 0, made.stderr
    assert "tables" in made.stderr and dump.stat().st_size > 10_000
    assert not dump.with_name("registry.dump.partial").exists()

    # Then the registry changes a lot: rows edited, added and deleted.
    Parcel.objects.update(owner_of_record="SOMEONE ELSE")
    factories.parcel(apn="999-999-999")
    MonitoringEvent.objects.all().delete()
    GroundLease.objects.update(notes="changed after the backup")
    Party.objects.filter(name="Hamer household").update(email="new@example.org")
    assert database_state() != before

    restored = clt("restore", str(dump), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert "migrate" not in restored.stderr  # a backup as new as the code

    after = database_state()
    assert {t: v for t, v in after.items() if v != before.get(t)} == {}
    assert set(after) == set(before)
    # The history triggers came back with the tables: an edit is recorded again.
    events = ParcelEvent.objects.count()
    Parcel.objects.filter(pk=registry["parcel"].pk).update(owner_of_record="Restored CLT")
    assert ParcelEvent.objects.count() == events + 1


def test_a_backup_older_than_the_code_is_restored_with_the_migrations_to_run(tmp_path, registry):
    dump = tmp_path / "older.dump"
    with one_migration_behind():
        assert clt("backup", str(dump)).returncode == 0
        catch_up()  # the code was updated and migrated since that backup

        restored = clt("restore", str(dump), "--yes")
        assert restored.returncode == 0, restored.stderr
        assert restored.stderr.splitlines()[-1] == (
            f"clt: the backup is older than this code: 1 migration is not applied ({BEHIND_NAME})."
            " Run `clt migrate` before serving the app"
        )
        assert pending_migrations() == [BEHIND_NAME]  # `clt migrate` applies it: test_schema.py


def test_spatial_queries_work_on_the_restored_registry(tmp_path, registry):
    dump = tmp_path / "r.dump"
    assert clt("backup", str(dump)).returncode == 0
    assert clt("restore", str(dump), "--yes").returncode == 0
    parcel = Parcel.objects.get(pk=registry["parcel"].pk)
    assert parcel.area_m2 > 0  # the generated metric columns came back with their data
    assert Parcel.objects.filter(geom__intersects=parcel.geom).count() >= 1


@pytest.mark.parametrize("kind", ["missing", "zero-byte", "truncated", "text", "other-database"])
def test_a_file_that_is_not_a_registry_backup_changes_nothing(tmp_path, registry, kind):
    good = tmp_path / "good.dump"
    assert clt("backup", str(good)).returncode == 0
    bad = tmp_path / f"{kind}.dump"
    if kind == "zero-byte":
        bad.touch()
    elif kind == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "text":
        bad.write_text("CREATE TABLE x (y int);\n")
    elif kind == "other-database":
        other = subprocess.run(
            [str(CLT), "backup", str(bad)], capture_output=True, text=True, cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url().rsplit("/", 1)[0] + "/postgres"},
        )  # fmt: skip
        assert other.returncode == 0, other.stderr
    before = database_state()

    result = clt("restore", str(bad), "--yes")

    assert result.returncode == 1, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("Error: ") and bad.name in message, message
    if kind == "truncated":  # cut inside its table of contents
        assert "damaged or incomplete" in message and "nothing changed" in message
    assert "Traceback" not in result.stderr
    assert database_state() == before


def test_backup_never_overwrites_without_force(tmp_path, registry):
    dump = tmp_path / "r.dump"
    dump.write_text("an older file the user keeps")
    result = clt("backup", str(dump))
    assert result.returncode == 1 and "--force" in result.stderr
    assert dump.read_text() == "an older file the user keeps"
    assert clt("backup", str(dump), "--force").returncode == 0
    assert dump.stat().st_size > 10_000


def test_restore_asks_first_and_a_script_without_yes_changes_nothing(tmp_path, registry):
    dump = tmp_path / "r.dump"
    assert clt("backup", str(dump)).returncode == 0
    factories.parcel(apn="888-888-888")
    before = database_state()
    result = clt("restore", str(dump))
    assert result.returncode == 1 and "pass --yes" in result.stderr
    assert database_state() == before


# --- restoring over a database that moved on after the backup ----------------------------


@pytest.fixture
def own_srid():
    """A trust's own SRID in spatial_ref_sys: PostGIS marks such rows for pg_dump to keep."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
            "VALUES (990001, 'clt-test', 990001, 'LOCAL', '+proj=longlat +datum=WGS84')"
        )
    yield 990001
    with connection.cursor() as cursor:  # spatial_ref_sys is not flushed between tests
        cursor.execute("DELETE FROM spatial_ref_sys WHERE srid = 990001")


def test_restore_over_the_same_database_keeps_the_trusts_own_srids(tmp_path, registry, own_srid):
    dump = tmp_path / "r.dump"
    assert clt("backup", str(dump)).returncode == 0
    before = database_state()

    restored = clt("restore", str(dump), "--yes")

    assert restored.returncode == 0, restored.stderr
    assert database_state() == before  # spatial_ref_sys included: the row is there once


@pytest.fixture
def later_table():
    """As after a newer migration: a table whose foreign key would stop the registry's tables
    being dropped and replaced, and whose geometry column uses PostGIS."""
    yield lambda: connection.cursor().execute(
        "CREATE TABLE later_table (id int PRIMARY KEY, "
        "parcel_id bigint REFERENCES parcels_parcel (id), geom geometry(Point, 4326))"
    )
    connection.cursor().execute("DROP TABLE IF EXISTS later_table")  # or no flush can run


def test_restore_drops_tables_the_backup_does_not_have(tmp_path, registry, later_table):
    dump = tmp_path / "r.dump"
    assert clt("backup", str(dump)).returncode == 0
    before = database_state()
    later_table()

    restored = clt("restore", str(dump), "--yes")

    assert restored.returncode == 0, restored.stderr
    assert database_state() == before


def test_restore_never_winds_a_sequence_back(tmp_path, registry):
    # Ids and the maps' data versions handed out after the backup are never handed out again:
    # a tile cached under a reused data version would be stale (maps/versions.py).
    dump = tmp_path / "r.dump"
    assert clt("backup", str(dump)).returncode == 0
    newer = factories.parcel(apn="777-777-777")  # a new id and a new data version
    versions_before = _last_value("maps_data_version_seq")

    assert clt("restore", str(dump), "--yes").returncode == 0

    assert not Parcel.objects.filter(apn="777-777-777").exists()
    assert factories.parcel(apn="777-777-778").pk > newer.pk
    assert _last_value("maps_data_version_seq") > versions_before


def _last_value(sequence: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value FROM {sequence}")  # a name written in this file
        return cursor.fetchone()[0]


def test_a_file_cut_short_after_its_table_of_contents_is_rolled_back(tmp_path, registry):
    # pg_restore --list accepts it; the data ends early, inside the restore's transaction.
    good = tmp_path / "good.dump"
    assert clt("backup", str(good)).returncode == 0
    cut = tmp_path / "cut.dump"
    cut.write_bytes(good.read_bytes()[:-40])
    factories.parcel(apn="666-666-666")
    before = database_state()

    result = clt("restore", str(cut), "--yes")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert "rolled back" in result.stderr and "Traceback" not in result.stderr
    assert database_state() == before


def test_a_backup_only_its_owner_can_read(tmp_path, registry):
    # It holds households' names, incomes and lease money.
    dump = tmp_path / "r.dump"
    assert clt("backup", str(dump)).returncode == 0
    assert dump.stat().st_mode & 0o777 == 0o600


@pytest.fixture
def owned_database():
    """A database owned by a role that is not a superuser, PostGIS created for it by one: the
    usual set-up of a managed server. Yields its DATABASE_URL."""
    admin = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("needs a superuser to create the role")
    name, role = f"{admin['NAME']}_owned", f"clt_owner_{os.getpid()}"
    server = {k: admin[k.upper()] for k in ("host", "port", "user", "password")}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as db:
        db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")  # names made here, not input
        db.execute(f"CREATE DATABASE {name} OWNER {role}")
    with psycopg.connect(dbname=name, autocommit=True, **server) as db:
        db.execute("CREATE EXTENSION postgis")
    yield f"postgis://{role}:pw@{admin['HOST']}:{admin['PORT']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as db:
        db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        db.execute(f"DROP ROLE IF EXISTS {role}")


def test_a_database_owner_who_is_not_a_superuser_can_restore(tmp_path, registry, owned_database):
    # pg_restore --clean alone fails there: "must be owner of extension postgis", and
    # "permission denied for table spatial_ref_sys".
    dump = tmp_path / "r.dump"
    assert clt("backup", str(dump)).returncode == 0
    env = {**os.environ, "DATABASE_URL": owned_database}
    for _ in range(2):  # into the empty database, then over its own data
        restored = subprocess.run(
            [str(CLT), "restore", str(dump), "--yes"], env=env, cwd=ROOT, capture_output=True,
            text=True, timeout=300,
        )  # fmt: skip
        assert restored.returncode == 0, restored.stderr
    with psycopg.connect(owned_database.replace("postgis://", "postgresql://", 1)) as db:
        parcels = db.execute("SELECT count(*) FROM parcels_parcel").fetchone()[0]
    assert parcels == Parcel.objects.count() == 1


def test_a_backup_of_an_unreachable_database_says_why_on_one_line(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgres://clt:x@127.0.0.1:1/nowhere"}
    result = subprocess.run(
        [str(CLT), "backup", str(tmp_path / "x.dump")], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Connection refused" in line  # the cause, not only libpq's "Is the server running"
    assert not (tmp_path / "x.dump").exists()


def test_a_backup_to_a_folder_that_takes_no_files_says_so_on_one_line(registry):
    # /sys refuses every new file, even root's (the tests may run as root, whom chmod does
    # not stop).
    result = clt("backup", "/sys/x.dump")
    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert line == (
        "Error: cannot write /sys/x.dump: Permission denied; back up to a folder you may write to"
    )
    assert "Traceback" not in result.stderr
    assert not Path("/sys/x.dump.partial").exists()


def test_a_restore_stopped_by_a_busy_database_says_to_stop_the_apps_server():
    from clt.backup import _sql_error

    stderr = "psql:<stdin>:812: ERROR:  canceling statement due to lock timeout\n"
    assert _sql_error(stderr) == (
        "canceling statement due to lock timeout (the database is busy: stop the app's server, "
        "clt serve or gunicorn, and anything else using it)"
    )
