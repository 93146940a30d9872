"""Password guessing: after five wrong passwords a user name is locked for the address they came
from, at the admin's login form and for HTTP Basic credentials alike, for fifteen minutes, even
with the right password; a staff admin lifts it at once; access tokens never count
(clt/lockout.py)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db.models import F
from django.test import RequestFactory

from clt import lockout
from clt.roles import READ_ONLY
from maps import tokens
from tests import factories

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
STAFF_ITEMS = "/ogcapi/collections/leases/items"  # a staff layer: read-only role may read it
OFFICE, ELSEWHERE = "198.51.100.7", "203.0.113.9"


@pytest.fixture(autouse=True)
def quick_hashes(settings):
    """Each wrong password is checked in full; with Django's PBKDF2 that is most of a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def edna():
    return factories.user("edna", role=READ_ONLY, is_staff=True)  # password "pw"


def basic(username: str, password: str, address: str = OFFICE) -> dict:
    raw = f"{username}:{password}".encode()
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode(), "REMOTE_ADDR": address}


def read_with(client, username: str, password: str, address: str = OFFICE):
    return client.get(STAFF_ITEMS, **basic(username, password, address))


def log_in(client, password: str, address: str = OFFICE, username: str = "edna"):
    form = {"username": username, "password": password, "next": "/admin/"}
    return client.post("/admin/login/", form, REMOTE_ADDR=address)


