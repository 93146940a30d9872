"""Faults: the database goes away under load, and an import is killed half-way.

The app is gunicorn in a child process (as in production), the database is the project's own
cluster, really stopped and started again. While it is down every request gets a 503 with
Retry-After, never a 500 with a traceback; when it is back the same workers answer again,
without a restart of their own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from clt import localdb
from parcels.models import ImportRun, Parcel
from tests import factories
from tests.dbstate import database_url

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        bool(os.environ.get("DATABASE_URL")),
        reason="restarts the project's own cluster; DATABASE_URL names a server we must not stop",
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, timeout: float = 10) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def healthy(base: str) -> bool:
    try:
        return get(f"{base}/healthz", timeout=2)[0] == 200
    except OSError:
        return False


@pytest.fixture
def gunicorn(request, tmp_path):
    """Start gunicorn on the test database; the test's parameter picks pooled or persistent."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "clt.settings",
        "CLT_DB_POOL": "4" if request.param == "pool" else "",
        "CLT_DB_POOL_TIMEOUT": "2",
    }
    log = tmp_path / "gunicorn.log"  # a file, not a pipe: a full pipe would stall the workers
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "clt.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--threads", "4", "--timeout", "60", "--error-logfile", "-"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(base) or server.poll() is not None, 60, "gunicorn")
        assert server.poll() is None, log.read_text()[-3000:]
        yield base, server, log
    finally:
        server.terminate()
        server.wait(timeout=30)


class Load:
    """Threads that ask for the same pages over and over, counting what comes back."""

    PATHS = ("/ogcapi/collections/trust-land/items?f=json", "/map/search.json?q=Capitol", "/")

    def __init__(self, base: str, threads: int = 6):
        self.base, self.stop = base, threading.Event()
        self.statuses: Counter[int] = Counter()
        self.bodies_500: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, i: int) -> None:
        while not self.stop.is_set():
            path = self.PATHS[i % len(self.PATHS)]
            try:
                status, body, headers = get(self.base + path)
            except OSError:  # a refused connection would be the app dying: count it
                status, body = -1, "connection failed"
            self.statuses[status] += 1
            if status >= 500 and status != 503:
                self.bodies_500.append(body[:2000])
            if status == 503:
                assert headers.get("Retry-After") == "5"
                assert "Traceback" not in body

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


@pytest.mark.stops_database_server
@pytest.mark.parametrize("gunicorn", ["pool", "persistent"], indirect=True)
def test_database_restart_under_load_gives_503s_then_the_same_workers_recover(gunicorn):
    base, server, log = gunicorn
    factories.holding(parcels=[factories.parcel() for _ in range(3)])
    assert get(f"{base}/ogcapi/collections/trust-land/items?f=json")[0] == 200, log.read_text()

    connection.close()  # ours too would break: it reconnects after the restart
    with Load(base) as load:
        time.sleep(1)
        try:
            localdb.stop(log=lambda m: None)
            time.sleep(0.5)
            down_status, down_body, _ = get(f"{base}/ogcapi/collections/trust-land/items?f=json")
            health_status = get(f"{base}/healthz")[0]
            page_status, page_body, _ = get(f"{base}/")
            time.sleep(2)
        finally:
            localdb.start(log=lambda m: None)
        wait_for(lambda: healthy(base), 30, "the app to answer again")
        time.sleep(1)

    assert down_status == 503 and '"status": 503' in down_body
    assert "not answering" in down_body
    assert health_status == 503
    assert page_status == 503 and "<title>Service unavailable</title>" in page_body
    assert server.poll() is None, "gunicorn itself must not have died"
    assert load.bodies_500 == [], load.bodies_500[:1]
    assert set(load.statuses) <= {200, 503}, load.statuses
    assert load.statuses[503] > 0 and load.statuses[200] > 0
    # Recovered: every kind of request answers again from the same workers.
    for path in Load.PATHS:
        assert get(base + path)[0] == 200, path


# --- an import killed half-way ---------------------------------------------------------------


def clt(*args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url()}
    return subprocess.Popen(
        [str(BIN / "clt"), *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen,
    )  # fmt: skip


def parcels_checksum() -> tuple[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), md5(coalesce(string_agg(concat_ws('|', id, apn, ST_AsEWKB(geom),"
            " import_hash, retired_at), ',' ORDER BY id), '')) FROM parcels_parcel"
        )
        return cursor.fetchone()


def test_an_import_killed_half_way_leaves_nothing_and_can_be_rerun(tmp_path):
    county = tmp_path / "county.gpkg"
    made = clt("synth", "--parcels", "60000", "--output", str(county), "--quiet")
    assert made.wait(timeout=120) == 0, made.stderr.read()
    factories.parcel(apn="999-000-000")  # a registry that is not empty
    before = parcels_checksum()

    importing = clt("import-parcels", str(county), "--quiet")
    wait_for(
        lambda: ImportRun.objects.filter(status="running").exists() or importing.poll() is not None,
        120, "the import to start",
    )  # fmt: skip
    time.sleep(1.5)  # well into staging and processing
    assert importing.poll() is None, "the import finished before it could be killed"
    importing.send_signal(signal.SIGKILL)
    importing.wait(timeout=30)

    connection.close()
    assert parcels_checksum() == before
    assert ImportRun.objects.get().status == "running"  # it died without a word

    rerun = clt("import-parcels", str(county), "--quiet")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert "was interrupted before it finished; nothing of it was kept" in err
    killed, succeeded = ImportRun.objects.order_by("pk")
    assert killed.status == "failed" and "interrupted" in killed.message
    assert succeeded.status == "succeeded"
    assert succeeded.features_read == 60000 and succeeded.new > 59000
    assert Parcel.objects.count() == 1 + succeeded.new
