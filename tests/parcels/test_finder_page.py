"""The staff finder page in a real headless Chromium: paging through the lots, the parcel an
address was measured from, errors shown at the field they name, and the GeoJSON download."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from parcels.models import AcquisitionEvent, Parcel
from tests import factories
from tests.browser import Visit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LON, LAT, SIDE = -90.2010, 32.2990, 0.0003


def lots(count: int, *, address: str = "{n} Lynch St") -> list[Parcel]:
    """`count` vacant lots in a row, east of LON."""
    return [
        factories.parcel(
            apn=f"P{n:03d}", address=address.format(n=n), geom=factories.lot(LON + n * SIDE, LAT)
        )
        for n in range(count)
    ]


@pytest.fixture
def finder(browser, live_server):
    """The finder open in a staff member's tab, searching every lot (not only the map view)."""
    visit = Visit(browser)
    client = Client()
    client.force_login(User.objects.create_superuser("fannie", password="x"))
    host = urlsplit(live_server.url).hostname
    visit.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                                "domain": host, "path": "/"}])  # fmt: skip
    visit.page.goto(f"{live_server.url}/finder/")
    visit.page.uncheck("input[name=in_view]")
    yield visit
    visit.close()
    refused = [m for m in visit.console if "Content Security Policy" in m]
    assert not refused, refused  # scripts by nonce only, no inline style or handlers


def search(visit: Visit, **fields: str) -> None:
    for name, value in fields.items():
        visit.page.fill(f"#search [name={name}]", value)
    visit.page.click("#search button[type=submit]")


def count_line(visit: Visit, expected: str) -> None:
    visit.page.locator("#count", has_text=expected).wait_for(timeout=10_000)
    assert visit.page.inner_text("#count") == expected


def test_the_next_button_shows_the_lots_after_the_first_hundred(finder):
    lots(105)
    search(finder)
    count_line(finder, "100 lots shown, more on the next page")
    assert finder.page.locator("#previous").is_disabled()
    finder.page.click("#next")
    count_line(finder, "5 lots shown on page 2")
    assert finder.page.locator("#results tbody tr").count() == 5
    assert finder.page.locator("#next").is_disabled()
    pages = [parse_qs(urlsplit(u).query) for u in finder.requests if "/api/vacant-lots?" in u]
    assert pages[-1].pop("page") == ["2"]
    assert pages[-1] == pages[0]  # the same search, one page on
    finder.page.click("#previous")
    count_line(finder, "100 lots shown, more on the next page")
    assert finder.page.inner_text("#download") == "Download this page as GeoJSON"


def test_paging_to_the_last_page_by_keyboard_keeps_focus_on_the_results(finder):
    lots(105)
    search(finder)
    count_line(finder, "100 lots shown, more on the next page")
    finder.page.focus("#next")
    finder.page.keyboard.press("Enter")
    count_line(finder, "5 lots shown on page 2")
    assert finder.page.evaluate("() => document.activeElement.id") == "count"


def test_a_search_finding_nothing_says_so(finder):
    search(finder, min_area_m2="5")
    count_line(finder, "No lots found")


def test_the_page_names_and_marks_the_parcel_an_address_was_measured_from(finder):
    lots(3)
    centre = factories.parcel(apn="C1", address="1103 Cleveland Ave",
                              geom=factories.lot(LON, LAT + 2 * SIDE))  # fmt: skip
    search(finder, address="1103 cleveland ave.")
    finder.page.locator("#centre", has_text="Measured from").wait_for(timeout=10_000)
    assert finder.page.inner_text("#centre") == f"Measured from {centre.address} (APN C1)"
    assert finder.page.locator("path.finder-centre").count() == 1


def test_an_error_is_shown_at_its_field_with_its_label_and_clears_the_results(finder):
    lots(3, address="14{n:02d} Lynch St")
    search(finder)
    count_line(finder, "3 lots shown")
    search(finder, address="14")
    message = finder.page.locator("#problem-address")
    message.wait_for(timeout=10_000)
    assert message.inner_text() == (
        "Near address: '14' matches several parcels: 1400 Lynch St, 1401 Lynch St, "
        "1402 Lynch St; type more of the address"
    )
    field = finder.page.locator("#search [name=address]")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == "problem-address"
    assert finder.page.locator("#results tbody tr").count() == 0
    assert finder.page.locator(".leaflet-overlay-pane path").count() == 0
    assert finder.page.inner_text("#count") == ""
    search(finder, address="1401")  # the next search clears the message
    count_line(finder, "3 lots shown")
    assert finder.page.locator(".field-problem").count() == 0
    assert field.get_attribute("aria-invalid") is None


