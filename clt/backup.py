"""Backup and restore of the whole registry with pg_dump / pg_restore (custom format).

The registry is the `public` schema, and all of it is in the dump: the parcels and leases,
their history (pghistory's event tables, the triggers that fill them and their functions),
users, tokens, sessions, with the extensions installed in `public` that it uses (PostGIS,
pg_trgm). Other schemas are not: the official postgis/postgis Docker image also creates
postgis_topology and postgis_tiger_geocoder, whose schemas (topology, tiger, tiger_data) belong
to those extensions, and a restore that dropped and recreated them failed. Two choices make it
safe:

* A backup is written to `FILE.partial` (readable by its owner only: it holds households'
  names and incomes) and renamed when pg_dump succeeds, so a failed or killed backup never
  leaves a file that looks complete.
* A restore is one transaction: it replaces the database or, if anything fails, changes
  nothing.

A restore is more than `pg_restore --clean` onto a database that has moved on since the backup:

* **The PostGIS extension stays.** `--clean` would drop and recreate it, which needs a
  superuser and fails as soon as anything outside the dump uses it. The dump's extension
  entries are left out; `CREATE EXTENSION IF NOT EXISTS` (the dump's own statement) runs instead,
  for the extensions in `public`, so an empty database can be restored into too.
* **Only `public` is restored.** Backups written before the dump was limited to `public` carry
  the Docker image's other extensions' schemas and rows: those entries are left out (pg_restore's
  own `--schema=public` selection), and the database's extensions and schemas are left as they
  are, the `public` schema itself included (its owner and grants are the server's set-up).
* **The trust's own SRIDs do not collide.** PostGIS marks the rows a user adds to
  `spatial_ref_sys` for pg_dump, so they are in the dump; with the extension left in place they
  are still in the table too. Those rows (whatever the extension's dump filter selects) are
  deleted first, then copied back from the dump.
* **Tables the backup does not have are dropped** (everything in `public` that no extension
  owns), or a foreign key from, say, a newer migration's table stops `--clean` dropping the
  registry's tables.
* **No sequence goes back.** Ids and the maps' data versions handed out after the backup are
  never handed out again for other rows: `maps/versions.py` caches tiles under data versions
  on the promise that a version is never reused.

That extra SQL must run in the dump's transaction, and pg_restore has no hook for it. So
pg_restore writes the dump as SQL (`--file -`) and psql runs it between a BEGIN and a COMMIT sent
from here, the COMMIT only once pg_restore has read the whole file: a dump cut short ends psql's
input inside the open transaction, which the server then rolls back.
"""

from __future__ import annotations

import contextlib
import functools
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
    from django.db import OperationalError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version_num")
            return int(cursor.fetchone()[0]) // 10000
    except OperationalError as exc:  # the first thing to touch the server: say it is away
        # psycopg's first line is the cause ("... failed: Connection refused"); later lines are
        # libpq's hints ("Is the server running...").
        reason = " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
        raise BackupError(f"cannot connect to database {_database()['NAME']}: {reason}") from exc


def client_program(name: str, server_major: int) -> Path:
    """pg_dump, pg_restore or psql of the server's own version, else the nearest newer one.

    An older pg_dump refuses a newer server; a newer one writes dumps that the pg_restore of
    the server's version (another machine's, the Docker image's) cannot read.
    """
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    for folder in sorted(versions, key=lambda p: int(p.parent.name)):
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
    """Dump the registry to `path` (custom format); return the file's size in bytes."""
    if path.exists() and not force:
        raise BackupError(f"{path} already exists; pass --force to replace it")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a folder")
    major = _server_major()
    pg_dump = client_program("pg_dump", major)
    partial = path.with_name(path.name + ".partial")
    args, env = _connection_args()
    log(f"clt: backing up {_database()['NAME']} with {pg_dump}")
    try:
        _create_private(partial, path)
        result = subprocess.run(
            [str(pg_dump), *args, *_registry_only(pg_dump), "--format=custom",
             "--file", str(partial)],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode != 0:
            fix = f" Fix: apt-get install postgresql-client-{major}"
            hint = fix if "version mismatch" in result.stderr else ""
            raise BackupError(f"pg_dump failed: {_one_line(result.stderr)}.{hint}")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)  # after a failure or Ctrl-C; gone after the rename
    tables = sum(1 for line in listing(path) if " TABLE DATA " in line)
    size = path.stat().st_size
    log(f"clt: wrote {path} ({tables} tables, {size / 1e6:.1f} MB)")
    return size


