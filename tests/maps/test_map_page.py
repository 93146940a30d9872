"""The map pages: built with folium, every asset served by the app, a strict CSP, deep links,
search, and the staff map behind login."""

from __future__ import annotations

import json
import re

import folium
import pytest
from branca.element import JavascriptLink
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clt import security
from maps import assets, publicmap
from tests import factories
from tests.maps import factories_map

pytestmark = pytest.mark.django_db


@pytest.fixture
def block():
    return factories_map.block()


def page(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_the_map_page_loads_only_the_apps_own_scripts_and_styles(client, block):
    html = page(client.get("/map/"))
    sources = re.findall(r'<script[^>]* src="([^"]+)"', html)
    links = re.findall(r'<link rel="([^"]+)" href="([^"]+)"', html)
    assert sources == [f"/static/{path}" for path in (*assets.SCRIPTS, "maps/map.js")]
    assert [href for rel, href in links if rel == "stylesheet"] == ["/static/clt/site.css"] + [
        f"/static/{path}" for path in (*assets.STYLESHEETS, "maps/map.css")
    ]
    assert [href for rel, href in links if rel != "stylesheet"] == ["/static/clt/favicon.svg"]


def test_the_only_address_outside_the_app_is_the_base_map(client, block):
    html = page(client.get("/map/"))
    outside = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert outside == {"https://tile.openstreetmap.org/{z}/{x}/{y}.png"}


def test_the_page_has_a_strict_content_security_policy_with_one_nonce(client, block):
    response = client.get("/map/")
    html = page(response)
    csp = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    nonce = re.search(r"'nonce-([^']+)'", csp["script-src"]).group(1)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == f"'self' 'nonce-{nonce}'"
    assert csp["style-src"] == f"'self' 'nonce-{nonce}'"
    assert csp["img-src"] == "'self' data: https://tile.openstreetmap.org"
    assert csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    inline = re.findall(r"<script(?![^>]* src=)([^>]*)>", html)
    assert inline == [f' nonce="{nonce}"']
    assert "<style" not in html and " style=" not in html
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_each_page_gets_a_fresh_nonce(client, block):
    first = client.get("/map/")["Content-Security-Policy"]
    second = client.get("/map/")["Content-Security-Policy"]
    assert first != second


def test_the_csp_allows_a_base_map_with_subdomains(settings):
    settings.BASEMAP_URL = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    assert "img-src 'self' data: https://*.tiles.example.org;" in (
        security.content_security_policy("n")
    )


def test_without_a_base_map_the_page_allows_no_other_host(client, block, settings):
    settings.BASEMAP_URL = ""
    response = client.get("/map/")
    assert "tileLayer" not in page(response)
    assert "img-src 'self' data:;" in response["Content-Security-Policy"]


def test_the_vendored_libraries_are_served_by_the_app(client):
    for path in (*assets.SCRIPTS, *assets.STYLESHEETS, "maps/vendor/leaflet/images/layers.png"):
        response = client.get(f"/static/{path}")
        assert response.status_code == 200, path
        b"".join(response.streaming_content)


def test_render_refuses_a_library_from_a_cdn():
    m = publicmap.LocalMap(location=[32.3, -90.2])
    m.get_root().header.add_child(JavascriptLink("https://cdn.example.org/x.js"), name="x")
    with pytest.raises(ValueError, match="https://cdn.example.org/x.js is not served by this app"):
        publicmap.render(m)


def test_folium_s_own_defaults_would_have_used_cdns():
    # The reason LocalMap exists: folium's Map links these hosts by default.
    external = [url for _, url in folium.Map.default_js if url.startswith("https://")]
    assert external and len(external) == len(folium.Map.default_js)


def test_the_map_opens_on_the_trusts_land(client, block):
    html = page(client.get("/map/"))
    assert ".fitBounds(" in html


def test_the_map_is_fitted_before_any_layer_asks_for_tiles(client, block):
    """Fitted after its layers, the map first loaded every layer's tiles at the default view
    (72 tiles at z14 at 1M parcels, never shown, queued ahead of the ones that were)."""
    html = page(client.get("/map/"))
    first_layer = min(html.index("CLTMap.vectorLayer("), html.index("L.tileLayer("))
    assert html.index(".fitBounds(") < first_layer


def fitted_bounds(html: str) -> list[list[float]]:
    found = re.search(r"\.fitBounds\(\s*(\[\[.*?\]\])", html, re.S)
    return json.loads(found.group(1))


def test_the_first_view_follows_land_the_trust_acquires(client, block):
    before = fitted_bounds(page(client.get("/map/")))
    far = factories.parcel(geom=factories.lot(lon=before[1][1] + 0.01, lat=before[1][0] + 0.01))
    factories.holding(parcels=[far])  # acquired: the trust-land layer's data changed

    (south, west), (north, east) = fitted_bounds(page(client.get("/map/")))
    assert north > before[1][0] + 0.01 and east > before[1][1] + 0.01
    assert (south, west) == pytest.approx(before[0])


def test_a_deep_link_to_a_parcel_opens_on_it_with_its_public_fields(client, block):
    html = page(client.get(f"/map/?parcel={block.leased.apn}"))
    assert '"zoom": 18' in html
    assert f'"apn": "{block.leased.apn}"' in html
    assert '"address": "1200 Trust Way"' in html
    assert ".fitBounds(" not in html


def test_a_deep_link_to_an_unknown_parcel_says_so(client, block):
    html = page(client.get("/map/?parcel=999-999-999"))
    assert "No parcel with APN “999-999-999” is on this map." in html


def test_a_deep_link_to_a_place_opens_there(client, block):
    html = page(client.get("/map/?lat=32.30123&lon=-90.21456&z=17"))
    assert "center: [32.30123, -90.21456]" in html
    assert '"zoom": 17' in html


@pytest.mark.parametrize(
    "query",
    ["lat=95&lon=-90.2&z=17", "lat=32.3&lon=-190&z=17", "lat=nan&lon=1", "lat=abc&lon=1"],
)
def test_a_place_outside_the_map_is_ignored(query):
    from django.http import QueryDict

    assert publicmap.parse_view(QueryDict(query)) is None


@pytest.mark.parametrize(
    "zoom, opened_at",
    [("30", publicmap.MAX_ZOOM), ("99", publicmap.MAX_ZOOM), ("-1", 0), ("1.5", 1), ("abc", 16),
     ("inf", 16), (None, 16)],
)
def test_a_bad_zoom_keeps_the_place_and_opens_at_the_nearest_zoom(zoom, opened_at):
    from django.http import QueryDict

    query = "lat=32.3&lon=-90.2" + (f"&z={zoom}" if zoom is not None else "")
    view = publicmap.parse_view(QueryDict(query))
    assert (view.lat, view.lon, view.zoom) == (32.3, -90.2, opened_at)


def test_the_legend_names_every_public_layer_and_each_use(client, block):
    html = page(client.get("/map/"))
    for title in (
        "Land held by the trust",
        "Homes and lots available now",
        "Vacant lots in the city",
        "Neighbourhoods",
        "Flood zones",
    ):
        assert title in html
    assert "Community garden" in html and "Urban farm" in html
    assert "Ground leases (staff)" not in html


def legend_titles(html: str) -> list[str]:
    legend = html.split('class="clt-legend"')[1].split("</details>")[0]
    return re.findall(r"<strong>([^<]+)</strong>", legend)


def switcher_titles(html: str) -> list[str]:
    """The overlays folium's layer control lists, by title."""
    overlays = re.search(r"\boverlays\s*:\s*\{(.*?)\}", html, re.S).group(1)
    return re.findall(r"\"([^\"]+)\"\s*:", overlays)


def test_an_overlay_with_no_features_is_listed_nowhere_until_one_is_imported(
    client, block, tmp_path
):
    """A "Flood zones" layer ticked and in the legend, with no flood zone loaded, read as
    "no flood risk here"."""
    from click.testing import CliRunner

    from clt.cli import main
    from parcels.models import Overlay

    Overlay.objects.all().delete()
    html = page(client.get("/map/"))
    for title in ("Flood zones", "Neighbourhoods"):
        assert title not in legend_titles(html) and title not in switcher_titles(html)
    assert "/map/layers/" not in html
    assert "Land held by the trust" in legend_titles(html)
    assert "Land held by the trust" in switcher_titles(html)

    west, south = block.trust[0].geom.extent[:2]
    ring = [[west, south], [west + 0.001, south], [west + 0.001, south + 0.001],
            [west, south + 0.001], [west, south]]  # fmt: skip
    flood = tmp_path / "flood.geojson"
    flood.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Zone AE"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))  # fmt: skip
    imported = CliRunner().invoke(main, ["import-layer", str(flood), "--kind", "flood-zone"])
    assert imported.exit_code == 0, imported.output

    html = page(client.get("/map/"))
    assert "Flood zones" in legend_titles(html) and "Flood zones" in switcher_titles(html)
    assert "/map/layers/flood-zones.geojson" in html
    assert "Neighbourhoods" not in legend_titles(html) + switcher_titles(html)


def test_the_legend_says_when_each_layer_draws_circles_and_when_it_is_shown(client, block):
    legend = page(client.get("/map/")).split('class="clt-legend"')[1]
    trust = legend.split("Land held by the trust")[1].split("</li>")[0]
    circles = "zoomed out, circles show how many lots are near (the bigger, the more)"
    assert circles in trust and "zoomed in to the streets" not in trust
    vacant = legend.split("Vacant lots in the city")[1].split("</li>")[0]
    assert f"shown when zoomed in to the streets; {circles}" in vacant


def test_the_page_is_laid_out_for_a_phone(client, block):
    html = page(client.get("/map/"))
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html


# --- search -----------------------------------------------------------------------------


def test_search_finds_a_parcel_by_apn(client, block):
    response = client.get("/map/search.json", {"q": block.leased.apn})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["properties"]["apn"] for r in results] == [block.leased.apn]
    assert results[0]["layer"] == "trust-land"
    assert results[0]["properties"]["acquired_year"] == 2016
    assert 32.29 < results[0]["lat"] < 32.31 and -90.22 < results[0]["lon"] < -90.19


