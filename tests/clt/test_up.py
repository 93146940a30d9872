"""README command 1, minus the system packages: `clt up` migrates, loads the demo and serves it."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = json.loads((ROOT / "fixtures" / "west_jackson" / "expected.json").read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout_s: float = 90) -> bytes:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_up_migrates_loads_the_demo_and_serves_it():
    db = connection.settings_dict  # the test database: `clt up` must fill and serve it
    url = f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "clt.cli", "up", "--port", str(port)],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        health = json.loads(wait_for(f"http://127.0.0.1:{port}/healthz"))
        home = wait_for(f"http://127.0.0.1:{port}/").decode()
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert health["status"] == "ok"
    assert f"<strong>{EXPECTED['parcel_count']}</strong> county parcels on the map" in home
    assert f"<strong>{EXPECTED['holding_count']}</strong> holdings" in home
    assert "the database is already up to date" in output  # pytest-django migrated it
    assert "loaded the demo neighbourhood" in output


def test_dev_finds_the_system_libraries_on_a_users_path_without_sbin():
    """A Debian user's PATH has no /sbin, where ldconfig is: `./dev` must still see GDAL and
    GEOS installed (it reported them missing and stopped, for every user with sudo)."""
    script = (
        'source <(sed -n "/^LDCONFIG=/p;/^missing_system_packages()/,/^}/p" dev); '
        "missing_system_packages"
    )
    result = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True,
        env={"HOME": os.environ.get("HOME", "/root"), "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", result.stdout  # nothing missing: .ci/run installed them
