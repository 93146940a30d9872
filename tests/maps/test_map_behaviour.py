"""How the public map behaves for a resident, in a real headless Chromium: searches answered out
of order, a popup on a phone, the trust's layers failing to load, long words, the keyboard, the
URL after a new search, and the scale on a phone (tests/browser.py: Visit, the base map blocked).
And for one using a screen reader, the keyboard, forced colours or a 200% zoom (WCAG 2.2 AA):
how many a search found, a popup on a 320-px phone, a deep link's popup, the layer switcher.
And on a cheap phone on a slow network: the map's scripts not loading, the land failing to load
and loading again, the phone held sideways, a popup clear of the scale.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import Error as PlaywrightError

from maps.layers import USE_FILLS
from tests.browser import PARCEL_PATHS, Visit
from tests.maps import factories_map

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1200, "height": 800}}
SMALL_PHONE = {**PHONE, "viewport": {"width": 360, "height": 640}}
SIDEWAYS = {**PHONE, "viewport": {"width": 640, "height": 360}}
FARM_APN, FARM_ADDRESS = "170-001-011", "1202 Trust Way"  # factories_map.block's urban farm
LAND_NOT_LOADED = "The trust's land could not be loaded; check your connection and reload."
ACTIVE = "() => document.activeElement.id || document.activeElement.className"
IN_LAYER_LIST = "() => !!document.activeElement.closest('.leaflet-control-layers-list')"
# Whether the trust's land is drawn at a point of the page (x, y in CSS pixels).
PARCEL_AT = (
    "([x, y]) => !!document.elementFromPoint(x, y)?.closest('.leaflet-cltParcels-pane')"
)


@pytest.fixture
def block():
    return factories_map.block()


def search(page, q: str) -> None:
    page.fill("#clt-q", q)
    page.press("#clt-q", "Enter")


def status_of(page) -> str:
    return page.eval_on_selector("#clt-search-status", "e => e.textContent")


def wait_for_status(page, pattern: str) -> None:
    page.wait_for_function(
        "p => new RegExp(p).test(document.getElementById('clt-search-status').textContent)",
        arg=pattern,
        timeout=10_000,
    )


def popup_closed(page) -> None:
    page.locator(".leaflet-popup").wait_for(state="detached", timeout=5_000)


def overlap(box: dict, other: dict) -> bool:
    """Whether two bounding boxes share more than a pixel's rounding."""
    return (
        box["x"] < other["x"] + other["width"] - 1
        and other["x"] < box["x"] + box["width"] - 1
        and box["y"] < other["y"] + other["height"] - 1
        and other["y"] < box["y"] + box["height"] - 1
    )


def screen_of(page) -> dict:
    return {"x": 0, "y": 0, **page.viewport_size}


def scroll_popup_to_its_end(page) -> None:
    page.locator(".leaflet-popup-content").evaluate(
        "e => { e.scrollTop = e.scrollHeight; return new Promise(requestAnimationFrame); }"
    )


def within(box: dict, outer: dict) -> bool:
    """Whether the bounding `box` is inside `outer` (give or take a pixel's rounding)."""
    return (
        box["x"] >= outer["x"] - 1
        and box["y"] >= outer["y"] - 1
        and box["x"] + box["width"] <= outer["x"] + outer["width"] + 1
        and box["y"] + box["height"] <= outer["y"] + outer["height"] + 1
    )


def test_an_earlier_search_answering_late_never_replaces_the_later_one(browser, live_server, block):
    with Visit(browser, **PHONE) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/")
        held = []

        def hold_the_first(route):
            if "q=North" in route.request.url:
                held.append(route)  # a slow network: answered after the next search
            else:
                route.continue_()

        page.route("**/map/search.json*", hold_the_first)
        search(page, "North St")
        page.wait_for_function("() => document.getElementById('clt-search-status').textContent")
        search(page, FARM_APN)
        assert FARM_ADDRESS in visit.popup_text()
        assert held, "the first search was never asked"
        for route in held:
            with contextlib.suppress(PlaywrightError):  # or the page gave up on it: fine too
                route.continue_()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)  # a late answer would have been shown by now
        assert page.input_value("#clt-q") == FARM_APN
        assert status_of(page) == ""
        assert page.locator("#clt-search-results li").count() == 0
        assert FARM_ADDRESS in visit.popup_text()
        assert f"parcel={FARM_APN}" in page.url
        assert not visit.errors, visit.errors