def test_search_finds_parcels_by_part_of_an_address(client, block):
    results = client.get("/map/search.json", {"q": "trust way"}).json()["results"]
    assert (
        sorted(r["properties"]["apn"] for r in results) == sorted(p.apn for p in block.trust)[:10]
    )


@pytest.mark.parametrize("q", ["{address}.", "{address},", "{number_last}", "{lower}"])
def test_search_finds_an_address_as_people_write_it(client, block, q):
    address = block.leased.address  # "1200 Trust Way"
    number, street = address.split(" ", 1)
    q = q.format(address=address, number_last=f"{street} {number}", lower=address.lower())
    results = client.get("/map/search.json", {"q": q}).json()["results"]
    assert block.leased.apn in [r["properties"]["apn"] for r in results], q


@pytest.mark.parametrize("q", ["1300 North St, Jackson, MS 39203", "1300 North Street"])
def test_search_ignores_the_city_and_finds_a_direction_spelt_out(client, block, q):
    """A city and ZIP after a comma are in no county file; "North" spelt out in this block's
    file is found as typed."""
    results = client.get("/map/search.json", {"q": q}).json()["results"]
    assert results and {r["properties"]["address"] for r in results} == {"1300 North St"}


def test_search_finds_a_direction_the_file_abbreviates(client, block):
    lot = block.vacant[0]
    type(lot).objects.filter(pk=lot.pk).update(address="1711 W Capitol St")
    results = client.get("/map/search.json", {"q": "1711 West Capitol Street"}).json()["results"]
    assert [r["properties"]["apn"] for r in results] == [lot.apn]