@pytest.mark.parametrize("failure", ["html-500", "network"])
def test_a_failed_search_says_so_instead_of_nothing(finder, failure):
    def answer(route):
        if failure == "network":
            route.abort()
        else:
            route.fulfill(status=500, content_type="text/html", body="<h1>Server Error</h1>")

    finder.page.route("**/api/vacant-lots?*", answer)
    search(finder)
    finder.page.locator("#problem", has_text="failed").wait_for(timeout=10_000)
    assert finder.page.inner_text("#problem") == "The search failed; try again"


def test_the_results_offer_the_search_as_geojson(finder, live_server):
    (lot,) = lots(1)
    search(finder, land_use="RES-VAC")
    count_line(finder, "1 lot shown")
    href = finder.page.locator("#download").get_attribute("href")
    assert urlsplit(href).path == "/api/vacant-lots"
    assert parse_qs(urlsplit(href).query)["land_use"] == ["RES-VAC"]
    with finder.page.expect_download() as download:
        finder.page.click("#download")
    body = json.loads(download.value.path().read_text())
    assert [f["properties"]["apn"] for f in body["features"]] == [lot.apn]
    with finder.page.expect_download() as download:  # the same page, as a spreadsheet
        finder.page.click("#download-csv")
    assert download.value.suggested_filename == "vacant-lots-page-1.csv"
    rows = list(csv.DictReader(download.value.path().read_text().splitlines()))
    assert [row["apn"] for row in rows] == [lot.apn]


def test_a_lot_in_the_table_opens_its_parcel_in_the_admin(finder):
    (lot,) = lots(1)
    search(finder)
    count_line(finder, "1 lot shown")
    link = finder.page.locator("#results tbody a", has_text=lot.apn)
    assert link.get_attribute("href") == f"/admin/parcels/parcel/{lot.pk}/change/"


def test_outside_flood_zones_with_none_loaded_is_refused_at_its_checkbox(finder):
    """With no flood zone loaded every lot was shown as "outside flood zones", unchecked."""
    lots(2)
    finder.page.check("#search [name=outside_flood]")
    search(finder)
    message = finder.page.locator("#problem-outside_flood")
    message.wait_for(timeout=10_000)
    assert message.inner_text() == (
        "Outside flood zones: no flood-zone overlay is loaded, so no lot can be checked against "
        "one (import it: clt import-layer FILE --kind flood-zone)"
    )
    checkbox = finder.page.locator("#search [name=outside_flood]")
    assert checkbox.get_attribute("aria-invalid") == "true"
    follows = (
        "() => document.querySelector('[name=outside_flood]').closest('label')"
        ".nextElementSibling.id"
    )
    assert finder.page.evaluate(follows) == "problem-outside_flood"  # next to the checkbox
    assert finder.page.locator("#results tbody tr").count() == 0


def label_of(visit: Visit, name: str) -> str:
    return visit.page.locator(f"#search [name={name}]").locator("xpath=..").inner_text().strip()


def test_assemblages_are_sized_by_their_combined_area_and_lot_count(finder):
    """The area boxes filter each lot, so "area from 2000" found no group of 2000 m², and a
    group's own size had no box."""
    lots(3)  # one group of three touching lots, about 2,800 m²
    for n in range(2):  # a pair, about 1,900 m², farther north
        factories.parcel(apn=f"Q{n}", geom=factories.lot(LON + n * SIDE, LAT + 10 * SIDE))
    combined = finder.page.locator("#search [name=min_total_m2]")
    assert not combined.is_visible()
    assert label_of(finder, "min_area_m2") == "Area from (m²)"

    finder.page.select_option("#search [name=mode]", "assemblages")
    assert combined.is_visible()
    assert label_of(finder, "min_total_m2") == "Combined area from (m²)"
    assert label_of(finder, "min_lots") == "At least N lots"
    assert label_of(finder, "min_area_m2") == "Each lot's area from (m²)"
    assert label_of(finder, "max_area_m2") == "Each lot's area to (m²)"
    search(finder, min_total_m2="2000")
    count_line(finder, "1 assemblage shown")
    assert "P000, P001, P002" in finder.page.inner_text("#results tbody")
    search(finder, min_total_m2="", min_lots="3")
    count_line(finder, "1 assemblage shown")
    search(finder, min_lots="2")
    count_line(finder, "2 assemblages shown")
    # The pair beside the trust's garden, picked before the page is cut.
    garden = factories.parcel(apn="G0", geom=factories.lot(LON + 2 * SIDE, LAT + 10 * SIDE))
    factories.holding(parcels=[garden], current_use="community_garden")
    finder.page.select_option("#search [name=touches_trust_land]", "true")
    search(finder)
    count_line(finder, "1 assemblage shown")
    assert "Q0, Q1" in finder.page.inner_text("#results tbody")
    finder.page.select_option("#search [name=touches_trust_land]", "")
    asked = [parse_qs(urlsplit(u).query) for u in finder.requests if "/api/assemblages?" in u]
    assert [(q.get("min_total_m2"), q["min_lots"]) for q in asked] == [
        (["2000"], ["2"]),
        (None, ["3"]),
        (None, ["2"]),
        (None, ["2"]),
    ]
    assert [q.get("touches_trust_land") for q in asked] == [None, None, None, ["true"]]
    assert not any("min_area_m2" in q for q in asked)

    search(finder, min_total_m2="2000")
    count_line(finder, "1 assemblage shown")
    finder.page.select_option("#search [name=mode]", "lots")  # a group's size is not a lot's
    assert not combined.is_visible()
    assert label_of(finder, "min_area_m2") == "Area from (m²)"
    search(finder)
    count_line(finder, "5 lots shown")
    (lots_asked,) = [parse_qs(urlsplit(u).query) for u in finder.requests
                     if "/api/vacant-lots?" in u]  # fmt: skip
    assert "min_total_m2" not in lots_asked and "min_lots" not in lots_asked


