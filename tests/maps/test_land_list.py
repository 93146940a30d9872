"""The list of the land (/map/list/): what the map shows of the trust's own land, as tables a
keyboard and a screen reader reach (WCAG 2.1.1, 1.1.1), every row a link to it on the map,
values in words, and nothing a public layer does not whitelist."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from maps import land_list
from tests import factories
from tests.maps import factories_map
from tests.maps.test_conserved_land_layer import SECRETS, farm, held_by_the_trust, planted

pytestmark = pytest.mark.django_db

URL = "/map/list/"


def page(client, url: str = URL) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def text(html: str) -> str:
    """The page's words, as a screen reader reads them (tags out, spaces collapsed)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def section(html: str, fragment: str) -> str:
    """The part of the page from the heading with id `fragment` to the next h2."""
    start = html.index(f'<h2 id="{fragment}">')
    end = html.find("<h2", start + 1)
    return html[start : end if end != -1 else len(html)]


def map_link(apn: str, name: str) -> str:
    return f'<a href="/map/?parcel={apn}" aria-label="Show on the map: {name}">Show on the map</a>'


def available_homes(count: int) -> list:
    """`count` one-lot holdings offered now, each a single-family home on Lynch St."""
    offered = []
    for n in range(count):
        lot = factories.parcel(apn=f"164-900-{n:03d}", address=f"{1400 + 2 * n} Lynch St")
        factories.holding(parcels=[lot], available=True, current_use="single_family_home")
        offered.append(lot)
    return offered


# --- what it lists ---------------------------------------------------------------------------


def test_every_available_home_is_listed_with_its_map_link_beyond_the_front_pages_twelve(
    client, day
):
    offered = available_homes(15)

    available = section(page(client), "available")

    assert text(available).startswith("Available now 15 homes and lots the trust offers now")
    for lot in offered:
        assert map_link(lot.apn, lot.address) in available
    assert available.count("Show on the map</a>") == 15


def test_a_long_table_comes_a_page_at_a_time_by_street_and_number(client, day, monkeypatch):
    # A million-parcel county's 10,000 holdings were one page of 11,429 rows (2.8 MB), in the
    # order of their text ("1004 W Mill Pl, 102 W Magnolia Ave").
    monkeypatch.setattr(land_list, "PAGE_ROWS", 4)
    offered = available_homes(10)  # 1400, 1402, ... 1418 Lynch St
    factories.holding(parcels=[factories.parcel(apn="164-901-000", address="98 Lynch St")],
                      available=True)  # fmt: skip
    first = section(page(client), "available")
    assert re.findall(r'<th scope="row">([^<]+)</th>', first) == [
        "98 Lynch St", "1400 Lynch St", "1402 Lynch St", "1404 Lynch St"
    ]
    assert "11 parcels, by street and number; 1 to 4 shown</caption>" in first
    assert 'href="/map/list/?page-available=2#available"' in first and "Previous" not in first

    last = section(page(client, "/map/list/?page-available=3&page-use-held_vacant=2"),
                   "available")  # fmt: skip
    assert re.findall(r'<th scope="row">([^<]+)</th>', last) == ["1414 Lynch St",
                                                                 "1416 Lynch St", "1418 Lynch St"]
    assert "9 to 11 shown" in last and "Next" not in last
    # Back to page 2, the other table's page kept.
    assert 'href="/map/list/?page-available=2&amp;page-use-held_vacant=2#available"' in last
    assert offered[0].apn not in last
    for hostile in ("0", "-1", "x", "99999999999999999999"):  # the first page, or the last
        assert page(client, f"/map/list/?page-available={hostile}").count("Lynch St</th>") >= 3


def test_every_parcel_the_trust_holds_is_listed_under_its_use_in_words(client, day):
    block = factories_map.block()

    held = section(page(client), "held")

    assert re.findall(r"<h3 id=\"use-(\w+)\">([^<]+)</h3>", held) == [
        ("single_family_home", "Single-family home"),
        ("coop_housing", "Co-op housing"),
        ("urban_farm", "Urban farm"),
        ("community_garden", "Community garden"),
        ("commercial_coop", "Commercial co-op"),
        ("held_vacant", "Held vacant"),
    ]
    named = {"coop_housing", "urban_farm", "community_garden", "commercial_coop"}
    for lot in block.trust:
        use = lot.holdings.get().current_use
        # A farm, a garden or a co-op by its name too (its holding's: "Holding urban_farm").
        name = f"Holding {use}, {lot.address}" if use in named else lot.address
        assert map_link(lot.apn, name) in held, lot.apn
    assert held.count("Show on the map</a>") == len(block.trust) == 7
    farm_table = held[held.index('id="use-urban_farm"') : held.index('id="use-community_garden"')]
    assert "Urban farm: 2 parcels, by street and number</caption>" in farm_table
    (vacant,) = block.available
    assert f'<th scope="row">{vacant.address}</th><td>{vacant.apn}</td>' in held
    assert "<td>Held vacant, available now</td>" in held
    words = re.sub(r"Holding \w+", "", text(held))  # the block's holdings are named by code
    assert not re.search(r"single_family_home|urban_farm|held_vacant|True|False|None", words)


