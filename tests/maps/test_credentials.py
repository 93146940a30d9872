"""Credentials on the data endpoints: a Basic staff login opens each one alike, and a header that
is wrong or unreadable is a 4xx that says so (never a 500, never a silent anonymous answer)."""

from __future__ import annotations

import base64

import pytest

from tests import factories
from tests.maps import factories_ogc as f
from tests.maps.factories_map import tile_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def street():
    return f.street()


@pytest.fixture
def planner():
    return factories.user("planner", role="read-only", is_staff=True)  # password "pw"


def basic(text: str | bytes) -> dict:
    raw = text.encode() if isinstance(text, str) else text
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}


def staff_paths(street) -> list[str]:
    tile = "/tiles/leases/{}/{}/{}.pbf".format(*tile_of(street.leased[0], 16))
    return ["/ogcapi/collections/leases/items", "/export/leases.csv", "/api/vacant-lots", tile]


def test_a_basic_staff_login_opens_every_staff_data_endpoint(client, street, planner):
    for path in staff_paths(street):
        assert client.get(path).status_code in (401, 404), path
        response = client.get(path, **basic("planner:pw"))
        assert response.status_code == 200, (path, response.content[:200])
        assert "Set-Cookie" not in response.headers  # credentials are not a session


def test_a_basic_login_of_staff_without_a_role_is_a_403_on_every_staff_data_endpoint(
    client, street
):
    factories.user("bare", is_staff=True)  # password "pw", no role
    for path in staff_paths(street):
        response = client.get(path, **basic("bare:pw"))
        assert response.status_code == 403, (path, response.content[:200])
    public = client.get("/ogcapi/collections/trust-land/items", **basic("bare:pw"))
    assert public.status_code == 200


def test_a_wrong_password_is_a_401_on_every_data_endpoint_even_a_public_one(
    client, street, planner
):
    paths = [*staff_paths(street), "/ogcapi/collections/trust-land/items"]
    # Each from its own address: five from one would lock it (a 429, tests/clt/test_lockout.py).
    for n, path in enumerate(paths):
        address = f"192.0.2.{n + 1}"
        response = client.get(path, REMOTE_ADDR=address, **basic("planner:not-the-password"))
        assert response.status_code == 401, path
        assert response.json()["detail"] == "the user name or password is wrong"
        assert response["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("Basic %%%", "not valid Basic"),
        ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "not valid Basic"),
        ("Basic " + base64.b64encode(b"planner").decode(), "no ':'"),
        ("Basic " + base64.b64encode(b"fu\x00zz:x").decode(), "NUL"),
        ("Basic " + base64.b64encode(b"\x00:\x00").decode(), "NUL"),
        ("Digest username=planner", "send Basic or Bearer"),
    ],
)
def test_an_unreadable_authorization_header_is_a_400_that_says_why(client, street, header, said):
    for path in ("/ogcapi/collections", "/export/leases.csv", "/api/vacant-lots"):
        response = client.get(path, HTTP_AUTHORIZATION=header)
        assert response.status_code == 400, (path, response.content[:200])
        assert response["Content-Type"] == "application/problem+json"
        assert said in response.json()["detail"]


def test_a_staff_layer_challenges_in_the_scheme_the_client_used(client, street):
    # RFC 6750 §3: a Bearer request without a usable token gets the Bearer challenge.
    paths = [p for p in staff_paths(street) if not p.startswith("/api/")]  # finder: Bearer always
    for path in paths:
        bearer = client.get(path, HTTP_AUTHORIZATION="Bearer ")
        assert bearer.status_code == 401, path
        assert bearer["WWW-Authenticate"] == 'Bearer realm="clt staff layers"', path
        anonymous = client.get(path)
        assert anonymous.status_code == 401, path
        assert anonymous["WWW-Authenticate"].startswith("Basic "), path


def test_a_pages_own_fetch_is_never_challenged_to_basic(client, street):
    # The staff map's tiles after its session expired: a Basic challenge would have the
    # browser put its login box over the map.
    for path in [p for p in staff_paths(street) if not p.startswith("/api/")]:
        fetched = client.get(path, HTTP_SEC_FETCH_MODE="cors")
        assert fetched.status_code == 401, path
        assert fetched["WWW-Authenticate"].startswith("Bearer "), path
        opened = client.get(path, HTTP_SEC_FETCH_MODE="navigate")
        assert opened["WWW-Authenticate"].startswith("Basic "), path


def test_a_session_cookie_holding_nul_is_left_unread_not_a_500(client, street):
    for path in ("/ogcapi/collections", "/api/vacant-lots", "/map/", "/admin/"):
        client.cookies["sessionid"] = "abcdefghij\x00klmn"
        response = client.get(path)
        assert response.status_code in (200, 302, 401), (path, response.status_code)


def test_the_finder_api_says_how_to_authenticate_without_a_browser_login_box(client, street):
    response = client.get("/api/vacant-lots")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")  # Basic would pop a browser box


def test_credentials_never_open_the_admin(client, street, planner):
    assert client.get("/admin/", **basic("planner:pw")).status_code == 302  # to the login page
