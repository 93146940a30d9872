"""The map's search as a page: what the map's search form asks for where the map's scripts did
not load (a phone losing its connection), so a resident gets links to the map, not JSON; the
same search over the same whitelisted fields as search.json (which the map itself still asks)."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.maps import factories_map

pytestmark = pytest.mark.django_db

FARM_APN, FARM_ADDRESS = "170-001-011", "1202 Trust Way"  # factories_map.block's urban farm


@pytest.fixture
def block():
    return factories_map.block()


def form_action(html: str) -> str:
    return re.search(r'<form id="clt-search"[^>]* action="([^"]+)"', html).group(1)


def leaks(html: str) -> list[str]:
    return [needle for needle in factories_map.private_needles() if needle in html]


def test_the_maps_search_form_asks_for_a_page_linking_each_parcel_found_to_the_map(client, block):
    action = form_action(client.get("/map/").content.decode())
    assert action == "/map/search/"
    response = client.get(action, {"q": FARM_ADDRESS})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert f'<a href="/map/?parcel={FARM_APN}">{FARM_ADDRESS} — {FARM_APN}</a>' in html
    assert "1 parcel found: choose one to see it on the map." in html
    assert f'value="{FARM_ADDRESS}"' in html  # the search box keeps what was typed


def test_the_map_itself_still_searches_the_json(client, block):
    html = client.get("/map/").content.decode()
    assert '"searchUrl": "/map/search.json"' in html


def test_the_search_page_shows_the_public_layers_whitelisted_fields_only(client, block):
    leased = block.leased
    for q in (leased.apn, leased.address, "Trust Way"):
        response = client.get("/map/search/", {"q": q})
        assert response.status_code == 200
        assert leaks(response.content.decode()) == [], q
    html = client.get("/map/search/", {"q": leased.apn}).content.decode()
    assert f"{leased.address} — {leased.apn}</a> · Land held by the trust" in html
    # A private value finds nothing: the page searches the whitelist only.
    for q in ("Quartermaine", "PRIVATE-OWNER", "GL-SECRET"):
        html = client.get("/map/search/", {"q": q}).content.decode()
        assert f"No parcel found for “{q}”." in html and "?parcel=" not in html, q


def test_a_search_the_page_cannot_run_says_what_to_type(client, block):
    response = client.get("/map/search/", {"q": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Type at least 2 letters or digits of an address or APN." in html
    asked = client.get("/map/search/")  # the page itself, before any search
    assert asked.status_code == 200 and 'id="search-answer"' not in asked.content.decode()


def test_what_was_typed_is_shown_as_text_never_as_markup(client, block):
    html = client.get("/map/search/", {"q": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert" not in html
    assert "No parcel found for “&lt;script&gt;alert(1)&lt;/script&gt;”." in html


def test_the_staff_maps_form_asks_for_the_staff_search_page(client, block):
    assert client.get("/map/staff/search/", {"q": "x"}).status_code == 302  # to the login
    client.force_login(factories.user("resident"))
    assert client.get("/map/staff/search/", {"q": block.leased.apn}).status_code == 403
    client.force_login(factories.user("planner", role="read-only", is_staff=True))
    action = form_action(client.get("/map/staff/").content.decode())
    assert action == "/map/staff/search/"
    response = client.get(action, {"q": block.leased.apn})
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    link = f'<a href="/map/staff/?parcel={block.leased.apn}">'
    assert f"{link}{block.leased.address} — {block.leased.apn}</a> · Ground leases" in (
        response.content.decode()
    )


def test_a_closest_match_says_there_was_no_exact_one(client, block):
    # "Tsrut" for "Trust": nothing has every word, so the closest address at 1202 is offered,
    # said to be a guess rather than presented as what was asked for.
    html = client.get("/map/search/", {"q": "1202 Tsrut Way"}).content.decode()
    assert "No exact match for “1202 Tsrut Way”. Did you mean this one?" in html
    assert f'<a href="/map/?parcel={FARM_APN}">{FARM_ADDRESS} — {FARM_APN}</a>' in html