def test_the_mode_menu_results_and_attribution_are_told_apart(finder):
    # WCAG 2.4.6: the menu was labelled "Search", as the button that runs the search is.
    # (A select's name ends with its chosen option: "What to find Vacant lots".)
    page = finder.page
    assert page.get_by_label(re.compile(r"^What to find\b")).get_attribute("name") == "mode"
    assert page.get_by_label(re.compile(r"^Search\b")).count() == 0
    assert page.get_by_role("button", name="Search", exact=True).count() == 1
    # A table wider than its box (assemblages' lists of APNs) scrolls there: by keyboard too.
    results = page.get_by_role("region", name="Results table")
    results.focus()
    assert results.evaluate("box => box === document.activeElement")
    # The attribution's links are told from its text by more than colour (axe link-in-text-block).
    decorations = page.eval_on_selector_all(
        ".leaflet-control-attribution a",
        "links => links.map(a => getComputedStyle(a).textDecorationLine)",
    )
    assert decorations and set(decorations) == {"underline"}


def test_the_map_is_a_named_region_whose_drawn_lots_screen_readers_skip(finder):
    # WCAG 4.1.2: the map takes the focus (Leaflet's keyboard panning), and was an unnamed
    # group holding an unnamed image; the results table says the lots in words.
    lots(3)
    search(finder)
    count_line(finder, "3 lots shown")
    page = finder.page
    assert page.get_by_role("region", name="Map of the lots found", exact=True).count() == 1
    assert page.locator(".leaflet-overlay-pane path").count() == 3
    snapshot = page.locator("#map").aria_snapshot()
    assert "img" not in snapshot, snapshot


def test_holdings_and_an_assemblages_lots_open_in_the_admin_and_each_lot_shows_its_stage(finder):
    """The table showed the holdings' ids (8, 15, 25…) in a column of their own, an
    assemblage's APNs as plain text, and no lot's place in the acquisition pipeline."""
    held, first, second = lots(3)  # P001 touches P000, the garden; P002 touches P001
    garden = factories.holding(parcels=[held], name="Ewing St Garden")
    AcquisitionEvent.objects.create(parcel=first, stage="dropped", on=dt.date(2025, 4, 9),
                                    reason="Buried fuel tank")  # fmt: skip
    finder.page.select_option("#search [name=mode]", "adjacent")
    search(finder)
    count_line(finder, "1 lot shown")
    headings = finder.page.locator("#results thead th").all_inner_texts()
    assert "holding_ids" not in headings and "pipeline" in headings
    holding = finder.page.locator("#results tbody a", has_text="Ewing St Garden")
    assert holding.get_attribute("href") == f"/admin/parcels/holding/{garden.pk}/change/"
    row = finder.page.locator("#results tbody tr").inner_text()
    assert "Dropped on 2025-04-09: Buried fuel tank" in row

    finder.page.select_option("#search [name=mode]", "assemblages")
    search(finder)
    count_line(finder, "1 assemblage shown")
    for lot in (first, second):
        link = finder.page.locator("#results tbody a", has_text=lot.apn)
        assert link.get_attribute("href") == f"/admin/parcels/parcel/{lot.pk}/change/"
    assert "P001: Dropped on 2025-04-09: Buried fuel tank" in finder.page.inner_text("#results")

    finder.page.select_option("#search [name=mode]", "lots")
    finder.page.select_option("#search [name=pipeline]", "new")
    search(finder)
    count_line(finder, "1 lot shown")  # P002: P001 was dropped, P000 is the trust's
    asked = [parse_qs(urlsplit(u).query) for u in finder.requests if "/api/vacant-lots?" in u]
    assert asked[-1]["pipeline"] == ["new"]


