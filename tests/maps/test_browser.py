"""A resident's walk-through of /map/ in a real headless Chromium (Debian's, driven by
Playwright): nothing loads from outside the app but the base map, which is blocked here to
prove the trust's layers draw without it; parcels render from vector tiles; clicking one opens
its popup; search finds an APN; the page works on a 360-px-wide phone. Screenshots go to
artifacts/ (git-ignored).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Polygon

from maps.layers import USE_FILLS
from parcels.models import Overlay
from tests import factories
from tests.browser import ARTIFACTS, PARCEL_PATHS, PARCELS_DRAWN, Visit
from tests.maps import factories_map

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def luminance(hex_colour: str) -> float:
    """WCAG's relative luminance of "#rrggbb"."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two colours."""
    light, dark = sorted([luminance(a), luminance(b)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def hue(hex_colour: str) -> float:
    import colorsys

    return colorsys.rgb_to_hsv(*(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)))[0]


def centre(parcel) -> tuple[float, float]:
    point = parcel.geom.point_on_surface
    return point.y, point.x


@pytest.fixture
def block():
    return factories_map.block()


def test_a_resident_finds_the_trusts_land_without_any_third_party(browser, live_server, block):
    lat, lon = centre(block.leased)
    with Visit(browser, basemap_blocked=True, viewport={"width": 1200, "height": 800}) as visit:
        visit.open(f"{live_server.url}/map/?lat={lat:.6f}&lon={lon:.6f}&z=18")
        basemap = urlsplit(settings.BASEMAP_URL).hostname
        app = urlsplit(live_server.url).hostname
        assert visit.hosts() <= {app, basemap}, visit.hosts()
        assert basemap in visit.hosts()  # it was asked for, blocked, and the map drew anyway
        visit.page.locator("#clt-search-status", has_text="The street map is not available "
                           "right now; the trust's land is shown without it.").wait_for()
        assert any("/tiles/trust-land/18/" in url for url in visit.requests)
        assert visit.page.evaluate(f"() => {PARCEL_PATHS}") > 0
        assert not [m for m in visit.console if "Content Security Policy" in m], visit.console
        assert not visit.errors, visit.errors

        visit.click_at(lat, lon)
        text = visit.popup_text()
        assert "1200 Trust Way" in text
        assert "Single-family home" in text
        assert "Contact the trust: Lumumba Center" in text
        assert visit.page.locator(".leaflet-popup .clt-popup-apply").count() == 0  # leased
        assert f"parcel={block.leased.apn}" in visit.page.url  # the URL now links to it
        ARTIFACTS.mkdir(exist_ok=True)
        visit.page.screenshot(path=ARTIFACTS / "map-desktop.png")


def test_search_finds_an_apn_and_opens_its_popup(browser, live_server, block):
    farm = next(p for p in block.trust if p.apn.startswith("170-001-"))
    Overlay.objects.create(kind="flood-zone", name="Town Creek AE", geom=farm.geom)
    with Visit(browser, viewport={"width": 1200, "height": 800}) as visit:
        visit.open(f"{live_server.url}/map/")
        visit.page.fill("#clt-q", farm.apn)
        visit.page.press("#clt-q", "Enter")
        text = visit.popup_text()
        assert farm.address in text
        assert "Urban farm" in text
        # A farm is known by its name (its holding's), its address under it.
        assert visit.page.inner_text(".leaflet-popup h2") == "Holding urban_farm"
        # What the farm lies in, asked as the popup opens ("is it in a flood zone?").
        # In a live region: they come after a search's popup took the focus.
        area = visit.page.locator(".leaflet-popup .clt-popup-areas[aria-live=polite] dd")
        area.first.wait_for()
        assert area.all_inner_texts() == ["Town Creek AE", "Trust Way Neighbourhood"]
        # Unanswered, the popup says so: silence would read as "in no flood zone".
        visit.page.route("**/map/areas.json*", lambda route: route.fulfill(status=503))
        visit.page.fill("#clt-q", farm.apn)
        visit.page.press("#clt-q", "Enter")
        visit.page.locator(".leaflet-popup .clt-popup-area",
                           has_text="Could not be checked just now").wait_for()
        visit.page.unroute("**/map/areas.json*")
        visit.page.wait_for_function(PARCELS_DRAWN)
        # What is left of "X'" is one letter: the server's 400, said without the API's words
        visit.page.fill("#clt-q", "X'")
        visit.page.press("#clt-q", "Enter")
        status = visit.page.locator("#clt-search-status")
        expected = "Type at least 2 letters or digits of an address or APN."
        visit.page.wait_for_function(
            f"() => document.getElementById('clt-search-status').textContent === {expected!r}"
        )
        assert status.inner_text() == expected
        assert not visit.errors, visit.errors


def test_zoomed_out_trust_land_is_circles_in_its_uses_colours_that_zoom_in(
    browser, live_server, block
):
    lat, lon = centre(block.leased)
    with Visit(browser, viewport={"width": 1200, "height": 800}) as visit:
        visit.open(f"{live_server.url}/map/?lat={lat:.6f}&lon={lon:.6f}&z=11")
        fills = visit.page.evaluate(
            "() => [...document.querySelectorAll('.leaflet-cltParcels-pane svg path')]"
            ".map(p => p.getAttribute('fill'))"
        )
        assert {USE_FILLS["urban_farm"], USE_FILLS["single_family_home"]} <= set(fills), fills
        # Homes available now are rings around the uses' circles, never covering them.
        rings = visit.page.locator(".leaflet-cltParcels-pane svg path[stroke='#17becf']")
        assert rings.count() and rings.first.get_attribute("fill") == "none"
        farm = visit.page.locator(
            f".leaflet-cltParcels-pane svg path[fill='{USE_FILLS['urban_farm']}']"
        ).first.bounding_box()
        x, y = farm["x"] + farm["width"] / 2, farm["y"] + farm["height"] / 2
        on_top = f"() => document.elementFromPoint({x}, {y}).getAttribute('fill')"
        assert visit.page.evaluate(on_top) == USE_FILLS["urban_farm"]
        visit.page.mouse.move(x, y)  # pointing at a circle says how many lots, and what
        tip = visit.page.locator(".clt-cell-tip")
        tip.wait_for()
        assert re.fullmatch(
            r"Land held by the trust: \d+ lots? \(Urban farm\)\. Tap or click to zoom in\.",
            tip.inner_text(),
        ), tip.inner_text()
        box = tip.bounding_box()  # WCAG 1.4.13: the pointer may move onto the count, to read it
        visit.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=4)
        visit.page.wait_for_timeout(500)
        assert tip.is_visible()
        visit.page.mouse.dblclick(x, y)  # a double click too goes to the lots, not one zoom in
        visit.page.wait_for_function("() => CLTMap.state.map.getZoom() >= 13")
        outline = visit.page.locator(
            f".leaflet-cltParcels-pane svg path[fill='{USE_FILLS['urban_farm']}']"
        ).first
        outline.wait_for()
        # Lots in a darker shade of their colour, to be seen against the base map (WCAG 1.4.11).
        stroke = outline.get_attribute("stroke")
        for ground in ("#f2efe9", "#e0dfdf", "#dddddd"):  # OSM's land, its residential; none
            assert contrast(stroke, ground) >= 3.2, (stroke, ground)
        assert hue(stroke) == pytest.approx(hue(USE_FILLS["urban_farm"]), abs=0.02)
        # The count went with its circle (the pointer may now rest on a county count instead).
        tips = visit.page.evaluate(
            "() => [...document.querySelectorAll('.clt-cell-tip')].map(e => e.textContent)"
        )
        assert not [text for text in tips if "Urban farm" in text], tips
        assert not visit.errors, visit.errors


