"""Planners' access tokens: read the staff layers from a GIS client, revocable, read-only."""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess

import pytest
from click.testing import CliRunner
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import connection
from django.db.models import F
from django.utils import timezone

from clt.cli import main
from maps import tokens
from maps.models import AccessToken
from tests import factories
from tests.maps import factories_ogc as f
from tests.maps.factories_map import tile_of

pytestmark = pytest.mark.django_db

STAFF_ITEMS = "/ogcapi/collections/leases/items"


@pytest.fixture
def street():
    return f.street()


@pytest.fixture
def planner():
    return factories.user("planner", role="read-only", is_staff=True)


@pytest.fixture
def key(planner):
    return tokens.issue(planner, "QGIS, planning laptop")[1]


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_a_bearer_token_reads_the_staff_layer_with_its_private_fields(client, street, key):
    response = client.get(STAFF_ITEMS, **bearer(key))
    assert response.status_code == 200
    assert "arrears" in response.content.decode()
    assert "Set-Cookie" not in response.headers  # a token is not a session


def test_the_token_may_be_basic_auths_password_for_clients_that_know_only_basic(
    client, street, key
):
    basic = base64.b64encode(f"anyone:{key}".encode()).decode()
    response = client.get(STAFF_ITEMS, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/export/leases.geojson", "/export/leases.csv", "/api/vacant-lots",
     "/ogcapi/collections/leases", "tile"],
)  # fmt: skip
def test_a_token_opens_every_staff_data_endpoint(client, street, key, path):
    if path == "tile":
        path = "/tiles/leases/{}/{}/{}.pbf".format(*tile_of(street.leased[0], 16))
    assert client.get(path).status_code in (401, 403, 404)
    response = client.get(path, **bearer(key))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200 and len(body) > 50
    if path.startswith("/tiles/"):
        assert "Authorization" in response["Vary"]  # no shared cache hands it to the next asker


def test_only_a_hash_of_the_token_is_stored(key):
    with connection.cursor() as cursor:
        cursor.execute("SELECT t::text FROM maps_accesstoken t")
        stored = cursor.fetchone()[0]
    assert key not in stored and key[10:30] not in stored
    assert key.startswith("clt_") and len(key) > 40


def test_a_revoked_token_is_refused_at_once_and_says_so(client, street, key):
    assert client.get(STAFF_ITEMS, **bearer(key)).status_code == 200
    tokens.revoke(AccessToken.objects.get())
    response = client.get(STAFF_ITEMS, **bearer(key))
    assert response.status_code == 401
    assert "revoked on" in response.json()["detail"]
    assert "arrears" not in response.content.decode()
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_refused(client, street, planner):
    key = tokens.issue(planner, "old", expires_at=timezone.now() - dt.timedelta(days=1))[1]
    response = client.get(STAFF_ITEMS, **bearer(key))
    assert response.status_code == 401 and "last day was" in response.json()["detail"]


def test_an_expired_token_says_its_last_day_in_the_trusts_time_zone(client, street, planner):
    runner = CliRunner()
    today = timezone.localdate()
    made = runner.invoke(main, ["token", "create", "planner", "--name", "x", "--expires",
                                today.isoformat()])  # fmt: skip
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert f"live until {today.isoformat()}" in runner.invoke(main, ["token", "list"]).stdout
    AccessToken.objects.update(expires_at=F("expires_at") - dt.timedelta(days=1))
    response = client.get(STAFF_ITEMS, **bearer(key))
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert response.status_code == 401
    assert f"last day was {yesterday}" in response.json()["detail"]  # not the UTC date after
    assert f"expired (last day {yesterday})" in runner.invoke(main, ["token", "list"]).stdout


def test_cli_lists_no_tokens_by_saying_so(db):
    result = CliRunner().invoke(main, ["token", "list"])
    assert result.exit_code == 0 and "no access tokens yet" in result.output