@pytest.mark.parametrize(("held", "typed"), [("1711 O'Neal St", "1711 Oneal Street"),
                                             ("1711 ONEAL ST", "O’Neal St 1711"),
                                             ("1711 MUNOZ ST", "1711 Muñoz Street"),
                                             ("1711 Muñoz St", "munoz st 1711"),
                                             ("1711 Straße", "straße 1711")])  # fmt: skip
def test_search_finds_a_name_with_or_without_its_apostrophe_or_accent(client, block, held, typed):
    lot = block.vacant[0]
    type(lot).objects.filter(pk=lot.pk).update(address=held)
    results = client.get("/map/search.json", {"q": typed}).json()["results"]
    assert [r["properties"]["apn"] for r in results] == [lot.apn]


def test_search_knows_the_usps_abbreviations(client, block):
    results = client.get("/map/search.json", {"q": "1300 North Street"}).json()["results"]
    assert results and {r["properties"]["address"] for r in results} == {"1300 North St"}


def test_search_says_when_there_are_more_than_it_shows_and_lists_them_by_address(client, block):
    data = client.get("/map/search.json", {"q": "North St"}).json()
    assert len(data["results"]) == 10 and data["more"] is True
    shown = [r["properties"]["address"] for r in data["results"]]
    numbers = [int(a.split(" ", 1)[0]) for a in shown]
    assert numbers == sorted(numbers)  # one street, by house number
    few = client.get("/map/search.json", {"q": block.leased.apn}).json()
    assert few["more"] is False


def test_an_available_lot_is_reported_from_the_available_layer(client, block):
    lot = block.available[0]
    results = client.get("/map/search.json", {"q": lot.apn}).json()["results"]
    assert [(r["layer"], r["properties"]["apn"]) for r in results] == [("available", lot.apn)]


def test_search_never_finds_retired_or_unmapped_parcels(client, block):
    for q in ("1 Gone St", "2 Unmapped St"):
        assert client.get("/map/search.json", {"q": q}).json()["results"] == []