def test_a_closest_match_is_offered_not_opened(browser, live_server, block):
    # One parcel found by a slip in the street ("Tsrut") is a guess: listed, with no popup
    # opened as if it were the address asked for.
    with Visit(browser, **PHONE) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/")
        search(page, "1202 Tsrut Way")
        wait_for_status(page, "No exact match")
        assert status_of(page) == "No exact match for “1202 Tsrut Way”. Did you mean this one?"
        assert page.locator(".leaflet-popup").count() == 0
        page.click("#clt-search-results li button")
        assert FARM_ADDRESS in visit.popup_text()
        assert not visit.errors, visit.errors


def test_on_a_phone_the_popup_a_search_opens_is_inside_the_map(browser, live_server, block):
    # Opened zoomed out and away from the lot (as the demo opens at z15): the search zooms
    # three levels in, which Leaflet animates unless told not to.
    lat, lon = factories_map.tile_corner(*factories_map.CORNER_TILE)[::-1]
    with Visit(browser, **PHONE) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/?lat={lat - 0.003:.6f}&lon={lon + 0.004:.6f}&z=15")
        search(page, FARM_APN)
        assert FARM_ADDRESS in visit.popup_text()
        page.wait_for_timeout(600)  # the auto-pan's animation (0.25 s) is over
        popup = page.locator(".leaflet-popup").bounding_box()
        map_box = page.locator(".clt-map").bounding_box()
        # Its top not under the search bar: clear of the map's top edge by the 56 px map.js
        # asks the auto-pan to keep (opened during the zoom animation, it was 3 px above it).
        assert popup["y"] >= map_box["y"] + 56 - 1, (popup, map_box)
        assert popup["y"] + popup["height"] <= map_box["y"] + map_box["height"], (popup, map_box)
        assert popup["x"] >= 0 and popup["x"] + popup["width"] <= 360, popup


@pytest.mark.parametrize("failure", ["aborted", "503"])
def test_when_the_trusts_layers_fail_to_load_the_status_says_so_once(
    browser, live_server, block, failure
):
    # The base map is blocked in every Visit: that alone is no failure of the trust's land.
    with Visit(browser, **PHONE) as visit:
        visit.open(f"{live_server.url}/map/")
        assert status_of(visit.page) == ""
    with Visit(browser, **PHONE) as visit:
        page = visit.page
        if failure == "aborted":
            page.route("**/tiles/**", lambda route: route.abort())
            page.route("**/map/layers/**", lambda route: route.abort())
        else:
            page.route("**/tiles/**", lambda route: route.fulfill(status=503, body="down"))
            page.route("**/map/layers/**", lambda route: route.fulfill(status=503, body="down"))
        page.goto(f"{live_server.url}/map/")
        wait_for_status(page, "could not be loaded")
        page.wait_for_load_state("networkidle")
        assert status_of(page) == LAND_NOT_LOADED  # once, however many tiles failed
        tiles = [url for url in visit.requests if "/tiles/" in url]
        assert len(tiles) > 1, tiles
        assert not visit.errors, visit.errors  # no uncaught "Failed to fetch"
        map_box = page.locator(".clt-map").bounding_box()
        assert map_box["y"] + map_box["height"] <= 740 + 1, map_box  # the line moved it down
        search(page, FARM_APN)  # the search still works
        assert FARM_ADDRESS in visit.popup_text()


def test_a_long_word_in_the_search_or_a_deep_link_never_widens_a_phones_page(
    browser, live_server, block
):
    width = "() => document.scrollingElement.scrollWidth"
    with Visit(browser, **PHONE) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/")
        search(page, "x" * 100)
        wait_for_status(page, "^No parcel found for")
        assert page.evaluate(width) <= 360, page.evaluate(width)
        visit.open(f"{live_server.url}/map/?parcel={'Y' * 100}")
        assert status_of(page).startswith("No parcel with APN")
        assert page.evaluate(width) <= 360, page.evaluate(width)


def test_escape_closes_a_popup_the_search_opened_and_gives_focus_back_to_the_search(
    browser, live_server, block
):
    with Visit(browser, **DESKTOP) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/")
        page.focus("#clt-q")
        page.keyboard.type(FARM_APN)
        page.keyboard.press("Enter")
        assert FARM_ADDRESS in visit.popup_text()
        assert page.evaluate("() => !!document.activeElement.closest('.leaflet-popup')")
        page.keyboard.press("Escape")
        popup_closed(page)
        assert page.evaluate(ACTIVE) == "clt-q"
        assert "parcel=" not in page.url
        # Its close button, from the keyboard, too: focus does not fall to the page's start.
        page.keyboard.press("Enter")
        assert FARM_ADDRESS in visit.popup_text()
        page.keyboard.press("Tab")
        assert "leaflet-popup-close-button" in page.evaluate(ACTIVE)
        page.keyboard.press("Enter")
        popup_closed(page)
        assert page.evaluate(ACTIVE) == "clt-q"
        assert not visit.errors, visit.errors