def failures_were_made(ago: dt.timedelta) -> None:
    """The failures on record happened `ago` earlier than they did: the clock, moved cheaply."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - ago)


def lock_by_basic(client, username: str = "edna", address: str = OFFICE) -> None:
    for _ in range(5):
        read_with(client, username, "not-the-password", address)


def test_five_wrong_passwords_at_the_login_form_refuse_the_right_one(client, edna):
    for _ in range(4):
        assert log_in(client, "not-the-password").status_code == 200  # the form, with its error
    assert log_in(client, "not-the-password").status_code == 429
    refused = log_in(client, "pw")
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # to the login page


def test_the_locked_login_page_says_why_until_when_and_how_to_lift_it(client, edna):
    for _ in range(5):
        log_in(client, "not-the-password")
    page = log_in(client, "pw")
    assert page.status_code == 429
    assert 840 < int(page["Retry-After"]) <= 900  # fifteen minutes from the fifth
    text = page.content.decode()
    assert "After 5 failed logins, user “edna” is locked for logins from this address" in text
    assert f"({OFFICE}) until " in text
    assert "(in 15 minutes), even with the right password." in text
    assert "<code>clt manage axes_reset_username edna</code>" in text


def test_five_wrong_basic_passwords_are_a_429_with_retry_after_even_for_the_right_one(client, edna):
    for _ in range(4):
        assert read_with(client, "edna", "not-the-password").status_code == 401
    fifth = read_with(client, "edna", "not-the-password")
    assert fifth.status_code == 429
    refused = read_with(client, "edna", "pw")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert 840 < int(refused["Retry-After"]) <= 900
    problem = refused.json()
    assert (problem["status"], problem["title"]) == (429, "Too many failed logins")
    assert problem["detail"].startswith(
        f"after 5 failed logins, user 'edna' is locked for logins from this address ({OFFICE})"
    )
    assert problem["detail"].endswith("clt manage axes_reset_username edna")


def test_the_lock_is_on_the_user_name_and_address_together(client, edna):
    factories.user("rita", role=READ_ONLY, is_staff=True)
    lock_by_basic(client, "edna", OFFICE)
    assert read_with(client, "edna", "pw", ELSEWHERE).status_code == 200  # her, elsewhere
    assert log_in(client, "pw", ELSEWHERE).status_code == 302
    assert read_with(client, "rita", "pw", OFFICE).status_code == 200  # a colleague, same NAT
    assert read_with(client, "edna", "pw", OFFICE).status_code == 429


def test_the_login_form_and_basic_credentials_count_together(client, edna):
    for _ in range(3):
        log_in(client, "not-the-password")
    read_with(client, "edna", "not-the-password")
    read_with(client, "edna", "not-the-password")
    assert log_in(client, "pw").status_code == 429


def test_the_right_password_opens_again_after_the_cool_off(client, edna):
    lock_by_basic(client)
    failures_were_made(ago=dt.timedelta(minutes=14))
    assert read_with(client, "edna", "pw").status_code == 429
    failures_were_made(ago=dt.timedelta(minutes=1, seconds=1))
    assert read_with(client, "edna", "pw").status_code == 200
    assert log_in(client, "pw").status_code == 302


def test_tries_while_locked_are_refused_without_extending_the_lock(client, edna):
    # A GIS client polling tiles with a stale password must not keep its owner out for ever.
    lock_by_basic(client)
    failures_were_made(ago=dt.timedelta(minutes=10))
    for _ in range(3):
        assert read_with(client, "edna", "not-the-password").status_code == 429
    assert log_in(client, "not-the-password").status_code == 429
    failures_were_made(ago=dt.timedelta(minutes=5, seconds=1))
    assert read_with(client, "edna", "pw").status_code == 200


def test_the_reset_command_lifts_the_lock(client, edna):
    lock_by_basic(client)
    call_command("axes_reset_username", "edna")
    assert log_in(client, "pw").status_code == 302
    assert read_with(client, "edna", "pw").status_code == 200


def test_a_token_never_counts_against_the_password_limit(client, edna):
    key = tokens.issue(edna, "QGIS")[1]
    for _ in range(8):
        assert read_with(client, "edna", tokens.PREFIX + "not-a-real-key").status_code == 401
    assert read_with(client, "edna", "pw").status_code == 200
    lock_by_basic(client)
    assert read_with(client, "edna", key).status_code == 200  # the token opens while locked
    assert AccessAttempt.objects.get().failures_since_start == 5


def test_a_user_name_too_long_for_anyone_is_a_401_not_a_500(client, edna):
    assert read_with(client, "e" * 300, "pw").status_code == 401


def test_only_a_superuser_sees_the_lockouts_in_the_admin(client, edna):
    lock_by_basic(client)
    client.force_login(factories.user("rita", role=READ_ONLY, is_staff=True))
    assert client.get("/admin/axes/accessattempt/").status_code == 403
    client.force_login(factories.user("ada", is_staff=True, is_superuser=True))
    listing = client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert [(a.username, a.ip_address) for a in listing.context["cl"].result_list] == [
        ("edna", OFFICE)
    ]


def test_behind_a_proxy_the_address_is_the_last_one_forwarded():
    make = RequestFactory().get
    spoofed = make("/", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {ELSEWHERE}", REMOTE_ADDR="10.0.0.2")
    assert lockout.client_ip_behind_proxy(spoofed) == ELSEWHERE
    assert lockout.client_ip_behind_proxy(make("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"
    junk = make("/", HTTP_X_FORWARDED_FOR="unknown", REMOTE_ADDR="10.0.0.2")
    assert lockout.client_ip_behind_proxy(junk) == "10.0.0.2"


def test_the_limit_and_cool_off_come_from_the_environment_and_production_reads_the_proxy():
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps([settings.AXES_FAILURE_LIMIT, "
        "settings.AXES_COOLOFF_TIME.total_seconds(), settings.AXES_CLIENT_IP_CALLABLE]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLT_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="clt.production", CLT_SECRET_KEY="k" * 60, CLT_BEHIND_PROXY="1",
        CLT_LOGIN_FAILURE_LIMIT="8", CLT_LOGIN_COOLOFF_MINUTES="60",
        DATABASE_URL="postgis://clt:secret@db.example.org:5432/clt",  # read, never connected to
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == [8, 3600.0, "clt.lockout.client_ip_behind_proxy"]


@pytest.mark.parametrize(
    ("document", "path", "url"),
    [("/ogcapi/api?f=json", "/collections/leases/items", STAFF_ITEMS),
     ("/api/openapi.json", "/api/vacant-lots", "/api/vacant-lots")],
)  # fmt: skip
def test_the_api_descriptions_list_the_429_a_locked_out_client_gets(
    client, edna, document, path, url
):
    # /req/oas30/completeness: the answer to Basic credentials locked out is documented, with
    # its Retry-After, wherever a 401 for credentials is.
    lock_by_basic(client)
    assert client.get(url, **basic("edna", "pw")).status_code == 429
    client.force_login(edna)
    described = client.get(document).json()
    response = described["paths"][path]["get"]["responses"]["429"]
    if "$ref" in response:
        response = described["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    assert "Retry-After" in response["headers"]
    assert "application/problem+json" in response["content"]
