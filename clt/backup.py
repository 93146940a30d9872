"""Backup and restore of the whole registry with pg_dump / pg_restore (custom format).

Everything is in the dump: the registry, its history (pghistory's event tables and the
triggers that fill them), users, tokens, sessions. Two choices make it safe:

* A backup is written to `FILE.partial` and renamed when pg_dump succeeds, so a failed or
  killed backup never leaves a file that looks complete.
* A restore is one transaction (`--single-transaction --exit-on-error`): it replaces the
  database or, if anything fails, changes nothing. It leaves the PostGIS extension alone
  (dropping and recreating it needs a superuser and would take every geometry column with
  it): the target database must have PostGIS, which `clt migrate` and the local cluster give.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

Log = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _database() -> dict:
    from django.conf import settings

    return settings.DATABASES["default"]


def _server_major() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def client_program(name: str, server_major: int) -> Path:
    """pg_dump/pg_restore no older than the server (an older one refuses a newer server)."""
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    for folder in sorted(versions, key=lambda p: int(p.parent.name), reverse=True):
        if int(folder.parent.name) >= server_major and (folder / name).exists():
            return folder / name
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    raise BackupError(
        f"{name} for PostgreSQL {server_major} was not found. "
        f"Fix: apt-get install postgresql-client-{server_major} (or ./dev setup)"
    )


def _connection_args() -> tuple[list[str], dict[str, str]]:
    """Command-line connection options, and the environment carrying the password."""
    db = _database()
    args = ["--host", str(db.get("HOST") or "127.0.0.1"), "--port", str(db.get("PORT") or 5432),
            "--username", str(db["USER"]), "--dbname", str(db["NAME"])]  # fmt: skip
    env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or ""), "PGCONNECT_TIMEOUT": "10"}
    return args, env


def backup(path: Path, *, force: bool = False, log: Log = lambda m: None) -> int:
    """Dump the whole database to `path` (custom format); return the file's size in bytes."""
    if path.exists() and not force:
        raise BackupError(f"{path} already exists; pass --force to replace it")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a folder")
    pg_dump = client_program("pg_dump", _server_major())
    partial = path.with_name(path.name + ".partial")
    args, env = _connection_args()
    log(f"clt: backing up {_database()['NAME']} with {pg_dump}")
    result = subprocess.run(
        [str(pg_dump), *args, "--format=custom", "--file", str(partial)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    partial.replace(path)
    tables = sum(1 for line in listing(path) if " TABLE DATA " in line)
    size = path.stat().st_size
    log(f"clt: wrote {path} ({tables} tables, {size / 1e6:.1f} MB)")
    return size


def listing(path: Path) -> list[str]:
    """The dump's table of contents (`pg_restore --list`), or BackupError if it is not one."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    if path.stat().st_size == 0:
        raise BackupError(f"{path} is empty (0 bytes): not a backup")
    pg_restore = client_program("pg_restore", _server_major())
    result = subprocess.run([str(pg_restore), "--list", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        reason = result.stderr.strip().removeprefix("pg_restore: error: ")
        raise BackupError(f"{path} is not a readable clt backup ({reason})")
    return result.stdout.splitlines()


def _without_extensions(lines: list[str]) -> list[str]:
    """The restore list minus CREATE EXTENSION and its comment (see the module docstring)."""
    extension = re.compile(r"^\d+; \d+ \d+ (EXTENSION|COMMENT - EXTENSION) ")
    return [line for line in lines if not extension.match(line)]


def restore(path: Path, *, log: Log = lambda m: None) -> None:
    """Replace the database's contents with the backup at `path`, all or nothing."""
    lines = listing(path)
    if not any(" TABLE DATA public parcels_parcel " in line for line in lines):
        raise BackupError(f"{path} is a PostgreSQL dump but not of a clt registry")
    pg_restore = client_program("pg_restore", _server_major())
    args, env = _connection_args()
    from django.db import connections

    connections.close_all()  # our own connection must not hold a lock pg_restore waits for
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as toc:
        toc.write("\n".join(_without_extensions(lines)) + "\n")
    try:
        log(f"clt: restoring {path} into {_database()['NAME']} (one transaction)")
        result = subprocess.run(
            [str(pg_restore), *args, "--clean", "--if-exists", "--no-owner",
             "--single-transaction", "--exit-on-error", "--use-list", toc.name, str(path)],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        os.unlink(toc.name)
    if result.returncode != 0:
        raise BackupError(
            f"restore failed and was rolled back, nothing changed: {result.stderr.strip()}"
        )
    log("clt: restored; every table is as it was at the backup")