def test_a_new_search_closes_the_last_parcels_popup_and_drops_it_from_the_url(
    browser, live_server, block
):
    with Visit(browser, **DESKTOP) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/")
        search(page, FARM_APN)
        assert FARM_ADDRESS in visit.popup_text()
        assert f"parcel={FARM_APN}" in page.url
        search(page, "North St")
        wait_for_status(page, "^Showing")
        popup_closed(page)
        assert "parcel=" not in page.url
        assert re.search(r"[?&]lat=.*&z=\d+$", page.url), page.url  # still where it was
        assert status_of(page) == (
            "Showing 10; there are more — type more of the address (the house number) or the APN."
        )
        search(page, "Nowhere Lane")  # nothing found: nor is the parcel before it shown
        wait_for_status(page, "^No parcel found")
        assert page.locator(".leaflet-popup").count() == 0 and "parcel=" not in page.url
        assert not visit.errors, visit.errors


def test_on_a_phone_the_attribution_leaves_the_scale_readable(browser, live_server, block):
    with Visit(browser, **PHONE) as visit:
        visit.open(f"{live_server.url}/map/")
        scale = visit.page.locator(".leaflet-control-scale").bounding_box()
        credit = visit.page.locator(".leaflet-control-attribution").bounding_box()
        apart = (
            scale["y"] + scale["height"] <= credit["y"]
            or scale["x"] + scale["width"] <= credit["x"]
        )
        assert apart, (scale, credit)
        map_box = visit.page.locator(".clt-map").bounding_box()
        assert credit["y"] + credit["height"] <= map_box["y"] + map_box["height"] + 1, credit


def test_a_search_with_a_few_results_says_how_many_in_a_named_list_of_bordered_buttons(
    browser, live_server, block
):
    with Visit(browser, **DESKTOP) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/")
        search(page, "Trust Way")
        wait_for_status(page, "found")
        # Said in the live region: the list alone, silent, left a screen reader guessing.
        assert status_of(page) == "7 parcels found: choose one below."
        assert page.locator("#clt-search-results li").count() == 7
        assert page.get_attribute("#clt-search-results", "aria-label") == "Search results"
        # In forced colours (Windows high contrast) a border is what draws a button.
        page.emulate_media(forced_colors="active")
        borders = page.evaluate(
            "() => [...document.querySelectorAll('#clt-search button')].map(b => {"
            " const s = getComputedStyle(b); return s.borderTopStyle + ' ' + s.borderTopWidth; })"
        )
        assert set(borders) == {"solid 1px"}, borders
        page.locator("#clt-search-results button").first.click()
        visit.popup_text()
        # The page's <h1> is the map's: a popup's heading is the next level down.
        assert page.locator(".leaflet-popup h2").count() == 1
        assert page.locator(".leaflet-popup h3").count() == 0
        assert not visit.errors, visit.errors


def test_on_a_320_px_phone_or_at_200_percent_zoom_a_popup_fits_and_scrolls_to_its_contact(
    browser, live_server, block
):
    with Visit(browser, viewport={"width": 320, "height": 640}) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/?parcel={FARM_APN}")
        wait_for_status(page, "^Showing")  # the line moved the map down: the popup is refitted
        # Then a laptop at 200%: the window resized, the open popup is fitted again.
        for viewport in ({"width": 320, "height": 640}, {"width": 683, "height": 384}):
            page.set_viewport_size(viewport)
            page.wait_for_timeout(400)  # the auto-pan's animation (0.25 s) is over
            popup = page.locator(".leaflet-popup").bounding_box()
            map_box = page.locator(".clt-map").bounding_box()
            assert within(popup, map_box), (viewport, popup, map_box)
            content = page.locator(".leaflet-popup-content")
            assert content.evaluate("e => e.scrollHeight > e.clientHeight"), viewport
            assert content.get_attribute("tabindex") == "0"  # reached by Tab, to scroll
            content.focus()
            page.keyboard.press("End")
            content.evaluate(  # a smooth scroll, to its end
                "e => new Promise(done => (function end() {"
                " e.scrollTop + e.clientHeight >= e.scrollHeight - 1"
                " ? done() : requestAnimationFrame(end); })())"
            )
            contact = page.locator(".clt-popup-contact").bounding_box()
            shown = content.bounding_box()
            assert within(contact, shown), (viewport, contact, shown)
        assert not visit.errors, visit.errors