def test_the_search_never_starts_parallel_workers_for_thirty_rows(client, block):
    # A common word's candidate scan stops after 30 rows; planned as a scan of every match,
    # it was handed to parallel workers whose start cost 30 times the scan (maps.search).
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/map/search.json", {"q": "St"}).status_code == 200
    candidates = [q["sql"] for q in captured if "AS MATERIALIZED" in q["sql"]]
    serial = "SET LOCAL max_parallel_workers_per_gather = 0;"
    assert candidates and all(sql.startswith(serial) for sql in candidates), candidates


def test_search_wildcards_are_taken_literally(client, block):
    # "1_0" would be a wildcard for "120" in "1200 Trust Way", "%rust" for "RUST" in it.
    for q in ("1_0", "1%0", "%rust", "tr_st"):
        assert client.get("/map/search.json", {"q": q}).json()["results"] == [], q


def test_two_letters_find_the_addresses_with_a_word_that_starts_with_them(client, block):
    def found(q):
        results = client.get("/map/search.json", {"q": q}).json()["results"]
        return {r["properties"]["address"].split(" ", 1)[1] for r in results}

    assert found("tr") == {"Trust Way"}
    # "12" starts the house numbers of more addresses than a page shows, and which page of
    # them comes first is the index's (an unordered LIMIT stops early): each one shown has a
    # word starting with 12, and a longer start finds Trust Way's.
    shown = client.get("/map/search.json", {"q": "12"}).json()["results"]
    addresses = [r["properties"]["address"] for r in shown]
    assert addresses and all(
        any(word.startswith("12") for word in address.split()) for address in addresses
    ), addresses
    assert "Trust Way" in found("1200")
    assert found("ru") == set()  # inside "Trust": no word starts with it


def test_a_short_house_number_is_the_start_of_one(client, block):
    twelve, hundred_twelve = block.vacant[:2]
    type(twelve).objects.filter(pk=twelve.pk).update(address="12 Rose St")
    type(twelve).objects.filter(pk=hundred_twelve.pk).update(address="112 Rose St")
    results = client.get("/map/search.json", {"q": "12 Rose Street"}).json()["results"]
    assert [r["properties"]["apn"] for r in results] == [twelve.apn]


@pytest.mark.parametrize(
    ("q", "detail"),
    [
        ("a", "q: type at least 2 letters or digits of an address or APN"),
        ("%%", "q: type at least 2 letters or digits of an address or APN"),
        ("X'", "q: type at least 2 letters or digits of an address or APN"),
        ("- -", "q: type at least 2 letters or digits of an address or APN"),
        ("x" * 101, "q: at most 100 characters"),
    ],
)
def test_a_search_too_short_or_too_long_is_a_400(client, q, detail):
    response = client.get("/map/search.json", {"q": q})
    assert response.status_code == 400
    assert response.json()["detail"] == detail


# --- GeoJSON layers -------------------------------------------------------------------------


def test_an_overlay_layer_is_served_as_geojson_with_its_fields_only(client, block):
    response = client.get("/map/layers/neighbourhoods.geojson")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    data = response.json()
    assert data["type"] == "FeatureCollection"
    assert [f["properties"] for f in data["features"]] == [
        {"id": f["properties"]["id"], "name": "Trust Way Neighbourhood", "kind": "neighbourhood"}
        for f in data["features"]
    ]
    again = client.get(
        "/map/layers/neighbourhoods.geojson", headers={"if-none-match": response["ETag"]}
    )
    assert again.status_code == 304


def test_a_layers_geojson_revalidates_with_the_weak_etag_a_compressing_proxy_sends(client, block):
    etag = client.get("/map/layers/neighbourhoods.geojson")["ETag"]
    again = client.get("/map/layers/neighbourhoods.geojson", headers={"if-none-match": f"W/{etag}"})
    assert again.status_code == 304


def test_a_tile_layer_is_not_served_as_geojson(client, block):
    assert client.get("/map/layers/vacant-lots.geojson").status_code == 404


# --- the staff map --------------------------------------------------------------------------


def test_the_staff_map_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/map/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_staff_map_is_refused_to_a_logged_in_resident(client):
    client.force_login(factories.user("resident"))
    assert client.get("/map/staff/").status_code == 403


def test_the_staff_map_and_its_search_are_refused_to_staff_without_a_role(client, block):
    client.force_login(factories.user("bare", is_staff=True))
    response = client.get("/map/staff/")
    assert response.status_code == 403 and "Ground leases" not in response.content.decode()
    search = client.get("/map/staff/search.json", {"q": block.leased.apn})
    assert search.status_code == 404 and "arrears" not in search.content.decode()