def test_a_row_gives_the_area_in_acres_and_square_feet(client, day):
    (lot,) = available_homes(1)
    lot.refresh_from_db()
    acres = f"{lot.area_m2 / 4046.8564224:.2f}"
    square_feet = f"{round(lot.area_m2 / 0.09290304):,}"

    available = section(page(client), "available")

    assert f"<td>Single-family home</td><td>{acres}</td><td>{square_feet}</td>" in available


def test_areas_are_rounded_in_words_a_reader_knows():
    assert (land_list.acres(4047), land_list.square_feet(4047)) == ("1.00", "43,562")
    assert (land_list.acres(929), land_list.square_feet(929)) == ("0.23", "10,000")
    assert land_list.acres(20) == "under 0.01"
    assert land_list.acres(None) == land_list.square_feet(None) == "Not recorded"


def test_the_tables_are_data_tables_a_screen_reader_can_walk(client, day):
    factories_map.block()
    html = page(client)

    tables = html.count("<table>")
    assert tables == 7  # available, and one per use of the six the block holds
    assert html.count("<caption>") == tables
    assert html.count('<div class="scroll-x" tabindex="0" role="region" aria-label=') == tables
    assert html.count('<th scope="col">Address</th>') == tables
    assert "<td></td>" not in html  # every cell says something
    assert "<style" not in html and " style=" not in html and "<script" not in html


def test_conserved_land_is_listed_by_name_with_a_link_to_its_place_on_the_map(client, day):
    held_by_the_trust(1, name="Town Creek Farm", purpose="water", public_access="open")
    west, south, east, north = farm(1).extent

    conserved = section(page(client), "conserved")

    assert text(conserved).count("Show on the map") == 1
    row = re.search(r"<tr><th scope=\"row\">Town Creek Farm</th>.*?</tr>", conserved).group(0)
    assert "<td>Water quality (stream, wetland)</td><td>Open to the public</td>" in row
    lat, lon, zoom = re.search(r'href="/map/\?lat=([-\d.]+)&amp;lon=([-\d.]+)&amp;z=(\d+)"',
                               row).groups()  # fmt: skip
    assert (float(lat), float(lon)) == pytest.approx(((south + north) / 2, (west + east) / 2),
                                                      abs=1e-5)  # fmt: skip
    # The farm is about 330 m north-south: 165 pixels at z16, fitting a phone's map; 330 at z17.
    assert int(zoom) == 16


def test_without_an_easement_in_force_the_page_has_no_conserved_section(client, day):
    factories_map.block()
    html = page(client)
    assert 'id="conserved"' not in html
    assert "Land under conservation easement" not in html


def test_the_county_s_vacant_lots_are_named_not_listed(client, day):
    block = factories_map.block()
    html = page(client)
    assert "vacant lots that the trust does not hold" in text(html)
    assert 'href="/ogcapi/collections/vacant-lots/items?f=html"' in html
    for lot in block.vacant:
        assert lot.apn not in html


def test_the_available_land_says_how_to_apply(client, day, settings):
    settings.CLT_HOW_TO_APPLY = "Apply at https://example.org/apply."
    available_homes(1)
    said = section(page(client), "available")
    assert '<p class="how-to-apply">Apply at <a href="https://example.org/apply">' in said


def test_the_page_ends_with_the_trusts_contact(client, day, settings):
    settings.CLT_CONTACT = "Call 601-000-0000"
    main = page(client).split("<main>")[1].split("</main>")[0]
    assert text(main).endswith("Questions about a home or a lot? Call 601-000-0000")


def test_the_page_reads_one_query_per_layer_however_many_parcels(client, day):
    factories_map.block()
    available_homes(20)
    with CaptureQueriesContext(connection) as queries:
        page(client)
    # (Each request also sets its statement timeout: clt/statement_timeout.py.)
    reads = [q["sql"] for q in queries if not q["sql"].startswith("SELECT set_config(")]
    assert len(reads) == 3  # available, trust land, conserved land


def test_the_page_is_read_only_and_asked_again_each_time(client, day):
    response = client.get(URL)
    assert response["Cache-Control"] == "no-cache"
    refused = client.post(URL)
    assert (refused.status_code, refused["Allow"]) == (405, "GET, HEAD")


# --- privacy ---------------------------------------------------------------------------------


def test_no_private_value_reaches_the_list(client, day):
    factories_map.block()
    planted(0, name="Neighbour's farm")
    html = page(client)
    assert [needle for needle in factories_map.private_needles() if needle in html] == []
    assert [secret for secret in SECRETS if secret.lower() in html.lower()] == []
    assert "Neighbour's farm" in unescape(html)  # the easement is listed, its secrets are not


# --- links to it -----------------------------------------------------------------------------


def test_the_front_page_links_the_list_when_it_lists_only_some_of_the_available(client, day):
    available_homes(13)
    home = page(client, "/")
    assert '<a href="/map/list/#available">All 13, listed</a>' in home


def test_the_map_page_links_the_list_before_the_search_and_the_map(client, day):
    factories_map.block()
    html = page(client, "/map/")
    link = html.index('<a href="/map/list/">List of the land</a>')
    assert link < html.index('id="clt-q"') < html.index('class="folium-map')


def test_the_search_page_links_the_list(client, day):
    html = page(client, "/map/search/?q=Lynch")
    assert '<a href="/map/list/">the list of the land</a>' in html
