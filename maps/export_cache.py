"""Downloads of the public layers kept on disk under their ETag, built one at a time.

A whole-layer download was written again for every request (GDAL for a GeoPackage or a zipped
Shapefile, a COPY for GeoJSON and CSV): 2-4 s and 26-34 MB at 100,000 parcels, about 18 s at a
million. Eight anonymous requests at once held every pooled database connection, and the map's
tiles and pages waited for one until they were answered 503.

So a download is built once per answer and kept, in `CLT_EXPORT_CACHE_DIR`:

- **Keyed by the ETag** (maps.ogcapi.conditional): it changes whenever the data versions, the
  URL, the representation or the code change, so a kept file is never stale, and a write gives
  the next request a new file. The database's name, server and OID go in the key too: the
  versions come from one sequence per database, and two databases (a copy, a test database made
  again) may reach the same numbers with different data.
- **Public layers only.** A staff layer's file holds private fields (arrears, lease status); a
  copy left on disk would outlive the request and end up in backups of the app's folder, and
  staff layers are the trust's own few hundred features, asked for by signed-in staff, not what
  anonymous requests can pile up.
- **Whole files only**: written in a folder of their own, then renamed into place (atomic on
  one file system), so a reader finds the whole file or none.
- **Bounded**: past `CLT_EXPORT_CACHE_MB` or `MAX_FILES`, the least recently served files go
  (a hit touches its file's mtime); the newest stays even if it alone is larger. A file being
  sent is not cut short when it goes: the open handle keeps its data until the response ends.

Building is gated by file locks in the cache folder (`flock`, released by the kernel when a
process dies, even killed), which every worker process of a server shares:

- the same download asked for twice at once is built once: the second waits for the first's
  key lock, then finds the file;
- at most `CLT_EXPORT_MAX_BUILDS` builds run at once on a server; a request that cannot start
  one within `CLT_EXPORT_WAIT_S` gets a 503 with Retry-After (`Busy`).

File locks rather than PostgreSQL advisory locks: a session's advisory lock lives on a database
connection, which would stay checked out of the pool for the whole wait and build, the very
thing that starved the tiles. For the same reason a request gives its pooled connection back
(`give_back_pooled_connection`) before it waits, before ogr2ogr (which opens its own), and before
the file is sent to a client that may read it slowly.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import connection

MAX_FILES = 100
LOCK_STRIPES = 64  # key locks: a fixed set of files, so none is ever deleted under a waiter
ABANDONED_BUILD_S = 3600  # a building folder this old was left by a killed process
POLL_FIRST_S, POLL_MAX_S = 0.02, 0.25
RETRY_AFTER_S = 60


class Busy(Exception):
    """No build of this download could start within CLT_EXPORT_WAIT_S: other downloads are
    being built. The answer is a 503 with Retry-After."""


def folder() -> Path:
    """The cache folder (`CLT_EXPORT_CACHE_DIR`), made if missing."""
    path = Path(settings.CLT_EXPORT_CACHE_DIR)
    (path / "locks").mkdir(parents=True, exist_ok=True)
    return path


def key_for(etag: str) -> str:
    """The cache key of the answer with ETag `etag` from this database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        oid = cursor.fetchone()[0]
    db = connection.settings_dict
    described = [db["NAME"], db.get("HOST") or "", str(db.get("PORT") or ""), oid, etag]
    return hashlib.sha256(json.dumps(described).encode()).hexdigest()


def open_or_build(key: str, suffix: str, write: Callable[[Path], None]) -> BinaryIO:
    """The file kept under `key`, opened; if there is none, `write(path)` makes it first (once,
    however many requests ask at the same time). Raises `Busy` after CLT_EXPORT_WAIT_S."""
    give_back_pooled_connection()
    handle = _kept(key, suffix)
    if handle:
        return handle
    deadline = time.monotonic() + settings.CLT_EXPORT_WAIT_S
    with _holding(_key_locks(key), deadline):
        handle = _kept(key, suffix)  # built by the request this one waited for
        if handle:
            return handle
        with build_slot(deadline):
            handle = _build(key, suffix, write)
    evict()
    return handle


@contextlib.contextmanager
def build_slot(deadline: float) -> Iterator[None]:
    """Hold one of the server's CLT_EXPORT_MAX_BUILDS build slots; `Busy` if none frees up
    before `deadline` (time.monotonic())."""
    slots = [
        folder() / "locks" / f"build-{n}.lock" for n in range(settings.CLT_EXPORT_MAX_BUILDS)
    ]
    with _holding(slots, deadline):
        yield


def evict() -> None:
    """Delete the least recently served files beyond CLT_EXPORT_CACHE_MB or MAX_FILES (the
    newest always stays), and building folders a killed process left."""
    base = folder()
    kept: list[tuple[float, int, Path]] = []
    with os.scandir(base) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):  # another process's eviction
                stat = entry.stat()
                if entry.name.startswith("building-"):
                    if time.time() - stat.st_mtime > ABANDONED_BUILD_S:
                        shutil.rmtree(entry.path, ignore_errors=True)
                elif entry.is_file():
                    kept.append((stat.st_mtime, stat.st_size, Path(entry.path)))
    kept.sort(reverse=True)
    limit_bytes = settings.CLT_EXPORT_CACHE_MB * 1024 * 1024
    total = 0
    for count, (_, size, path) in enumerate(kept, start=1):
        total += size
        if count > 1 and (total > limit_bytes or count > MAX_FILES):
            path.unlink(missing_ok=True)


def give_back_pooled_connection() -> None:
    """Return this request's database connection to the pool (CLT_DB_POOL) while it does
    without one: its next query takes one again. Without a pool, or inside a transaction (a
    test's), the connection stays: only the pool's few connections are shared."""
    pooled = connection.settings_dict.get("OPTIONS", {}).get("pool")
    if pooled and connection.connection is not None and not connection.in_atomic_block:
        connection.close()


def _kept(key: str, suffix: str) -> BinaryIO | None:
    """The kept file, opened and marked as just served; None if there is none."""
    path = folder() / f"{key}.{suffix}"
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    with contextlib.suppress(FileNotFoundError):  # evicted since: the handle still reads it
        os.utime(path)
    return handle


def _build(key: str, suffix: str, write: Callable[[Path], None]) -> BinaryIO:
    """`write` the file in a folder of its own, open it, then rename it into place whole (the
    handle reads it even if another process evicts it the moment after)."""
    base = folder()
    building = Path(tempfile.mkdtemp(prefix="building-", dir=base))
    try:
        part = building / f"download.{suffix}"
        write(part)
        handle = part.open("rb")
        part.replace(base / f"{key}.{suffix}")
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return handle


def _key_locks(key: str) -> list[Path]:
    stripe = int(key[:8], 16) % LOCK_STRIPES
    return [folder() / "locks" / f"key-{stripe}.lock"]


@contextlib.contextmanager
def _holding(paths: list[Path], deadline: float) -> Iterator[None]:
    """Hold an exclusive lock on any one of `paths`, polling until `deadline`; `Busy` after.

    `flock` on a file opened here: each open is its own lock, so two threads of one process
    exclude each other as two processes do, and the kernel lets go when the holder dies.
    """
    pause = POLL_FIRST_S
    while True:
        for path in paths:
            handle = path.open("ab")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield
            finally:
                handle.close()  # releases the lock
            return
        if time.monotonic() + pause > deadline:
            raise Busy
        time.sleep(pause)
        pause = min(pause * 2, POLL_MAX_S)