def test_the_staff_map_shows_staff_the_lease_layer(client, block):
    client.force_login(factories.user("planner", role="read-only", is_staff=True))
    response = client.get("/map/staff/")
    html = page(response)
    assert "Ground leases (staff)" in html
    assert "/tiles/leases/{z}/{x}/{y}.pbf" in html
    assert response["Cache-Control"] == "no-store"


def test_popups_show_labels_not_codes(client, block):
    public = page(client.get("/map/"))
    assert '"title": "Current use"' in public and "Current use code" not in public
    client.force_login(factories.user("planner", role="read-only", is_staff=True))
    staff = page(client.get("/map/staff/"))
    assert '"lease_status": {"active": "Active"' in staff


def test_the_staff_map_finds_a_leased_home_with_its_lease(client, block):
    client.force_login(factories.user("planner", role="read-only", is_staff=True))
    html = page(client.get("/map/staff/"))
    assert '"/map/staff/search.json"' in html  # the staff map searches its own layers
    response = client.get("/map/staff/search.json", {"q": block.leased.apn})
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    (found,) = response.json()["results"]
    assert found["layer"] == "leases"
    assert "arrears" in found["properties"]
    deep_link = page(client.get(f"/map/staff/?parcel={block.leased.apn}"))
    assert '"lease_status"' in deep_link


def test_the_public_search_still_answers_from_the_public_layers(client, block):
    (found,) = client.get("/map/search.json", {"q": block.leased.apn}).json()["results"]
    assert found["layer"] == "trust-land"
    assert "arrears" not in found["properties"]


@pytest.mark.parametrize("user", [None, "resident"])
def test_the_staff_search_is_not_found_by_anyone_else(client, block, user):
    if user:
        client.force_login(factories.user(user))
    response = client.get("/map/staff/search.json", {"q": block.leased.apn})
    assert response.status_code == 404
    assert block.leased.apn not in response.content.decode()


# --- methods --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/map/",
        "/map/search.json?q=trust",
        "/map/layers/neighbourhoods.geojson",
        "/tiles/parcels/16/16345/26549.pbf",
        "/export/parcels.csv",
        "/ogcapi/collections/parcels/items",
        "/api/vacant-lots",
        "/",
        "/healthz",
    ],
)
@pytest.mark.parametrize("method", ["post", "put", "delete", "options", "trace"])
def test_a_read_only_address_answers_other_methods_with_a_405_problem(client, block, url, method):
    response = getattr(client, method)(url)
    assert response.status_code == 405, response.content[:300]
    assert response["Allow"] == "GET, HEAD"
    assert response["Content-Type"] == "application/problem+json"
    assert "GET and HEAD only" in response.json()["detail"]


def test_homes_and_lots_available_stand_apart_from_every_use_on_the_map():
    """Drawn over trust land, the 'available' fill must not pass for a use's (its yellow was
    all but the 'held vacant' one)."""
    from maps.layers import USE_FILLS, get_layer

    def rgb(colour: str) -> tuple[int, ...]:
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))

    available = rgb(get_layer("available").style.fill)
    for use, fill in USE_FILLS.items():
        distance = sum((a - b) ** 2 for a, b in zip(available, rgb(fill), strict=True)) ** 0.5
        assert distance > 100, (use, fill)


def test_every_declared_layer_has_a_place_in_the_draw_order():
    # A layer left out drew on top of the map, over the trust's land, taking its clicks.
    from maps.layers import all_layers
    from maps.publicmap import DRAW_ORDER

    assert set(all_layers()) <= set(DRAW_ORDER)


def test_a_layer_without_a_place_in_the_draw_order_is_refused_by_name():
    from dataclasses import replace

    from maps.layers import get_layer
    from maps.publicmap import in_draw_order

    stray = replace(get_layer("flood-zones"), name="historic-districts")
    with pytest.raises(ValueError, match="historic-districts has no place in .*DRAW_ORDER"):
        in_draw_order([get_layer("trust-land"), stray])


def test_watching_the_layers_after_a_migrate_back_skips_the_tables_not_there(monkeypatch):
    # `migrate parcels 0016` rolled back, then ended in a traceback here: the easements' table
    # a layer reads was gone.
    from django.db import connection

    from maps import versions

    monkeypatch.setattr(versions, "_watched", set())  # this test's triggers roll back with it
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE parcels_conservationeasement RENAME TO easements_set_aside")
        versions.watch_all_layers()
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = %s "
            "AND tgrelid = 'parcels_parcel'::regclass", [versions.TRIGGER]
        )  # fmt: skip
        assert cursor.fetchone()[0] == 1  # the tables there are still watched
