"""`clt backup` / `clt restore` on the documented Docker database: the official postgis/postgis
image also creates postgis_topology, fuzzystrmatch and postgis_tiger_geocoder (schemas topology,
tiger, tiger_data). Those are not the registry: a backup leaves them out, and a restore, of a new
backup or of one that carries them, leaves them alone, in place, onto a fresh Docker database or
onto an empty one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from clt.backup import client_program
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
CLT = Path(sys.executable).with_name("clt")

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# What the image's /docker-entrypoint-initdb.d/10_postgis.sh creates (postgis/docker-postgis,
# initdb-postgis.sh).
DOCKER_EXTENSIONS = ("postgis", "postgis_topology", "fuzzystrmatch", "postgis_tiger_geocoder")
NOT_THE_REGISTRY = ("topology", "tiger", "tiger_data", "postgis_topology", "postgis_tiger_geocoder")


@dataclass(frozen=True)
class Database:
    name: str
    server: dict

    @property
    def url(self) -> str:
        s = self.server
        return f"postgis://{s['user']}:{s['password']}@{s['host']}:{s['port']}/{self.name}"

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(dbname=self.name, autocommit=True, **self.server)


@pytest.fixture
def new_database() -> Iterator:
    """Makes scratch databases next to the test database (`suffix`, a copy of `template`, with
    `extensions`), dropped after the test."""
    test_db = connection.settings_dict
    server = {k: test_db[k.upper()] for k in ("host", "port", "user", "password")}
    made: list[str] = []

    def create(suffix: str, *, template: str = "template0", extensions=()) -> Database:
        database = Database(f"{test_db['NAME']}_{suffix}", server)
        connection.close()  # a template database may have no other session
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as db:
            db.execute(f"CREATE DATABASE {database.name} TEMPLATE {template}")  # names made here
        made.append(database.name)
        with database.connect() as db:
            for extension in extensions:
                db.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
        return database

    yield create
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as db:
        for name in made:
            db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def docker_database(new_database) -> Database:
    """A migrated registry with a few rows, in a database set up as the Docker image sets one up."""
    factories.registry()
    factories.parcel(apn="555-555-555")
    return new_database("docker", template=connection.settings_dict["NAME"],
                        extensions=DOCKER_EXTENSIONS)  # fmt: skip


def clt(database: Database, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database.url}
    return subprocess.run(
        [str(CLT), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def old_backup(database: Database, path: Path) -> None:
    """A backup as clt wrote them before: pg_dump of the whole database, every schema in it."""
    s = database.server
    result = subprocess.run(
        [str(client_program("pg_dump", 15)), "--host", s["host"], "--port", str(s["port"]),
         "--username", s["user"], "--dbname", database.name, "--format=custom", "--file",
         str(path)],
        env={**os.environ, "PGPASSWORD": s["password"]}, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def registry_state(database: Database) -> dict[str, tuple[int, str]]:
    """Every table in the public schema: its row count and an md5 of its rows."""
    with database.connect() as db:
        tables = db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
        return {table: db.execute(
            "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            f' FROM public."{table}" t'  # a name from the catalogue
        ).fetchone() for (table,) in tables}  # fmt: skip


def extensions_state(database: Database) -> dict:
    """The extensions with their versions and schemas, and every row of every table outside
    public (topology's, tiger's): what a restore must leave as it found it."""
    with database.connect() as db:
        extensions = db.execute(
            "SELECT extname, extversion, extnamespace::regnamespace::text FROM pg_extension"
        ).fetchall()
        tables = db.execute(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
            " WHERE schemaname NOT IN ('public', 'pg_catalog', 'information_schema')"
        ).fetchall()
        rows = {table: db.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            f" FROM {table} t"  # a name from the catalogue, quoted by format()
        ).fetchone() for (table,) in tables}  # fmt: skip
    return {"extensions": sorted(extensions), "tables": rows}


def parcel_apns(database: Database) -> list[str]:
    with database.connect() as db:
        return [apn for (apn,) in db.execute("SELECT apn FROM parcels_parcel ORDER BY apn")]


def test_a_backup_of_a_docker_database_holds_the_registry_and_not_the_other_extensions(
    tmp_path, docker_database
):
    dump = tmp_path / "docker.dump"
    made = clt(docker_database, "backup", str(dump))
    assert made.returncode == 0, made.stderr

    toc = subprocess.run(
        [str(client_program("pg_restore", 15)), "--list", str(dump)],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    entries = [line.split(" ", 3)[3] for line in toc if not line.startswith(";")]
    assert [e for e in entries if set(e.split()) & set(NOT_THE_REGISTRY)] == []
    assert sorted(e.split()[2] for e in entries if e.startswith("EXTENSION ")) == [
        "fuzzystrmatch", "pg_trgm", "postgis"  # those in public: the registry uses them
    ]  # fmt: skip
    # pghistory's and the maps' data version triggers and their functions are the registry's.
    assert "FUNCTION public maps_bump_data_version() clt" in entries
    assert sum(e.startswith("TRIGGER public parcels_parcel ") for e in entries) >= 2
    assert "TABLE DATA public spatial_ref_sys clt" in entries  # the trust's own SRIDs


@pytest.mark.parametrize("taken_by", ["clt backup", "the old clt backup"])
def test_a_docker_databases_backup_restores_in_place_leaving_the_extensions_alone(
    tmp_path, docker_database, taken_by
):
    dump = tmp_path / "docker.dump"
    if taken_by == "clt backup":
        assert clt(docker_database, "backup", str(dump)).returncode == 0
    else:
        old_backup(docker_database, dump)
    registry = registry_state(docker_database)
    with docker_database.connect() as db:  # after the backup: the registry changes...
        db.execute("DELETE FROM parcels_parcel WHERE apn = '555-555-555'")
        db.execute("SELECT topology.CreateTopology('trust_topology', 4326)")  # ...and topology
    extensions = extensions_state(docker_database)
    assert "topology.topology" in extensions["tables"]

    restored = clt(docker_database, "restore", str(dump), "--yes")

    assert restored.returncode == 0, restored.stderr
    assert registry_state(docker_database) == registry
    assert "555-555-555" in parcel_apns(docker_database)
    assert extensions_state(docker_database) == extensions  # the new topology included


@pytest.mark.parametrize("taken_by", ["clt backup", "the old clt backup"])
@pytest.mark.parametrize("onto", ["a fresh Docker database", "an empty database"])
def test_a_docker_databases_backup_restores_onto_another_database(
    tmp_path, docker_database, new_database, taken_by, onto
):
    dump = tmp_path / "docker.dump"
    if taken_by == "clt backup":
        assert clt(docker_database, "backup", str(dump)).returncode == 0
    else:
        old_backup(docker_database, dump)
    if onto == "a fresh Docker database":
        target = new_database("fresh", extensions=DOCKER_EXTENSIONS)
    else:
        target = new_database("empty")
    extensions = extensions_state(target)

    restored = clt(target, "restore", str(dump), "--yes")

    assert restored.returncode == 0, restored.stderr
    assert registry_state(target) == registry_state(docker_database)
    assert "555-555-555" in parcel_apns(target)
    after = extensions_state(target)
    if onto == "a fresh Docker database":  # as it was, with the trigram index's extension added
        assert after["tables"] == extensions["tables"]
        assert set(after["extensions"]) >= set(extensions["extensions"])
        added = set(after["extensions"]) - set(extensions["extensions"])
        assert {(name, schema) for name, _, schema in added} == {("pg_trgm", "public")}
    else:  # those the backup had in public (the registry uses them); not topology or tiger
        assert after["tables"] == {}
        assert {(name, schema) for name, _, schema in after["extensions"]} == {
            ("plpgsql", "pg_catalog"), ("postgis", "public"), ("pg_trgm", "public"),
            ("fuzzystrmatch", "public"),
        }  # fmt: skip