def test_a_circle_on_a_tile_edge_is_drawn_whole(browser, live_server):
    # 25 small farm lots just west of the edge between two z11 tiles: one circle, and each
    # tile clips what it draws at its own edge, so the half east of the edge is the
    # neighbour's to draw.
    edge_lon, top_lat = factories_map.tile_corner(11, 511, 829)
    pixel = 360 / 2**11 / 256  # degrees of longitude at z11
    lon, lat = edge_lon - pixel, top_lat - 128 * pixel
    lots = [
        factories.parcel(geom=MultiPolygon(Polygon.from_bbox(box), srid=4326))
        for box in (
            (lon + dx, lat + dy, lon + dx + pixel / 20, lat + dy + pixel / 20)
            for dx in (-2 * pixel / 10, -pixel / 10, 0, pixel / 10, 2 * pixel / 10)
            for dy in (-2 * pixel / 10, -pixel / 10, 0, pixel / 10, 2 * pixel / 10)
        )
    ]
    factories.holding(parcels=lots, current_use="urban_farm")
    with Visit(browser, viewport={"width": 800, "height": 600}) as visit:
        visit.open(f"{live_server.url}/map/?lat={lat:.6f}&lon={edge_lon:.6f}&z=11")
        x, y = visit.point_of(lat, edge_lon)
        fill_at = "([x, y]) => document.elementFromPoint(x, y).getAttribute('fill')"
        for dx in (-3, -1.5, 1.5):  # the circle's radius is 3.7 px, its centre 1 px west
            assert visit.page.evaluate(fill_at, [x + dx, y]) == USE_FILLS["urban_farm"], dx
        assert not visit.errors, visit.errors


def test_a_first_visit_loads_tiles_only_at_the_zoom_it_shows(browser, live_server, block):
    # Fitted to the trust's land from the default zoom: an animated fit kept the default zoom
    # while the layers were added, so each first loaded the tiles of a view never shown.
    with Visit(browser, viewport={"width": 360, "height": 740}) as visit:
        visit.open(f"{live_server.url}/map/")
        zoom = visit.page.evaluate("() => CLTMap.state.map.getZoom()")
        assert zoom != settings.MAP_DEFAULT_ZOOM  # the fit changed the zoom
        zooms = {
            re.search(r"/tiles/[^/]+/(\d+)/", url)[1] for url in visit.requests if "/tiles/" in url
        }
        assert zooms == {str(zoom)}


