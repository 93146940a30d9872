"""Deployment settings: `check --deploy` is clean in production, secrets and hosts come from the
environment, DEBUG is off unless asked, and every HTML page carries a Content Security Policy."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests import factories
from tests.dbstate import database_url

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "clt.production",
    "CLT_SECRET_KEY": secrets.token_urlsafe(50),
    "CLT_ALLOWED_HOSTS": "clt.example.org",
    # Reading the settings connects to nothing; a test that serves a request names its own.
    "DATABASE_URL": "postgis://clt:secret@db.example.org:5432/clt",
}
SHOWN = [
    "DEBUG", "ALLOWED_HOSTS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "X_FRAME_OPTIONS", "SECURE_CONTENT_TYPE_NOSNIFF", "CLT_PRODUCTION",
]  # fmt: skip


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLT_", "DJANGO_"))}
    env["DJANGO_SETTINGS_MODULE"] = "clt.settings"
    env.update(overrides)
    return env


def settings_in(**overrides: str) -> dict:
    """The settings a fresh process sees with this environment."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{k: getattr(settings, k) for k in {SHOWN!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=_env(**overrides), cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def refusal_in(**overrides: str) -> str:
    """The last line a fresh process prints when these settings refuse to load."""
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=_env(**overrides), cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0, "the settings loaded"
    return result.stderr.strip().splitlines()[-1]


def test_check_deploy_is_clean_in_the_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_env(**PRODUCTION), cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "CLT_SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=_env(**env), cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "CLT_SECRET_KEY must be set" in result.stderr
    assert "secrets.token_urlsafe" in result.stderr  # says how to make one


def test_production_refuses_debug_saying_why():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=_env(**PRODUCTION, CLT_DEBUG="1"), cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "CLT_DEBUG=1 is refused in production" in result.stderr


def test_production_refuses_to_start_without_a_database_url(tmp_path):
    env = _env(**PRODUCTION, CLT_HOME=str(tmp_path / "home"))
    del env["DATABASE_URL"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "DATABASE_URL must be set in production" in result.stderr
    assert "e.g. DATABASE_URL=postgis://" in result.stderr  # says what one looks like
    # Refused before the development settings touch the project's own cluster.
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize(
    ("variable", "value", "refusal"),
    [
        ("CLT_DB_POOL", "abc",
         "CLT_DB_POOL must be a whole number (got 'abc'): e.g. CLT_DB_POOL=4"),
        ("CLT_DB_POOL", "-2", "CLT_DB_POOL must be a whole number (got '-2'): e.g. CLT_DB_POOL=4"),
        ("CLT_DB_POOL_TIMEOUT", "x",
         "CLT_DB_POOL_TIMEOUT must be a number of 0 or more (got 'x'): e.g. CLT_DB_POOL_TIMEOUT=3"),
        ("CLT_HSTS_SECONDS", "1y",
         "CLT_HSTS_SECONDS must be a whole number (got '1y'): e.g. CLT_HSTS_SECONDS=31536000"),
        ("CLT_LOGIN_FAILURE_LIMIT", "five",
         "CLT_LOGIN_FAILURE_LIMIT must be a whole number of 1 or more (got 'five'): "
         "e.g. CLT_LOGIN_FAILURE_LIMIT=5"),
        ("CLT_LOGIN_FAILURE_LIMIT", "0",  # every staff member locked out at the first typo
         "CLT_LOGIN_FAILURE_LIMIT must be a whole number of 1 or more (got '0'): "
         "e.g. CLT_LOGIN_FAILURE_LIMIT=5"),
        ("CLT_LOGIN_COOLOFF_MINUTES", "1.5",
         "CLT_LOGIN_COOLOFF_MINUTES must be a whole number of 1 or more (got '1.5'): "
         "e.g. CLT_LOGIN_COOLOFF_MINUTES=15"),
    ],
)  # fmt: skip
def test_a_number_setting_that_is_not_one_is_refused_naming_the_variable(variable, value, refusal):
    last_line = refusal_in(**PRODUCTION, **{variable: value})
    assert last_line == f"django.core.exceptions.ImproperlyConfigured: {refusal}"


def test_a_clt_command_refused_by_the_settings_says_why_in_one_line():
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "clt"), "token", "list"],
        env=_env(CLT_DB_POOL="abc", DATABASE_URL=PRODUCTION["DATABASE_URL"]), cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (
        "Error: CLT_DB_POOL must be a whole number (got 'abc'): e.g. CLT_DB_POOL=4\n"
    )


def test_a_static_root_that_cannot_be_made_does_not_stop_the_settings_loading(tmp_path):
    (tmp_path / "a-file").write_text("")
    unmakeable = tmp_path / "a-file" / "static"  # under a file: no one can make it, not even root
    # These settings are every `clt` command's first step (doctor, backup, token list...).
    assert settings_in(CLT_STATIC_ROOT=str(unmakeable))["DEBUG"] is False


