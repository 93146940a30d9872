"""`clt doctor` names the real problem: settings it cannot load, a database that refuses, is
missing or is not there, migrations not applied, the map's libraries missing; each with its fix
and a non-zero exit, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from clt.doctor import run_checks
from maps import assets
from tests.unapplied import BEHIND_NAME, one_migration_behind

ROOT = Path(__file__).resolve().parents[2]


def doctor(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clt.cli", "doctor"], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, **env}, timeout=120,
    )  # fmt: skip


def line(output: str, label: str) -> str:
    """The one line of doctor's output about `label` ("  !! Database  ...")."""
    (found,) = [text for text in output.splitlines() if text[5:].startswith(f"{label} ")]
    return found


def run_in_process() -> tuple[bool, str]:
    lines: list[str] = []
    ok = run_checks(lines.append, start_local_db=False)
    return ok, "\n".join(lines)


@pytest.mark.django_db
def test_doctor_fails_naming_the_migrations_the_database_lacks():
    with one_migration_behind():
        ok, output = run_in_process()
    assert not ok
    assert line(output, "Migrations") == (
        f"  !! Migrations 1 migration is not applied ({BEHIND_NAME}): the code expects tables the "
        "database does not have yet, and its pages fail. Fix: clt migrate"
    )


@pytest.mark.django_db
def test_doctor_fails_when_the_maps_libraries_are_not_installed(monkeypatch, tmp_path):
    monkeypatch.setattr(assets, "VENDOR_DIR", tmp_path / "vendor")  # as if never installed
    monkeypatch.setattr(assets, "STAMP", tmp_path / "vendor" / ".installed")
    ok, output = run_in_process()
    assert not ok
    assert line(output, "Map assets").startswith("  !! Map assets the map's libraries (Leaflet")
    assert line(output, "Map assets").endswith("the public map is blank. Fix: clt map-assets")
    assert line(output, "Migrations") == "  ok Migrations all applied"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": "postgis//clt:x@127.0.0.1:54495/clt_to"},
         "  !! Settings   DATABASE_URL cannot be read (Scheme '://' is unknown). "
         "Fix: write it as postgis://USER:PASSWORD@HOST:PORT/NAME"),
        ({"CLT_DB_POOL": "four"}, "  !! Settings   clt.settings: CLT_DB_POOL "),
        ({"DJANGO_SETTINGS_MODULE": "clt.production", "DATABASE_URL": "postgis://a:b@h/n",
          "CLT_SECRET_KEY": ""},
         "  !! Settings   clt.production: CLT_SECRET_KEY must be set"),
    ],
    ids=["database-url-typo", "pool-not-a-number", "production-without-secret-key"],
)  # fmt: skip
def test_a_settings_error_is_reported_alone_not_as_missing_libraries(env, expected):
    result = doctor(**env)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1].startswith(expected), result.stdout
    assert "Settings" in result.stdout.splitlines()[-1]  # and nothing is checked after it
    assert "GDAL" not in result.stdout and "Database" not in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"password": "wrong"}, "refused user {user}: password authentication failed for user "
         '"{user}". Fix: correct the user name and password in DATABASE_URL'),
        ({"name": "clt_no_such_database"}, "has no database clt_no_such_database. Fix: create it "
         "(createdb -O {user} clt_no_such_database, then CREATE EXTENSION postgis in it) or "
         "correct the name in DATABASE_URL"),
        ({"port": "1"}, "no database server answers at {host}:1 (Connection refused). Fix: check "
         "the host and port in DATABASE_URL and that the server runs there"),
    ],
    ids=["wrong-password", "unknown-database", "no-server"],
)  # fmt: skip
def test_a_database_that_cannot_be_used_is_told_apart_by_its_reason(change, expected):
    db = connection.settings_dict
    parts = {"user": db["USER"], "password": db["PASSWORD"], "host": db["HOST"],
             "port": db["PORT"], "name": db["NAME"], **change}  # fmt: skip
    url = "postgis://{user}:{password}@{host}:{port}/{name}".format(**parts)
    result = doctor(DATABASE_URL=url)
    assert result.returncode == 1
    assert line(result.stdout, "Database").endswith(expected.format(**parts)), result.stdout
    assert line(result.stdout, "PostGIS") == "  !! PostGIS    not checked: Database failed"
    assert "Traceback" not in result.stdout + result.stderr


DOWNLOADS_FIX = (
    "so every download of a public layer (/export/...) fails. Fix: set CLT_EXPORT_CACHE_DIR to a "
    "folder the server's user can write, or make it one"
)


@pytest.mark.django_db
def test_doctor_fails_when_a_file_stands_where_the_downloads_folder_would_be(settings, tmp_path):
    (tmp_path / "notadir").write_text("")
    settings.CLT_EXPORT_CACHE_DIR = tmp_path / "notadir" / "exports"
    ok, output = run_in_process()
    assert not ok
    assert line(output, "Downloads") == (
        f"  !! Downloads  the downloads' folder {tmp_path}/notadir/exports cannot be made: "
        f"{tmp_path}/notadir is a file, not a folder, {DOWNLOADS_FIX}"
    )


@pytest.mark.django_db
@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any folder")
def test_doctor_fails_when_the_downloads_folder_cannot_be_written(settings, tmp_path):
    (tmp_path / "exports").mkdir(mode=0o500)
    settings.CLT_EXPORT_CACHE_DIR = tmp_path / "exports"
    ok, output = run_in_process()
    assert not ok
    assert line(output, "Downloads") == (
        f"  !! Downloads  the downloads' folder {tmp_path}/exports cannot be written "
        f"(Permission denied), {DOWNLOADS_FIX}"
    )


@pytest.mark.django_db
def test_doctor_passes_a_downloads_folder_it_can_make_and_leaves_nothing_behind(settings, tmp_path):
    settings.CLT_EXPORT_CACHE_DIR = tmp_path / "exports" / "cache"
    _, output = run_in_process()
    assert line(output, "Downloads") == (
        f"  ok Downloads  {tmp_path}/exports/cache (made at the first download)"
    )
    assert list(tmp_path.iterdir()) == []  # made by the server's user, not by doctor's

    settings.CLT_EXPORT_CACHE_DIR = tmp_path
    _, output = run_in_process()
    assert line(output, "Downloads") == f"  ok Downloads  {tmp_path}"
    assert list(tmp_path.iterdir()) == []  # the file written to try it is gone