@pytest.mark.parametrize("mobile", [True, False], ids=["mobile-viewport", "narrow-window"])
def test_the_map_works_on_a_360_px_phone(browser, live_server, block, settings, mobile):
    # A trust's full name wraps the header onto more lines: the map must still fit below it.
    settings.CLT_NAME = "Fannie Lou Hamer Community Land Trust of Cooperation Jackson (demo)"
    settings.CLT_CONTACT = "Lumumba Center. Call (601) 555-0142 or write info@example.org"
    settings.CLT_HOW_TO_APPLY = "Apply at https://example.org/apply."
    with Visit(
        browser,
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=mobile,
        has_touch=True,
    ) as visit:
        visit.open(f"{live_server.url}/map/?parcel={block.available[0].apn}")
        assert "Held vacant" in visit.popup_text()
        links = visit.page.locator(".leaflet-popup .clt-popup-contact a")  # a phone calls it
        assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
            "tel:+16015550142", "mailto:info@example.org"
        ]
        apply = visit.page.locator(".leaflet-popup .clt-popup-apply")  # it is offered now
        assert apply.inner_text() == settings.CLT_HOW_TO_APPLY
        assert apply.locator("a").get_attribute("href") == "https://example.org/apply"
        visit.page.wait_for_timeout(500)  # the map pans to show the popup whole
        popup = visit.page.locator(".leaflet-popup").bounding_box()
        assert popup["x"] >= 0 and popup["x"] + popup["width"] <= 360, popup  # all on screen
        width = visit.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, f"the page scrolls sideways ({width} px)"
        box = visit.page.locator(".clt-map").bounding_box()
        assert box["width"] <= 360 and box["height"] >= 300
        assert box["y"] + box["height"] <= 740 + 1, box  # its foot (attribution) on screen too
        assert visit.page.locator("#clt-q").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        visit.page.screenshot(path=ARTIFACTS / "map-phone.png", full_page=True)


def test_a_keyboard_user_lands_on_the_popup_of_the_result_they_chose(browser, live_server, block):
    with Visit(browser, viewport={"width": 1200, "height": 800}) as visit:
        visit.open(f"{live_server.url}/map/")
        page = visit.page
        assert page.locator("h1").inner_text().startswith("Map of the land held by")
        region = page.locator(".clt-map")
        assert region.get_attribute("role") == "region" and region.get_attribute("aria-label")
        panes = ["cltParcels", "cltOverlay-neighbourhoods", "cltOverlay-flood-zones"]
        page.wait_for_function(f"() => !!document.querySelector('.leaflet-{panes[-1]}-pane')")
        hidden_and_stacked = page.evaluate(
            f"() => {panes}.map(name => {{ const pane = document.querySelector("
            "'.leaflet-' + name + '-pane'); "
            "return [pane.getAttribute('aria-hidden'), Number(pane.style.zIndex)]; })"
        )
        assert [hidden for hidden, _ in hidden_and_stacked] == ["true"] * 3
        # Flood zones over the neighbourhoods (a tap on one inside a neighbourhood reaches
        # it), both under the parcels.
        parcels, neighbourhoods, flood_zones = (z for _, z in hidden_and_stacked)
        assert neighbourhoods < flood_zones < parcels
        page.fill("#clt-q", "Trust Way")
        page.press("#clt-q", "Enter")
        first = page.locator("#clt-search-results button").first
        first.wait_for()
        first.focus()
        page.keyboard.press("Enter")
        page.locator(".leaflet-popup").wait_for()
        assert page.evaluate(
            "() => !!document.activeElement.closest('.leaflet-popup')"
        ), "focus fell back to the page instead of the popup the result opened"


def test_layers_switched_off_stay_off_in_the_link_and_a_reload(browser, live_server, block):
    with Visit(browser, viewport={"width": 1200, "height": 800}) as visit:
        visit.open(f"{live_server.url}/map/?off=neighbourhoods")
        page = visit.page
        shown = "name => CLTMap.state.map.hasLayer(CLTMap.state.layers[name].layer)"
        assert page.evaluate(f"({shown})('neighbourhoods')") is False
        assert page.evaluate(f"({shown})('flood-zones')") is True
        page.locator(".leaflet-control-layers").hover()  # the switcher opens
        box = page.get_by_label("Flood zones")
        box.uncheck()
        page.wait_for_function("() => location.search.includes('off=flood-zones%2Cneighbourhoods')")
        page.get_by_label("Neighbourhoods").check()
        page.wait_for_function("() => /off=flood-zones(&|$)/.test(location.search)")
        page.reload()
        page.wait_for_function(PARCELS_DRAWN)
        assert page.evaluate(f"({shown})('flood-zones')") is False
        assert page.evaluate(f"({shown})('neighbourhoods')") is True
        assert not visit.errors, visit.errors