def _registry_only(pg_dump: Path) -> list[str]:
    """pg_dump's options selecting the registry: the `public` schema and its extensions.

    `--schema` alone would leave out every CREATE EXTENSION, which a restore onto an empty
    database needs (geometry columns, the trigram index). A pg_dump older than 14 has no
    `--extension`: it dumps the whole database, which a restore narrows to `public` all the same.
    """
    version = subprocess.run([str(pg_dump), "--version"], capture_output=True, text=True).stdout
    found = re.search(r"\) (\d+)", version)
    if not found or int(found.group(1)) < 14:
        return []
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extname FROM pg_catalog.pg_extension"
            " WHERE extnamespace = 'public'::regnamespace ORDER BY extname"
        )
        names = [name for (name,) in cursor.fetchall()]
    # A pattern in double quotes is a name, taken as it is.
    quoted = ['"' + name.replace('"', '""') + '"' for name in names]
    return ["--schema=public", *(f"--extension={name}" for name in quoted)]


def _create_private(partial: Path, path: Path) -> None:
    """An empty file only its owner may read, for pg_dump to write into (it keeps the mode).

    `path` is the backup's own name, for the message when the folder takes no new file (a
    read-only disk, /sys): that was a PermissionError traceback.
    """
    try:
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        partial.chmod(0o600)  # a .partial left by a killed run may have another mode
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise BackupError(
            f"cannot write {path}: {reason}; back up to a folder you may write to"
        ) from exc


def listing(path: Path, *selection: str) -> list[str]:
    """The dump's table of contents (`pg_restore --list`), or BackupError if it is not one.

    `selection`: pg_restore's options narrowing it (`--schema=public`).
    """
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    if path.stat().st_size == 0:
        raise BackupError(f"{path} is empty (0 bytes): not a backup")
    pg_restore = client_program("pg_restore", _server_major())
    result = subprocess.run(
        [str(pg_restore), "--list", *selection, str(path)], capture_output=True, text=True
    )
    if result.returncode != 0:
        reason = _one_line(result.stderr)
        if "end of file" in reason:
            raise BackupError(f"{path} is damaged or incomplete ({reason}); nothing changed")
        raise BackupError(f"{path} is not a readable clt backup ({reason}); nothing changed")
    return result.stdout.splitlines()


def restore(path: Path, *, log: Log = lambda m: None) -> None:
    """Replace the database's contents with the backup at `path`, all or nothing."""
    lines = listing(path)
    if not any(" TABLE DATA public parcels_parcel " in line for line in lines):
        raise BackupError(f"{path} is a PostgreSQL dump but not of a clt registry")
    if any(_LARGE_OBJECTS.match(line) for line in lines):
        # Their SQL carries its own COMMIT, which would end the restore's transaction early.
        raise BackupError(f"{path} holds large objects, which clt restore does not handle")
    major = _server_major()
    pg_restore, psql = client_program("pg_restore", major), client_program("psql", major)
    from django.db import connections

    connections.close_all()  # our own connection must not hold a lock the restore waits for
    log(f"clt: restoring {path} into {_database()['NAME']} (one transaction)")
    with tempfile.TemporaryDirectory(prefix="clt-restore-") as scratch:
        render = functools.partial(_render, pg_restore, path, Path(scratch) / "part.list")
        extensions = [line for line in lines if _EXTENSION.match(line)]
        # public's entries only: not the schemas themselves, nor topology's and tiger's objects
        # and rows, which older backups of the Docker image's database carry.
        registry = listing(path, "--schema=public")
        extension_rows = _extension_table_data(registry)
        use_list = Path(scratch) / "restore.list"
        rest = [line for line in registry if line not in set(extension_rows)]
        use_list.write_text("\n".join(rest) + "\n")
        script = [str(pg_restore), "--clean", "--if-exists", "--no-owner", "--exit-on-error",
                  "--use-list", str(use_list), "--file", "-", str(path)]  # fmt: skip

        def copies() -> str:
            """The extension tables' rows, read inside the transaction like all the data."""
            return "".join(sql for sql in (render([e]) for e in extension_rows) if _has_rows(sql))

        try:
            prelude = _create_extensions(render(extensions)) + PRELUDE
            _run_in_one_transaction(psql, prelude, script, copies)
        except _Unreadable as exc:
            raise BackupError(f"{path} is damaged or incomplete ({exc}); {ROLLED_BACK}") from exc
    log("clt: restored; every table is as it was at the backup")
    from parcels.metric import align_metric_columns

    # A backup of a server with another CLT_METRIC_SRID: its outlines in metres follow this one's.
    align_metric_columns(log=log)
    _say_pending_migrations(log)