def test_cli_refuses_a_token_that_would_be_expired_already(planner):
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    result = CliRunner().invoke(
        main, ["token", "create", "planner", "--name", "x", "--expires", yesterday]
    )
    assert result.exit_code == 2 and "has passed" in result.output
    assert not AccessToken.objects.exists()


def test_cli_refuses_an_expiry_past_ten_years_and_says_the_latest_day(planner):
    latest = tokens.latest_last_day()
    result = CliRunner().invoke(
        main, ["token", "create", "planner", "--name", "x", "--expires", "9999-12-31"]
    )
    assert result.exit_code == 2
    assert "9999-12-31 is too far off: a token lives at most 10 years" in result.output
    assert f"may be {latest:%Y-%m-%d} at the latest" in result.output
    assert not AccessToken.objects.exists()


def test_cli_accepts_the_latest_day_and_lists_it(planner):
    latest = tokens.latest_last_day()
    made = CliRunner().invoke(
        main, ["token", "create", "planner", "--name", "x", "--expires", latest.isoformat()]
    )
    assert made.exit_code == 0, made.output
    listed = CliRunner().invoke(main, ["token", "list"])
    assert f"live until {latest.isoformat()}" in listed.stdout


def test_the_latest_last_day_is_ten_years_on_even_from_a_leap_day():
    assert tokens.latest_last_day(dt.date(2025, 6, 1)) == dt.date(2035, 6, 1)
    assert tokens.latest_last_day(dt.date(2028, 2, 29)) == dt.date(2038, 2, 28)


def test_issuing_refuses_an_expiry_past_ten_years_whoever_calls_it(planner):
    far = timezone.now() + dt.timedelta(days=366 * 11)
    with pytest.raises(ValueError, match="is too far off"):
        tokens.issue(planner, "x", expires_at=far)


def test_cli_refuses_a_name_longer_than_the_table_keeps_and_says_the_limit(planner):
    result = CliRunner().invoke(main, ["token", "create", "planner", "--name", "q" * 5000])
    assert result.exit_code == 2
    assert "the name is 5,000 characters long; say what the token is for in at most 100" in (
        result.output
    )
    assert not AccessToken.objects.exists()


def test_cli_says_which_day_does_not_exist(planner):
    result = CliRunner().invoke(
        main, ["token", "create", "planner", "--name", "x", "--expires", "2023-02-30"]
    )
    assert result.exit_code == 2
    assert "2023-02-30 is not a date: February 2023 has 28 days" in result.output


def test_a_token_stops_working_when_its_user_leaves_the_staff(client, street, planner, key):
    planner.is_staff = False
    planner.save()
    response = client.get(STAFF_ITEMS, **bearer(key))
    assert response.status_code == 401 and "no longer on the trust's staff" in response.text


def test_an_unknown_token_is_a_401_not_a_silent_anonymous_answer(client, street):
    response = client.get(STAFF_ITEMS, **bearer("clt_made-up"))
    assert response.status_code == 401 and "not known" in response.json()["detail"]


def test_a_token_never_opens_the_admin_or_a_write(client, street, key):
    assert client.get("/admin/", **bearer(key)).status_code == 302  # to the login page
    response = client.post("/admin/parcels/parcel/add/", {"apn": "x"}, **bearer(key))
    assert response.status_code in (302, 403)
    assert not factories.Parcel.objects.filter(apn="x").exists()
    # Not even a POST on a data path: reads only.
    assert client.post(STAFF_ITEMS, **bearer(key)).status_code in (401, 403, 405)


def test_last_use_is_recorded(client, street, key):
    client.get(STAFF_ITEMS, **bearer(key))
    assert AccessToken.objects.get().last_used_at is not None


def test_only_active_staff_get_tokens():
    resident = factories.user("resident")
    with pytest.raises(ValueError, match="not active staff"):
        tokens.issue(resident, "x")