def test_escape_closes_a_deep_linked_popup_which_the_status_line_names(browser, live_server, block):
    with Visit(browser, **DESKTOP) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/?parcel={FARM_APN}")
        wait_for_status(page, "^Showing")
        assert status_of(page) == f"Showing {FARM_ADDRESS}."
        page.focus("#clt-q")
        for _ in range(6):  # the search button, the map, then the popup's close button
            page.keyboard.press("Tab")
            if "leaflet-popup-close-button" in page.evaluate(ACTIVE):
                break
        assert "leaflet-popup-close-button" in page.evaluate(ACTIVE)
        page.keyboard.press("Escape")
        popup_closed(page)
        # Back where the focus came into the popup from: the map, not the page's start.
        assert page.evaluate("() => document.activeElement === CLTMap.state.map.getContainer()")
        assert status_of(page) == ""
        assert "parcel=" not in page.url
        assert not visit.errors, visit.errors


def test_the_layer_switcher_and_a_circles_count_answer_the_keyboard(browser, live_server, block):
    point = block.leased.geom.point_on_surface
    with Visit(browser, **DESKTOP) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/?lat={point.y:.6f}&lon={point.x:.6f}&z=11")
        control = page.locator(".leaflet-control-layers")

        def expanded() -> bool:
            return "leaflet-control-layers-expanded" in control.get_attribute("class")

        toggle = page.locator(".leaflet-control-layers-toggle")
        assert toggle.get_attribute("aria-expanded") == "false"
        toggle.focus()
        page.keyboard.press("Space")
        assert expanded() and page.evaluate(IN_LAYER_LIST)
        page.keyboard.press("Escape")
        assert not expanded() and "leaflet-control-layers-toggle" in page.evaluate(ACTIVE)
        page.keyboard.press("Enter")
        assert expanded() and page.evaluate(IN_LAYER_LIST)
        page.keyboard.press("Shift+Tab")  # out of the switcher, to the zoom buttons
        assert not expanded()
        # A pointer still opens it on hover, and a click on the map still closes it.
        control.hover()
        assert expanded()
        map_box = page.locator(".clt-map").bounding_box()
        page.mouse.click(map_box["x"] + 200, map_box["y"] + map_box["height"] - 100)
        assert not expanded()
        # A circle's count, shown on hover, is hidden by Escape with the pointer on it.
        farm = page.locator(
            f".leaflet-cltParcels-pane svg path[fill='{USE_FILLS['urban_farm']}']"
        ).first.bounding_box()
        page.mouse.move(farm["x"] + farm["width"] / 2, farm["y"] + farm["height"] / 2)
        page.locator(".clt-cell-tip").wait_for()
        page.keyboard.press("Escape")
        page.locator(".clt-cell-tip").wait_for(state="detached", timeout=2_000)  # a 0.2 s fade
        assert not visit.errors, visit.errors


@pytest.mark.parametrize("script", ["leaflet.js", "vectorgrid.min.js"])
def test_when_a_script_of_the_map_does_not_load_the_map_says_so_and_the_search_still_answers(
    browser, live_server, block, script
):
    with Visit(browser, **PHONE) as visit:
        page = visit.page
        page.route(f"**/{script}", lambda route: route.abort())
        page.goto(f"{live_server.url}/map/")
        failed = page.locator("#clt-map-failed")
        failed.wait_for(state="visible", timeout=10_000)
        assert failed.inner_text().startswith(
            "The map could not load; check your connection and reload."
        )
        assert within(failed.bounding_box(), page.locator(".clt-map").bounding_box())
        # No script catches the search: the form itself asks, and gets a page of links.
        search(page, FARM_ADDRESS)
        page.wait_for_url("**/map/search/?q=*")
        link = page.locator(f"a[href='/map/?parcel={FARM_APN}']")
        assert link.inner_text() == f"{FARM_ADDRESS} — {FARM_APN}"


