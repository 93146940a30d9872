"""The stewardship report's resales table in a real headless Chromium: whole on a desktop screen
and on paper, and still readable on a phone.

Its ten columns made it 1016 px wide in a 928 px scrolling box: "Buyer income (% AMI)" was
hidden behind a sideways scroll even on a 1600 px screen, and printed at Letter width the table
stopped after "Appraisal" (Preserved, Below market and Buyer income never reached the paper)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from leases.models import Resale
from tests import factories
from tests.browser import ARTIFACTS, staff_visit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LETTER_PX = 816  # 8.5 in at 96 CSS px to the inch
HEADERS = (
    "() => [...document.querySelectorAll('#resales thead th')]"
    ".map((th) => [th.textContent, th.getBoundingClientRect().right])"
)
# The box clips the table when its content is wider than what it shows (and it may clip).
CLIPPED_PX = (
    "() => { const box = document.querySelector('#resales').parentElement;"
    " return getComputedStyle(box).overflowX === 'visible' ? 0"
    " : box.scrollWidth - box.clientWidth; }"
)

# The lines an element's text is laid out on (a range gives one rectangle per line).
LINES = (
    "(el) => { const r = document.createRange(); r.selectNodeContents(el);"
    " return r.getClientRects().length; }"
)


@pytest.fixture
def resales():
    """Four resales in 2025 with every column filled, one buyer above the income limit: the
    widest figures a small trust's table shows (totals past a million dollars)."""
    lease = factories.lease(reference="GL-2017-050")
    for day, pct in ((3, D("135.0")), (4, D("62.5")), (5, D("48.0")), (6, D("79.9"))):
        Resale.objects.create(
            lease=lease, seller=lease.lessees.get(), buyer=factories.party(),
            contract_on=dt.date(2025, 3, day), closed_on=dt.date(2025, 4, day),
            formula_price=D("290000"), agreed_price=D("285000"), appraised_value=D("412500"),
            buyer_income_pct_ami=pct,
        )  # fmt: skip


@pytest.fixture
def report(browser, live_server, resales):
    """The report's page on 2025-06-30, in a tab logged in as staff (resized by each test)."""
    visit = staff_visit(browser, live_server, viewport={"width": 1280, "height": 900})
    visit.page.goto(f"{live_server.url}/staff/report/?as_of=2025-06-30")
    yield visit.page
    visit.close()


def headers_past_the_right_edge(page, width_px: int) -> list[str]:
    return [text for text, right in page.evaluate(HEADERS) if right > width_px]


@pytest.mark.parametrize("width_px", [1280, 1600])
def test_every_resales_column_is_on_a_desktop_screen_without_scrolling(report, width_px):
    report.set_viewport_size({"width": width_px, "height": 900})
    ARTIFACTS.mkdir(exist_ok=True)
    report.screenshot(path=ARTIFACTS / f"report-resales-{width_px}.png", full_page=True)

    assert len(report.evaluate(HEADERS)) == 10
    assert headers_past_the_right_edge(report, width_px) == []
    assert report.evaluate(CLIPPED_PX) == 0, "the resales box still scrolls sideways"


def test_the_resales_table_prints_whole_on_a_letter_page(report):
    report.set_viewport_size({"width": LETTER_PX, "height": 1056})
    report.emulate_media(media="print")
    ARTIFACTS.mkdir(exist_ok=True)
    report.screenshot(path=ARTIFACTS / "report-print.png", full_page=True)

    assert headers_past_the_right_edge(report, LETTER_PX) == []
    assert report.evaluate(CLIPPED_PX) == 0, "the printed resales box clips the table"
    header_group = report.evaluate(
        "() => getComputedStyle(document.querySelector('#resales thead')).display"
    )
    assert header_group == "table-header-group"  # repeated at the top of each printed page


def test_on_a_phone_the_lease_column_stays_in_view_on_one_line(report):
    report.set_viewport_size({"width": 360, "height": 740})
    assert report.evaluate("() => document.documentElement.scrollWidth") <= 360
    lease = report.locator("#resales tbody tr").first.locator("td").first
    assert lease.evaluate(LINES) == 1, "the reference broke in two, as GL-2017- / 050"

    box = report.get_by_role("region", name="Resales table")
    box.evaluate("(b) => { b.scrollLeft = b.scrollWidth; }")
    assert box.evaluate("(b) => b.scrollLeft") > 0  # it did scroll: the table is wider
    assert lease.bounding_box()["x"] >= box.bounding_box()["x"] - 1  # still in the box's view