def test_staff_without_a_role_get_no_token_and_are_told_to_give_them_one():
    bare = factories.user("bare", is_staff=True)
    with pytest.raises(ValueError, match="no role that may see a staff layer") as refused:
        tokens.issue(bare, "x")
    assert "add them to the 'editor' or 'read-only' group" in str(refused.value)
    assert not AccessToken.objects.exists()


def test_a_token_whose_user_lost_their_role_opens_no_staff_layer(client, street, planner, key):
    planner.groups.clear()  # the role taken away, "Staff status" left ticked
    response = client.get(STAFF_ITEMS, **bearer(key))
    assert response.status_code == 403 and "arrears" not in response.text
    assert client.get("/export/leases.csv", **bearer(key)).status_code == 403
    public = client.get("/ogcapi/collections/trust-land/items", **bearer(key))
    assert public.status_code == 200


# --- the CLI and the admin -------------------------------------------------------------------


def test_cli_creates_lists_and_revokes_a_token(client, street, planner):
    runner = CliRunner()
    made = runner.invoke(main, ["token", "create", "planner", "--name", "QGIS"])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert client.get(STAFF_ITEMS, **bearer(key)).status_code == 200

    listed = runner.invoke(main, ["token", "list"])
    token_id = AccessToken.objects.get().pk
    assert f"{token_id}\t{key[:10]}…\tplanner\tQGIS\t" in listed.stdout and "live" in listed.stdout

    revoked = runner.invoke(main, ["token", "revoke", str(token_id)])
    assert revoked.exit_code == 0
    assert client.get(STAFF_ITEMS, **bearer(key)).status_code == 401
    assert "revoked" in runner.invoke(main, ["token", "list"]).stdout


def test_cli_revoking_a_revoked_token_says_when_it_was_revoked(planner):
    token = tokens.issue(planner, "QGIS")[0]
    revoked_at = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)  # 9 a.m. in Jackson
    AccessToken.objects.filter(pk=token.pk).update(revoked_at=revoked_at)
    result = CliRunner().invoke(main, ["token", "revoke", str(token.pk)])
    assert result.exit_code == 0
    assert f"token {token.pk} ({token.prefix}…, QGIS) was already revoked on 2026-03-02" in (
        result.output
    )
    assert AccessToken.objects.get().revoked_at == revoked_at  # not revoked again today


def test_cli_refuses_an_unknown_user_and_an_unknown_token():
    runner = CliRunner()
    assert runner.invoke(main, ["token", "create", "nobody", "--name", "x"]).exit_code == 2
    result = runner.invoke(main, ["token", "revoke", "999"])
    assert result.exit_code == 2 and "clt token list" in result.output