def _say_pending_migrations(log: Log) -> None:
    """A backup older than the code brings back older tables: say so, or the pages are 500s."""
    from clt.schema import describe_pending, pending_migrations

    pending = pending_migrations()
    if pending:
        log(f"clt: the backup is older than this code: {describe_pending(pending)}. "
            "Run `clt migrate` before serving the app")  # fmt: skip


ROLLED_BACK = "the restore was rolled back, nothing changed"

# Sent after BEGIN, before the dump's SQL: remember the sequences, then clear the way.
PRELUDE = r"""
SET LOCAL lock_timeout = '20s';
SET LOCAL client_min_messages = warning;
CREATE TEMP TABLE clt_sequences_before ON COMMIT DROP AS
    SELECT schemaname, sequencename, last_value
    FROM pg_catalog.pg_sequences WHERE last_value IS NOT NULL;
DO $clt$
DECLARE
    statements text[];
    statement text;
    found boolean;
BEGIN
    -- The rows of extension tables in public that pg_dump keeps (spatial_ref_sys: the trust's
    -- own SRIDs), selected by the extension's own dump filter; the dump's copy of them follows.
    -- Only if there are any: a database owner who is not a superuser may not write to these
    -- tables. Those in other schemas (topology's, tiger's) are not the registry's: left alone.
    SELECT array_agg(format('FROM %s %s', c.oid::regclass, u.condition)) INTO statements
    FROM pg_catalog.pg_extension AS e
    CROSS JOIN LATERAL unnest(e.extconfig, e.extcondition) AS u(config, condition)
    JOIN pg_catalog.pg_class AS c ON c.oid = u.config AND c.relkind = 'r'
    WHERE c.relnamespace = 'public'::regnamespace;
    FOREACH statement IN ARRAY coalesce(statements, '{}') LOOP
        EXECUTE 'SELECT EXISTS (SELECT ' || statement || ')' INTO found;
        IF found THEN EXECUTE 'DELETE ' || statement; END IF;
    END LOOP;

    -- Every table, view and sequence in public that no extension owns. Each list is made before
    -- anything is dropped, as a CASCADE may take later names with it; tables before sequences,
    -- as an identity column's sequence goes with its table.
    SELECT array_agg(format('DROP %s IF EXISTS %I.%I CASCADE',
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                   WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
               n.nspname, c.relname) ORDER BY c.relkind = 'S', c.relname)
    INTO statements
    FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'f', 'm', 'v', 'S')
      AND NOT c.relispartition
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                      WHERE d.classid = 'pg_catalog.pg_class'::regclass
                        AND d.objid = c.oid AND d.deptype = 'e');
    FOREACH statement IN ARRAY coalesce(statements, '{}') LOOP EXECUTE statement; END LOOP;

    -- Functions too (trigger functions, the maps' data version bump), or a migration that
    -- creates one again would find it there.
    SELECT array_agg(format('DROP ROUTINE IF EXISTS %I.%I(%s) CASCADE', n.nspname, p.proname,
               pg_catalog.pg_get_function_identity_arguments(p.oid)))
    INTO statements
    FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                      WHERE d.classid = 'pg_catalog.pg_proc'::regclass
                        AND d.objid = p.oid AND d.deptype = 'e');
    FOREACH statement IN ARRAY coalesce(statements, '{}') LOOP EXECUTE statement; END LOOP;
END
$clt$;
"""

# Sent after the dump's SQL, before COMMIT: no sequence ends up behind where it was.
POSTLUDE = r"""
SELECT pg_catalog.setval(pg_catalog.format('%I.%I', b.schemaname, b.sequencename)::regclass,
                         b.last_value)
FROM pg_temp.clt_sequences_before AS b
JOIN pg_catalog.pg_sequences AS s USING (schemaname, sequencename)
WHERE s.last_value IS NULL OR s.last_value < b.last_value;
"""

_EXTENSION = re.compile(r"^\d+; \d+ \d+ (EXTENSION|COMMENT - EXTENSION) ")
_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) ")
_TABLE_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ")
_LARGE_OBJECTS = re.compile(r"^\d+; \d+ \d+ (BLOBS|BLOB|LARGE OBJECT) ")


def _extension_table_data(lines: list[str]) -> list[str]:
    """The dump's rows of extension tables (spatial_ref_sys): data whose table it does not create.

    They go in separately, and only when there are any, so that a database owner who is not a
    superuser (and may not write to spatial_ref_sys) can restore a registry with no SRIDs of
    its own.
    """
    created = {found.groups() for line in lines if (found := _TABLE.match(line))}
    data = [(line, _TABLE_DATA.match(line)) for line in lines]
    return [line for line, found in data if found and found.groups() not in created]


