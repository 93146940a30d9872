"""`clt backup` / `clt restore`: the whole registry, history included, round-trips; a file that
is not a backup changes nothing; nothing is overwritten or replaced without being asked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from clt.roles import EDITOR
from leases.models import GroundLease, MonitoringEvent, Party
from maps import tokens
from parcels.models import Parcel, ParcelEvent
from tests import factories
from tests.dbstate import database_state, database_url

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

    after = database_state()
    assert {t: v for t, v in after.items() if v != before.get(t)} == {}
    assert set(after) == set(before)
    # The history triggers came back with the tables: an edit is recorded again.
    events = ParcelEvent.objects.count()
    Parcel.objects.filter(pk=registry["parcel"].pk).update(owner_of_record="Restored CLT")
    assert ParcelEvent.objects.count() == events + 1


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
    if kind == "truncated":  # pg_restore reads the table of contents, then fails on the data
        assert "not a readable clt backup" in message or "rolled back" in message
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
