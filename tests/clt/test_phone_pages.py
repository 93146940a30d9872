"""The site's pages on a 360-px-wide phone, in a real headless Chromium: a resident finds the map
from the front page, and staff can use the finder and read the report without the page
scrolling sideways (a wide table scrolls in its own box), and the OGC API's pages fit even a
320 px one. The map itself has its own phone test in tests/maps/test_browser.py."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests import factories
from tests.browser import ARTIFACTS, PARCELS_DRAWN, Visit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
PAGE_WIDTH = "() => document.documentElement.scrollWidth"


@pytest.fixture
def held_lot():
    return factories.holding(parcels=[factories.parcel()], available=True)


def phone(browser, live_server, *, staff: bool = False, width: int = 360) -> Visit:
    visit = Visit(browser, **{**PHONE, "viewport": {**PHONE["viewport"], "width": width}})
    if staff:
        client = Client()
        client.force_login(User.objects.create_superuser("fannie", password="x"))
        cookie = client.cookies["sessionid"]
        host = urlsplit(live_server.url).hostname
        visit.context.add_cookies([{"name": "sessionid", "value": cookie.value, "domain": host,
                                    "path": "/"}])  # fmt: skip
    return visit


def assert_fits_the_phone(visit: Visit, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    visit.page.screenshot(path=ARTIFACTS / f"{name}-phone.png", full_page=True)
    width, phone_px = visit.page.evaluate(PAGE_WIDTH), visit.page.viewport_size["width"]
    assert width <= phone_px, (
        f"{name}: the page scrolls sideways ({width} px on a {phone_px} px phone)"
    )


def test_a_resident_gets_from_the_front_page_to_the_map(browser, live_server, held_lot):
    visit = phone(browser, live_server)
    try:
        visit.page.goto(f"{live_server.url}/")
        assert "1 home or lot available now" in " ".join(visit.page.inner_text("main").split())
        assert visit.page.locator("header.site nav a", has_text="Map").count() == 1
        assert_fits_the_phone(visit, "home")
        visit.page.click("#to-map")
        visit.page.wait_for_function(PARCELS_DRAWN, timeout=20_000)
        assert urlsplit(visit.page.url).path == "/map/"
    finally:
        visit.close()


def test_the_finder_works_on_a_phone_and_opens_on_the_trusts_land(browser, live_server, held_lot):
    held = held_lot.parcels.get().geom.centroid
    vacant = factories.parcel(geom=factories.lot(held.x + 0.0004, held.y - 0.00015))
    visit = phone(browser, live_server, staff=True)
    try:
        visit.page.goto(f"{live_server.url}/finder/")
        form = visit.page.locator("#search").bounding_box()
        box = visit.page.locator("#map").bounding_box()
        assert box["width"] >= 300, f"the map is {box['width']:.0f} px wide"
        assert box["y"] >= form["y"] + form["height"]  # under the form, not squeezed beside it
        visit.page.click("#search button[type=submit]")
        visit.page.locator("#results tbody", has_text=vacant.apn).wait_for(timeout=10_000)
        # "Only in the map view" sent the view: it was opened on the land held, not a fixed point.
        (asked,) = [url for url in visit.requests if "/api/vacant-lots?" in url]
        west, south, east, north = map(float, parse_qs(urlsplit(asked).query)["bbox"][0].split(","))
        assert abs((west + east) / 2 - held.x) < 0.0003
        assert abs((south + north) / 2 - held.y) < 0.0003
        assert_fits_the_phone(visit, "finder")
    finally:
        visit.close()


def test_the_report_tables_scroll_in_their_own_box_on_a_phone(browser, live_server, held_lot):
    visit = phone(browser, live_server, staff=True)
    try:
        visit.page.goto(f"{live_server.url}/staff/report/")
        assert visit.page.locator("#resales").bounding_box()["width"] > 360  # ten columns...
        assert_fits_the_phone(visit, "report")  # ...and yet the page does not scroll sideways
        # ...and a keyboard reaches the box to scroll it, with the focus drawn round it.
        box = visit.page.get_by_role("region", name="Resales table")
        box.focus()
        assert box.evaluate("b => b === document.activeElement")
        visit.page.keyboard.press("ArrowRight")  # scrolls smoothly: wait for it to move
        visit.page.wait_for_function("() => document.activeElement.scrollLeft > 0", timeout=5_000)
        assert box.evaluate("b => getComputedStyle(b).outlineStyle") == "solid"
    finally:
        visit.close()


def test_a_lease_page_with_its_history_fits_a_phone(browser, live_server):
    lease = factories.lease()
    lease.fee_monthly = lease.fee_monthly + 5  # a second history event, with its changes listed
    lease.save()
    visit = phone(browser, live_server, staff=True)
    try:
        visit.page.goto(f"{live_server.url}/admin/leases/groundlease/{lease.pk}/change/")
        assert visit.page.locator("table.clt-history tbody tr").count() >= 2
        assert_fits_the_phone(visit, "lease-admin")
    finally:
        visit.close()


def test_a_lease_history_page_fits_a_phone_its_table_scrolling_in_its_own_box(browser, live_server):
    # Every history page was 664 px wide on a 360 px phone: the admin's stylesheet, with the
    # table's box, was not on it (QA: lease administrator, finding 5).
    lease = factories.lease()
    lease.arrears, lease.notes = lease.arrears + 75, "Lease assumed by heir " * 4
    lease.save()
    visit = phone(browser, live_server, staff=True)
    try:
        visit.page.goto(f"{live_server.url}/admin/leases/groundlease/{lease.pk}/history/")
        assert visit.page.locator("table.clt-history tbody tr").count() >= 2
        box = visit.page.get_by_role("region", name="History table")
        assert box.evaluate("b => getComputedStyle(b).overflowX") == "auto"
        assert_fits_the_phone(visit, "lease-history")
    finally:
        visit.close()


REFLOW_PX = 320  # WCAG 1.4.10's width: what fits it fits every wider phone (360, 390...)
OGC_PAGES = [
    "/ogcapi/",
    "/ogcapi/api?f=html",
    "/ogcapi/conformance?f=html",
    "/ogcapi/collections?f=html",
    "/ogcapi/collections/trust-land?f=html",
    "/ogcapi/collections/trust-land/items/{lot}?f=html",
    "/ogcapi/collections/trust-land/items?f=html&limit=5",  # last: its table is measured
]


def test_the_ogc_api_pages_fit_the_narrowest_phone(browser, live_server, held_lot):
    """A long address in <code>, a media type, the features' wide table: none widens the page."""
    lot = held_lot.parcels.get().pk
    visit = phone(browser, live_server, width=REFLOW_PX)
    try:
        for url in OGC_PAGES:
            visit.page.goto(f"{live_server.url}{url.format(lot=lot)}")
            name = urlsplit(url).path.strip("/").replace("/", "-").replace("{lot}", "lot")
            assert_fits_the_phone(visit, name)
        table = visit.page.locator(".scroll-x table").bounding_box()["width"]
        assert table > REFLOW_PX  # the features' table is wider: it scrolls in its own box
    finally:
        visit.close()


def test_text_follows_the_font_size_the_reader_set(browser, live_server):
    # WCAG 1.4.4: the text was pinned at 16 px, whatever size the reader had set the browser to.
    visit = Visit(browser)
    try:
        cdp = visit.context.new_cdp_session(visit.page)
        cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
        visit.page.goto(f"{live_server.url}/")
        sizes = visit.page.evaluate(
            "() => ['body', 'main p', 'footer.site'].map("
            " (s) => getComputedStyle(document.querySelector(s)).fontSize)"
        )
        assert sizes == ["32px", "32px", "28px"]  # the footer is .875 of it
    finally:
        visit.close()