def asked_lots(visit: Visit) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(u).query) for u in visit.requests if "/api/vacant-lots?" in u]


def box_of(visit: Visit, selector: str) -> dict[str, float]:
    return visit.page.locator(selector).bounding_box()


def test_a_search_near_a_point_shows_it_runs_stops_the_one_before_and_moves_the_map_to_it(
    finder, live_server, settings
):
    """At a million parcels a search takes seconds. The page showed the last answer meanwhile,
    unmarked, with the Search button live; an answer outside the map view was drawn where the
    map was, a pixel a lot; and a point could be searched near in the API only."""
    lots(105)
    page = finder.page
    page.emulate_media(reduced_motion="reduce")  # the map jumps to the results: no glide to wait
    # The map opens on the middle of lot P050 (no land is held): where the point is picked.
    settings.MAP_DEFAULT_CENTER = (LAT + SIDE / 2, LON + 50.5 * SIDE)
    page.goto(f"{live_server.url}/finder/")
    page.uncheck("input[name=in_view]")

    page.click("#pick-point")
    assert page.get_attribute("#pick-point", "aria-pressed") == "true"
    map_box = box_of(finder, "#map")
    page.mouse.click(map_box["x"] + map_box["width"] / 2, map_box["y"] + map_box["height"] / 2)
    assert page.get_attribute("#pick-point", "aria-pressed") == "false"
    assert page.locator("path.finder-point").count() == 1
    assert page.inner_text("#point").startswith("Near the point picked: ")
    search(finder, within_m="35")  # P049 and P051 touch P050; P048, P052 are 42 m away
    count_line(finder, "3 lots shown")
    lon, lat = map(float, asked_lots(finder)[-1]["near"][0].split(","))
    assert LON + 50 * SIDE < lon < LON + 51 * SIDE and LAT < lat < LAT + SIDE
    # The map went to the circle searched, and its lots: at the zoom the map opened at, the
    # circle was 17 px across and a lot 7 px wide.
    circle, map_box = box_of(finder, "path.finder-within"), box_of(finder, "#map")
    assert circle["height"] > 100
    assert map_box["y"] <= circle["y"]
    assert circle["y"] + circle["height"] <= map_box["y"] + map_box["height"]
    drawn = page.locator(".leaflet-overlay-pane path.leaflet-interactive:not(.finder-point)").all()
    assert len(drawn) == 3 and min(p.bounding_box()["width"] for p in drawn) > 40

    page.click("#clear-point")
    assert page.locator("path.finder-point").count() == 0
    assert page.inner_text("#point") == ""
    search(finder, within_m="")
    count_line(finder, "100 lots shown, more on the next page")
    assert "near" not in asked_lots(finder)[-1]

    # A search that takes its time: the last answer stays, marked as out of date.
    held = []
    page.route("**/api/vacant-lots?*",
               lambda route: route.continue_() if held else held.append(route))  # fmt: skip
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.select_option("#search [name=area_unit]", "acres")
    assert label_of(finder, "min_area_m2") == "Area from (acres)"
    search(finder, min_area_m2="0.2")  # a lot is about 940 m², 0.23 acres
    page.locator("#count", has_text="Searching…").wait_for(timeout=10_000)
    assert page.get_attribute("#results", "aria-busy") == "true"
    assert page.get_attribute("#map", "aria-busy") == "true"
    assert page.locator("#search button[type=submit]").is_disabled()
    assert page.locator("#results tbody tr").count() == 100
    assert page.eval_on_selector("#results", "t => getComputedStyle(t).opacity") == "0.4"
    # Going to page 2 meanwhile stops that search: its answer never lands.
    page.fill("#go-to-page [name=page]", "2")
    page.press("#go-to-page [name=page]", "Enter")
    count_line(finder, "5 lots shown on page 2")
    assert held and failed == [held[0].request.url]
    asked = asked_lots(finder)[-1]
    assert asked["min_acres"] == ["0.2"] and "min_area_m2" not in asked
    assert page.get_attribute("#results", "aria-busy") is None
    assert page.locator("#search button[type=submit]").is_enabled()
    assert page.input_value("#go-to-page [name=page]") == "2"
    page.fill("#go-to-page [name=page]", "9")
    page.press("#go-to-page [name=page]", "Enter")
    count_line(finder, "No lots on page 9: the search has fewer pages")

    # Only in the map view: the view was the question, and it stays.
    page.check("input[name=in_view]")
    for _ in range(2):
        search(finder)
        page.locator("#results:not([aria-busy])").wait_for(timeout=10_000)
    first, second = asked_lots(finder)[-2:]
    assert first["bbox"] == second["bbox"]