@pytest.mark.django_db
def test_production_redirects_to_https_but_not_the_health_check(tmp_path):
    # What collectstatic leaves, as far as /healthz looks (a name for every file of the code):
    # without it, or lacking one, it is a 503.
    from clt.staticfiles import files_of_the_code

    paths = {name: name for name in files_of_the_code()}
    (tmp_path / "staticfiles.json").write_text(json.dumps({"version": "1.1", "paths": paths}))
    code = (
        "import json, django; django.setup(); from django.test import Client; "
        "client = Client(headers={'host': 'clt.example.org'}); "
        "answers = {p: client.get(p) for p in ['/healthz', '/']}; "
        "print(json.dumps({p: [r.status_code, r.get('Location')] for p, r in answers.items()}))"
    )
    served = {"DATABASE_URL": database_url(), "CLT_STATIC_ROOT": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=_env(**{**PRODUCTION, **served}),
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == {
        "/healthz": [200, None],  # docker-compose.yml's health check, over plain HTTP
        "/": [301, "https://clt.example.org/"],
    }


@pytest.mark.django_db
def test_a_request_for_a_host_not_allowed_is_one_warning_line(client, caplog):
    with caplog.at_level(logging.WARNING):
        response = client.get("/", headers={"host": "scanner.example.net"})
    assert response.status_code == 400
    [record] = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert record.levelname == "WARNING"
    assert logging.Formatter().format(record) == (  # one line, no traceback under it
        "Invalid HTTP_HOST header: 'scanner.example.net'. You may need to add "
        "'scanner.example.net' to ALLOWED_HOSTS."
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_debug_in_development_keeps_the_cookies_out_of_scripts_and_frames():
    shown = settings_in(CLT_DEBUG="1")
    assert shown["DEBUG"] is True
    assert shown["X_FRAME_OPTIONS"] == "DENY" and shown["SECURE_CONTENT_TYPE_NOSNIFF"]


def test_production_cookies_are_https_only_and_hosts_come_from_the_environment():
    shown = settings_in(**PRODUCTION)
    assert shown["DEBUG"] is False
    assert shown["ALLOWED_HOSTS"] == ["clt.example.org"]
    assert shown["SESSION_COOKIE_SECURE"] and shown["CSRF_COOKIE_SECURE"]
    assert shown["SECURE_SSL_REDIRECT"] and shown["SECURE_HSTS_SECONDS"] >= 31536000
    assert shown["CLT_PRODUCTION"] is True  # `clt load-demo` refuses (tests/clt/test_load_demo.py)
    assert settings_in()["CLT_PRODUCTION"] is False


def test_debug_is_off_unless_asked():
    assert settings_in()["DEBUG"] is False
    assert settings_in(CLT_DEBUG="0")["DEBUG"] is False
    assert settings_in(CLT_DEBUG="1")["DEBUG"] is True


def test_pages_are_never_framed_and_never_sniffed():
    shown = settings_in()
    assert shown["X_FRAME_OPTIONS"] == "DENY" and shown["SECURE_CONTENT_TYPE_NOSNIFF"]


# --- the Content Security Policy on every page ---------------------------------------------

PAGES = ["/", "/admin/login/", "/ogcapi/?f=html", "/ogcapi/collections?f=html", "/map/"]
STAFF_PAGES = [
    "/finder/", "/staff/report/", "/admin/", "/admin/parcels/parcel/", "/admin/parcels/parcel/add/",
    "/admin/leases/groundlease/", "/map/staff/",
]  # fmt: skip


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def assert_strict_policy(response) -> None:
    csp = policy(response)
    nonce = re.search(r"'nonce-([^']+)'", csp["script-src"]).group(1)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == f"'self' 'nonce-{nonce}'"
    assert csp["style-src"] == f"'self' 'nonce-{nonce}'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    html = response.content.decode()
    # Every inline script or style element carries this response's nonce; no style attributes.
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
        if "src=" in tag or 'type="application/json"' in tag:
            continue
        assert f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"<[a-z][^>]*\sstyle=", html), "inline style attribute"


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_public_page_has_a_strict_policy(client, path):
    factories.holding(parcels=[factories.parcel()])
    response = client.get(path)
    assert response.status_code == 200
    assert_strict_policy(response)


@pytest.mark.django_db
@pytest.mark.parametrize("path", STAFF_PAGES)
def test_every_staff_page_has_a_strict_policy(client, path):
    factories.holding(parcels=[factories.parcel()])
    client.force_login(factories.user(is_staff=True, is_superuser=True))
    response = client.get(path)
    assert response.status_code == 200
    assert_strict_policy(response)


@pytest.mark.django_db
def test_each_response_gets_its_own_nonce(client):
    assert policy(client.get("/"))["script-src"] != policy(client.get("/"))["script-src"]


@pytest.mark.django_db
def test_json_has_no_page_policy(client):
    assert "Content-Security-Policy" not in client.get("/ogcapi/?f=json")