def test_admin_issues_a_token_shows_it_once_and_revokes_it(client, street, planner):
    client.force_login(factories.user("boss", is_staff=True, is_superuser=True))
    page = client.post(
        "/admin/maps/accesstoken/add/", {"user": planner.pk, "name": "QGIS", "expires_at": ""}
    )
    assert page.status_code == 200, page.content[:2000]
    key = page.context["key"]
    assert key.startswith("clt_") and key in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    client.logout()
    assert client.get(STAFF_ITEMS, **bearer(key)).status_code == 200

    client.force_login(factories.User.objects.get(username="boss"))
    token = AccessToken.objects.get()
    client.post(
        "/admin/maps/accesstoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    client.logout()
    assert client.get(STAFF_ITEMS, **bearer(key)).status_code == 401


def test_admin_refuses_a_token_for_staff_without_a_role_and_says_why(admin_client):
    bare = factories.user("bare", is_staff=True)
    page = admin_client.post("/admin/maps/accesstoken/add/", {"user": bare.pk, "name": "QGIS"})
    assert page.status_code == 200
    (said,) = page.context["adminform"].form.errors["user"]
    assert "bare has no role that may see a staff layer" in said and "'read-only'" in said
    assert not AccessToken.objects.exists()


def test_revoking_tokens_with_the_admins_action_logs_who_revoked_each(admin_client, planner):
    first, second, old = (tokens.issue(planner, name)[0] for name in ("QGIS", "laptop", "old"))
    tokens.revoke(old)
    picked = [first.pk, second.pk, old.pk]

    admin_client.post("/admin/maps/accesstoken/", {"action": "revoke", "_selected_action": picked})

    # By id as a number: object_id is text, and "10" sorts before "9".
    logged = sorted(LogEntry.objects.all(), key=lambda entry: int(entry.object_id))
    assert [(e.object_id, e.user.username, e.action_flag, e.get_change_message())
            for e in logged] == [
        (str(first.pk), "admin", CHANGE, "Changed Revoked at."),
        (str(second.pk), "admin", CHANGE, "Changed Revoked at."),
    ]  # fmt: skip
    assert AccessToken.objects.filter(revoked_at__isnull=True).count() == 0
    history = admin_client.get(f"/admin/maps/accesstoken/{first.pk}/history/")
    assert "Changed Revoked at." in history.content.decode()


def change_page_data(admin_client, token) -> dict:
    """What the token's admin change page posts back, with an attempt to reopen the token:
    no revocation, and a last day in 2199."""
    page = admin_client.get(f"/admin/maps/accesstoken/{token.pk}/change/")
    data = factories.admin_form_data(page)
    editable = set(page.context["adminform"].form.fields)
    assert editable == ({"name"} if token.revoked_at else {"name", "revoked_at"})  # to revoke it
    return {**data, "revoked_at_0": "", "revoked_at_1": "", "expires_at_0": "2199-01-01",
            "expires_at_1": "00:00:00", "name": "QGIS, renamed"}  # fmt: skip


def test_a_revoked_tokens_admin_page_cannot_reopen_it(admin_client, client, street, planner):
    token, key = tokens.issue(planner, "QGIS")
    tokens.revoke(token)
    revoked_at = AccessToken.objects.get().revoked_at
    data = change_page_data(admin_client, token)
    assert admin_client.post(f"/admin/maps/accesstoken/{token.pk}/change/", data).status_code == 302
    token.refresh_from_db()
    assert (token.name, token.revoked_at, token.expires_at) == ("QGIS, renamed", revoked_at, None)
    assert client.get(STAFF_ITEMS, **bearer(key)).status_code == 401


def test_an_expired_tokens_admin_page_cannot_extend_it(admin_client, client, street, planner):
    yesterday = timezone.now() - dt.timedelta(days=1)
    token, key = tokens.issue(planner, "QGIS", expires_at=yesterday)
    data = change_page_data(admin_client, token)
    assert admin_client.post(f"/admin/maps/accesstoken/{token.pk}/change/", data).status_code == 302
    token.refresh_from_db()
    assert (token.expires_at, token.revoked_at) == (yesterday, None)
    assert client.get(STAFF_ITEMS, **bearer(key)).status_code == 401


def test_cli_lists_a_token_of_a_user_who_left_the_staff_as_refused(planner, key):
    planner.is_staff = False
    planner.save()
    listed = CliRunner().invoke(main, ["token", "list"]).stdout
    assert listed.rstrip().endswith("\tnever used\trefused: user not on staff")


def test_cli_lists_a_token_of_a_user_without_a_role_as_seeing_no_staff_layer(planner, key):
    planner.groups.clear()
    listed = CliRunner().invoke(main, ["token", "list"]).stdout
    assert listed.rstrip().endswith("\tlive, but sees no staff layer: user has no role")


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_gdal_reads_the_staff_layer_with_a_token_as_its_basic_password(live_server, street, key):
    url = f"OAPIF:{live_server.url}/ogcapi"
    env = {**os.environ, "GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": f"token:{key}"}
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", url, "leases"], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("OGRFeature(") == 1