def _render(pg_restore: Path, path: Path, list_file: Path, entries: list[str]) -> str:
    """Some of the dump's entries as SQL, for psql."""
    list_file.write_text("\n".join(entries) + "\n")
    result = subprocess.run(
        [str(pg_restore), "--use-list", str(list_file), "--file", "-", str(path)],
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise _Unreadable(_one_line(result.stderr))
    return result.stdout


def _create_extensions(sql: str) -> str:
    """The dump's own `CREATE EXTENSION IF NOT EXISTS ... WITH SCHEMA public` statements, alone.

    Those of other schemas (postgis_tiger_geocoder's `WITH SCHEMA tiger`, in older backups of
    the Docker image's database) are not the registry's: on an empty database their schema
    does not exist, and elsewhere they are there already.
    """
    return "".join(
        line + "\n" for line in sql.splitlines()
        if line.startswith("CREATE EXTENSION ") and line.endswith(" WITH SCHEMA public;")
    )  # fmt: skip


def _has_rows(sql: str) -> bool:
    """Whether the COPY in one table's data SQL carries any row."""
    lines = iter(sql.splitlines())
    for line in lines:
        if line.startswith("COPY "):
            return next(lines, "\\.") != "\\."
    return False


class _Unreadable(Exception):
    """pg_restore stopped before the end of the dump (its message)."""


def _run_in_one_transaction(
    psql: Path, prelude: str, script: list[str], epilogue: Callable[[], str]
) -> None:
    """Run prelude, `script`'s output (the dump's SQL), then epilogue, in one psql transaction.

    COMMIT is sent last, only after pg_restore has read the whole dump and psql met no error;
    otherwise psql's input ends inside the transaction, and the server rolls it back.
    """
    args, env = _connection_args()
    with tempfile.TemporaryFile() as psql_err, tempfile.TemporaryFile() as script_err:
        sql = subprocess.Popen(
            [str(psql), *args, "--no-psqlrc", "--quiet", "--no-password",
             "--set", "ON_ERROR_STOP=1", "--file", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_err, env=env,
        )  # fmt: skip
        dump = subprocess.Popen(script, stdout=subprocess.PIPE, stderr=script_err)
        try:
            unreadable = _feed(sql.stdin, prelude, dump, script_err, epilogue)
        finally:
            if dump.poll() is None:
                dump.kill()
            dump.wait()
            with contextlib.suppress(BrokenPipeError):
                sql.stdin.close()
            sql.wait()
        if sql.returncode != 0:  # psql stopped at an error: that is the cause
            raise BackupError(f"restore failed: {_sql_error(_read(psql_err))}; {ROLLED_BACK}")
        if unreadable:
            raise _Unreadable(unreadable)


def _feed(psql_in, prelude: str, dump: subprocess.Popen, dump_err, epilogue) -> str | None:
    """Send everything and COMMIT; or stop early, returning pg_restore's error if it had one."""
    sent = _send(psql_in, f"BEGIN;\n{prelude}".encode())
    while sent and (chunk := dump.stdout.read(1 << 20)):
        sent = _send(psql_in, chunk)
    if not sent:
        return None  # psql stopped at an error, which it has reported
    if dump.wait() != 0:
        return _one_line(_read(dump_err))
    try:
        sent = _send(psql_in, epilogue().encode())
    except _Unreadable as exc:
        return str(exc)
    if sent:
        _send(psql_in, f"{POSTLUDE}COMMIT;\n".encode())
    return None


def _send(stream, data: bytes) -> bool:
    """Write to psql; False once it has stopped (at an error, which it reports itself)."""
    try:
        stream.write(data)
        stream.flush()
    except BrokenPipeError:
        return False
    return True


def _read(stream) -> str:
    stream.seek(0)
    return stream.read().decode(errors="replace")


def _sql_error(stderr: str) -> str:
    """psql's first error and its DETAIL on one line, without the `psql:<stdin>:123:` prefix."""
    found = re.search(r"(?:ERROR|FATAL):\s*(.*)(?:\nDETAIL:\s*(.*))?", stderr)
    message = " — ".join(filter(None, found.groups())) if found else _one_line(stderr)
    if "lock timeout" in message:
        message += (
            " (the database is busy: stop the app's server, clt serve or gunicorn, and anything"
            " else using it)"
        )
    return message


def _one_line(stderr: str) -> str:
    """A client program's messages on one line, without the `pg_dump: error:` prefixes."""
    prefix = re.compile(r"^\w+: (error|detail|hint): ")
    lines = [prefix.sub("", line.strip()) for line in stderr.splitlines()]
    return "; ".join(line for line in lines if line) or "no message"