def test_the_land_not_loaded_line_goes_when_the_land_loads_and_comes_back_when_it_fails_again(
    browser, live_server, block
):
    farm = next(p for p in block.trust if p.apn == FARM_APN).geom.point_on_surface
    network = {"down": True}

    def trust_tiles(route):
        route.abort() if network["down"] else route.continue_()

    with Visit(browser, **PHONE) as visit:
        page = visit.page
        page.route("**/tiles/**", trust_tiles)
        page.goto(f"{live_server.url}/map/?lat={farm.y:.6f}&lon={farm.x:.6f}&z=18")
        wait_for_status(page, "could not be loaded")
        assert page.evaluate(f"() => {PARCEL_PATHS}") == 0
        assert page.locator("#clt-map-failed").is_hidden()  # the map itself did load
        network["down"] = False
        page.evaluate("() => CLTMap.state.map.panBy([0, 300], {animate: false})")
        wait_for_status(page, "^$")
        # Where the land failed to load, it is fetched again: the farm is drawn, and answers.
        page.evaluate("() => CLTMap.state.map.panBy([0, -300], {animate: false})")
        # Drawn where the farm is, not only idle: on a loaded machine the tile was asked for
        # after the network went idle, and the click met the neighbourhood under it.
        page.wait_for_function(PARCEL_AT, arg=list(visit.point_of(farm.y, farm.x)),
                               timeout=10_000)
        visit.click_at(farm.y, farm.x)
        assert FARM_ADDRESS in visit.popup_text()
        network["down"] = True
        page.evaluate("() => CLTMap.state.map.setView([32.35, -90.25], 17, {animate: false})")
        wait_for_status(page, "could not be loaded")
        assert status_of(page) == LAND_NOT_LOADED
        assert not visit.errors, visit.errors


def test_on_a_phone_held_sideways_a_deep_linked_parcel_and_its_popup_are_on_the_screen(
    browser, live_server, block
):
    farm = next(p for p in block.trust if p.apn == FARM_APN).geom.point_on_surface
    with Visit(browser, **SIDEWAYS) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/?parcel={FARM_APN}")
        wait_for_status(page, "^Showing")  # the line moved the map down: refitted
        # As opened, turned upright, then back on its side: refitted each time.
        for viewport in (None, {"width": 360, "height": 640}, {"width": 640, "height": 360}):
            if viewport:
                page.set_viewport_size(viewport)
            page.wait_for_timeout(400)  # the auto-pan's animation (0.25 s) is over
            screen = screen_of(page)
            assert within(page.locator(".clt-map").bounding_box(), screen), screen
            x, y = visit.point_of(farm.y, farm.x)
            assert 0 <= x <= screen["width"] and 0 <= y <= screen["height"], (x, y, screen)
            assert within(page.locator(".leaflet-popup").bounding_box(), screen), screen
            scroll_popup_to_its_end(page)
            contact = page.locator(".clt-popup-contact").bounding_box()
            assert within(contact, page.locator(".leaflet-popup-content").bounding_box())
            assert within(contact, screen), (contact, screen)
        assert not visit.errors, visit.errors


def test_on_a_phone_a_popup_stays_clear_of_the_scale(browser, live_server, block):
    with Visit(browser, **SMALL_PHONE) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/?parcel={FARM_APN}")
        wait_for_status(page, "^Showing")
        page.wait_for_timeout(400)  # the auto-pan's animation (0.25 s) is over
        popup = page.locator(".leaflet-popup").bounding_box()
        scale = page.locator(".leaflet-control-scale").bounding_box()
        assert not overlap(popup, scale), (popup, scale)
        assert within(popup, page.locator(".clt-map").bounding_box())


def test_an_easement_is_a_line_over_the_lots_it_covers_and_a_click_inside_reaches_the_lot(
    browser, live_server, block
):
    # Drawn under the parcels, as it first was, the farm's fill hid the easement over it.
    from tests import factories

    farm = next(p for p in block.trust if p.apn == FARM_APN)
    factories.easement(name="Trust Way farmland easement", geom=farm.geom)
    inside = farm.geom.point_on_surface
    with Visit(browser, **DESKTOP) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/?lat={inside.y}&lon={inside.x}&z=18")
        line = page.locator(".leaflet-cltBoundaries-pane path")
        line.first.wait_for(timeout=10_000)
        assert line.first.get_attribute("fill") == "none"
        assert line.first.get_attribute("stroke-dasharray") == "8 5"
        assert page.evaluate(PARCEL_AT, list(visit.point_of(inside.y, inside.x)))
        visit.click_at(inside.y, inside.x)
        assert FARM_ADDRESS in visit.popup_text()
        page.keyboard.press("Escape")
        page.locator(".leaflet-popup").wait_for(state="detached")
        lon, lat = farm.geom[0][0][0]  # a corner of the farm: on the easement's line
        visit.click_at(lat, lon)
        assert "Trust Way farmland easement" in visit.popup_text()
        assert not visit.errors, visit.errors
