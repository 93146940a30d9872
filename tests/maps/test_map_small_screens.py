"""The public map on small and zoomed phones, in a real headless Chromium (tests/browser.py):
the page never scrolls sideways (WCAG 1.4.10 Reflow, down to a 360-px phone at 200% zoom), a
popup's parcel number and dates are never broken across lines, and with large text the header
and the search still leave the map most of the screen (WCAG 1.4.4 Resize text)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import factories
from tests.browser import Visit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# The resident tester's parcel: a large lot (its area, "3.29 acres (143,108 sq ft)", is long too),
# in no neighbourhood or flood zone, so no long value widens the popup's value column.
APN, ADDRESS, ACQUIRED_ON = "164-114-004", "1419 Bell St", dt.date(2016, 2, 22)
# Lines of text a value is laid out on: its text's boxes, one per line (a block's own box is
# one however many lines it holds).
LINES_OF = (
    "e => { const range = document.createRange(); range.selectNodeContents(e);"
    " return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; }"
)
SCROLL_WIDTH = "() => document.documentElement.scrollWidth"


@pytest.fixture
def bell_street():
    parcel = factories.parcel(apn=APN, address=ADDRESS, geom=factories.lot(side_deg=0.0011))
    factories.holding(parcels=[parcel], acquired_on=ACQUIRED_ON)
    return parcel


def text_at_200_percent(visit: Visit) -> None:
    """Android's text scaling at 200%, as Chromium models it: the default font size the page's
    rem and em (its media queries' too) are measured in, 32 px instead of 16."""
    cdp = visit.context.new_cdp_session(visit.page)
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})


def value_of(page, label: str):
    """The popup's value (its <dd>) under `label` (its <dt>)."""
    return page.locator(f".leaflet-popup .clt-popup dt:text-is('{label}') + dd")


def test_the_map_page_never_scrolls_sideways_on_a_small_or_zoomed_screen(
    browser, live_server, bell_street
):
    # 180 x 370 is a 360 x 740 phone at 200% zoom; 240 and 280 wide, 480 high, are short
    # enough for the compact search, which did not shrink below its input's own width.
    with Visit(browser, **{**PHONE, "viewport": {"width": 180, "height": 370}}) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/?parcel={APN}")
        popup = page.locator(".leaflet-popup").bounding_box()  # its close button on screen too
        assert popup["x"] >= 0 and popup["x"] + popup["width"] <= 180, popup
        for width, height in ((180, 370), (240, 480), (280, 480), (320, 568), (740, 360)):
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(100)  # the map is fitted to the screen again
            assert page.evaluate(SCROLL_WIDTH) <= width, (width, height)
            page.goto(f"{live_server.url}/map/list/")  # the site's other pages' header too
            assert page.evaluate(SCROLL_WIDTH) <= width, ("list", width, height)
            page.go_back()
            button = page.locator(".clt-search button").bounding_box()
            assert button["x"] + button["width"] <= width + 1, (width, height, button)
        assert not visit.errors, visit.errors


def test_on_a_phone_a_popups_parcel_number_date_and_area_each_stay_on_one_line(
    browser, live_server, bell_street
):
    with Visit(browser, **PHONE) as visit:
        page = visit.page
        visit.open(f"{live_server.url}/map/?parcel={APN}")
        assert ADDRESS in visit.popup_text()
        values = {
            "Parcel number (APN)": APN,
            "Date the trust acquired it": ACQUIRED_ON.isoformat(),
            # In the units residents measure land in (the tile carries whole m²).
            "Area": f"{round(bell_street.area_m2) / 4046.8564224:.2f} acres "
            f"({round(round(bell_street.area_m2) / 0.09290304):,} sq ft)",
        }
        for label, shown in values.items():
            value = value_of(page, label)
            assert value.inner_text().startswith(shown), (label, value.inner_text())
            assert value.evaluate(LINES_OF) == 1, f"{label}: {value.inner_text()!r} is broken"
        assert not visit.errors, visit.errors


def test_with_large_text_the_header_and_search_leave_the_map_half_a_phones_screen(
    browser, live_server, bell_street
):
    with Visit(browser, **PHONE) as visit:
        page = visit.page
        text_at_200_percent(visit)
        # The street map loads (Visit's stand-in), as on a phone with a connection: a line
        # saying it could not would take a screen's share of its own under the search.
        visit.open(f"{live_server.url}/map/")
        assert page.evaluate("() => getComputedStyle(document.body).fontSize") == "32px"
        screen_height = page.viewport_size["height"]
        box = page.locator(".clt-map").bounding_box()
        shown = min(box["y"] + box["height"], screen_height) - max(box["y"], 0)
        assert shown >= 0.45 * screen_height, (box, screen_height)
        # Compacted, not hidden: the trust's name, the search's label and button are shown.
        for part in ("header.site .brand", ".clt-search label", ".clt-search button"):
            assert page.locator(part).is_visible(), part
        assert page.evaluate(SCROLL_WIDTH) <= page.viewport_size["width"]
        assert not visit.errors, visit.errors


def test_with_large_text_a_shared_parcel_s_popup_opens_on_a_small_phone_s_screen(
    browser, live_server, bell_street
):
    # A 320 x 568 phone with text at 200%: the header and the search leave the map below the
    # fold (the popup opened at y = 554 of 568), so the page scrolls down to it.
    width, height = 320, 568
    with Visit(browser, **{**PHONE, "viewport": {"width": width, "height": height}}) as visit:
        page = visit.page
        text_at_200_percent(visit)
        visit.open(f"{live_server.url}/map/?parcel={APN}")
        assert ADDRESS in visit.popup_text()
        page.wait_for_timeout(700)  # "Showing 1419 Bell St." is said, and the map fitted again
        popup = page.locator(".leaflet-popup-content-wrapper").bounding_box()
        assert popup["y"] >= 0 and popup["y"] + popup["height"] <= height, (popup, height)
        box = page.locator(".clt-map").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height + 1, box  # all of the map
        assert not visit.errors, visit.errors
