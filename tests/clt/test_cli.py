"""The `clt` command as a user runs it: a real process, a real database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dbstate import database_url

ROOT = Path(__file__).resolve().parents[2]
CLT = [sys.executable, "-m", "clt.cli"]


def run_clt(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLT, *args], capture_output=True, text=True, cwd=ROOT, env=env or os.environ.copy(),
        timeout=120,
    )


def test_help_lists_every_command_with_one_line():
    from clt.cli import main

    result = run_clt("--help")
    assert result.returncode == 0
    for name, command in main.commands.items():
        assert f"  {name} " in result.stdout, f"{name} missing from --help"
        assert command.get_short_help_str(limit=200) in result.stdout


@pytest.mark.django_db
def test_doctor_reports_every_component_and_passes():
    # The test database: migrated, unlike the project's own one on a machine just set up.
    result = run_clt("doctor", env={**os.environ, "DATABASE_URL": database_url()})
    assert result.returncode == 0, result.stdout + result.stderr
    for label in ("Python", "Django", "Settings", "GDAL", "GEOS", "PROJ", "Database", "PostGIS",
                  "Migrations", "Map assets"):  # fmt: skip
        assert f"ok {label}" in result.stdout


def test_doctor_fails_with_the_fix_when_the_database_does_not_answer():
    env = {**os.environ, "DATABASE_URL": "postgis://nobody:secret@127.0.0.1:9/nowhere"}
    result = run_clt("doctor", env=env)
    assert result.returncode == 1
    assert "!! Database" in result.stdout
    assert "Fix:" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.django_db
def test_database_url_route_is_used_instead_of_the_local_cluster():
    from django.db import connection

    from clt import localdb

    result = run_clt("doctor", env={**os.environ, "DATABASE_URL": database_url()})
    assert result.returncode == 0
    name = connection.settings_dict["NAME"]
    assert f"database {name} at 127.0.0.1:{localdb.connection().port}" in result.stdout


def test_db_url_prints_a_url_psql_and_qgis_understand():
    result = run_clt("db", "url")
    assert result.returncode == 0
    assert result.stdout.startswith("postgresql://clt:")


def test_synth_refuses_an_output_that_is_not_a_geopackage(tmp_path):
    result = run_clt("synth", "--parcels", "10", "-o", str(tmp_path / "city.shp"))
    assert result.returncode == 2
    assert "GeoPackage" in result.stderr


@pytest.mark.django_db
def test_unknown_command_suggests_help():
    result = run_clt("frobnicate")
    assert result.returncode == 2
    assert "No such command" in result.stderr


def test_the_development_server_closes_each_requests_database_connection(monkeypatch):
    """runserver's thread per browser connection kept its database connection for
    CONN_MAX_AGE: tiles left dozens idle. `clt serve` and `clt up` close each after use."""
    import threading

    from django.conf import settings
    from django.core import management
    from django.db import connections

    from clt import cli as clt_cli

    monkeypatch.setattr(settings, "WHITENOISE_AUTOREFRESH", False, raising=False)
    served = []
    before = connections.settings["default"]["CONN_MAX_AGE"]
    monkeypatch.setattr(management, "call_command", lambda *a, **k: served.append(a))
    try:
        clt_cli._runserver("127.0.0.1", 8999)
        in_a_thread = []
        thread = threading.Thread(
            target=lambda: in_a_thread.append(connections["default"].settings_dict["CONN_MAX_AGE"])
        )
        thread.start()
        thread.join()
    finally:
        connections.settings["default"]["CONN_MAX_AGE"] = before
    assert served == [("runserver", "127.0.0.1:8999")]
    assert in_a_thread == [0]


def test_the_development_server_serves_a_static_file_edited_after_it_started(
    monkeypatch, tmp_path, settings
):
    """WhiteNoise without autorefresh keeps each file's start-time length: an edited map.js
    was served cut short. `clt serve` turns autorefresh on before the handler is built."""
    from django.core import management
    from django.test import RequestFactory
    from whitenoise.middleware import WhiteNoiseMiddleware

    from clt import cli as clt_cli

    monkeypatch.setattr(management, "call_command", lambda *a, **k: None)
    settings.WHITENOISE_AUTOREFRESH = False  # as configured; put back after the test
    clt_cli._runserver("127.0.0.1", 8998)
    assert settings.WHITENOISE_AUTOREFRESH is True
    static = tmp_path / "static"
    static.mkdir()
    (static / "edited.js").write_text("var a = 1;")
    settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, static]
    middleware = WhiteNoiseMiddleware(lambda request: None)
    (static / "edited.js").write_text("var a = 1; var b = 2;")
    response = middleware(RequestFactory().get("/static/edited.js"))
    assert b"".join(response.streaming_content) == b"var a = 1; var b = 2;"


UNREACHABLE = "postgres://clt:wrong@127.0.0.1:1/nowhere"


@pytest.mark.parametrize(
    "command",
    [["report"], ["holdings"], ["migrate"], ["token", "list"], ["vacant-lots", "--limit", "1"],
     ["resale-price", "--lease", "GL-1", "--sale-date", "2026-01-01"]],
)
def test_a_database_that_cannot_be_reached_is_one_line_with_the_fix(command):
    result = run_clt(*command, env={**os.environ, "DATABASE_URL": UNREACHABLE})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    *_, line = [line for line in result.stderr.splitlines() if line.strip()]  # after progress
    assert result.stderr.count("Error:") == 1
    assert line.startswith("Error: cannot use DATABASE_URL's 127.0.0.1:1/nowhere: ")
    assert "Connection refused" in line and "Fix: check DATABASE_URL" in line


def test_doctor_reports_an_unreachable_database_without_a_traceback():
    result = run_clt("doctor", env={**os.environ, "DATABASE_URL": UNREACHABLE})
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "no database server answers at 127.0.0.1:1" in result.stdout


def test_up_refuses_a_port_in_use_before_starting_anything():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_clt("up", "--port", str(port), "--no-demo",
                         env={**os.environ, "DATABASE_URL": UNREACHABLE})  # fmt: skip
    assert result.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert "migrating" not in result.stderr  # refused before the database was touched


def test_db_status_says_when_database_url_is_the_server_in_use():
    result = run_clt("db", "status", env={**os.environ, "DATABASE_URL": UNREACHABLE})
    assert "DATABASE_URL is set, so clt uses that server" in result.stderr


def test_db_status_knows_a_database_url_naming_the_local_cluster_itself():
    from clt import localdb

    local = localdb.connection()
    url = f"postgres://{local.user}:{local.password}@{local.host}:{local.port}/{local.name}"
    result = run_clt("db", "status", env={**os.environ, "DATABASE_URL": url})
    assert "unused local one" not in result.stderr
