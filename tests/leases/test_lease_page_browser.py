"""The lease's admin page on a desktop screen, in a real headless Chromium: every inline fits the
window, so the Delete? boxes and the notes are on screen without scrolling sideways.

The Monitoring events inline (a notes box 654 px wide) and the Resales inline (ten columns)
made the page 2043 px wide at 1366 px."""

from __future__ import annotations

import pytest

from tests import factories
from tests.adminpages import change_url
from tests.browser import ARTIFACTS, staff_visit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DESKTOP = {"viewport": {"width": 1366, "height": 850}}
PAGE_WIDTH = "() => document.documentElement.scrollWidth"
DELETE_BOXES_RIGHT_EDGES = (
    "() => [...document.querySelectorAll('.inline-related:not(.empty-form) input[name$=-DELETE]')]"
    ".map((box) => [box.name, box.getBoundingClientRect().right])"
)


def test_a_lease_page_with_every_inline_filled_fits_a_desktop_window(browser, live_server):
    lease = factories.registry()["groundlease"]  # a monitoring event, a resale, one of each
    visit = staff_visit(browser, live_server, **DESKTOP)
    try:
        visit.page.goto(f"{live_server.url}{change_url(lease)}")
        ARTIFACTS.mkdir(exist_ok=True)
        visit.page.screenshot(path=ARTIFACTS / "lease-admin-desktop.png", full_page=True)

        width = visit.page.evaluate(PAGE_WIDTH)
        assert width <= 1366, f"the page scrolls sideways ({width} px in a 1366 px window)"
        delete_boxes = visit.page.evaluate(DELETE_BOXES_RIGHT_EDGES)
        assert len(delete_boxes) == 6  # a row in each inline but the sources (none on the lease)
        assert {name: right for name, right in delete_boxes if right > 1366} == {}
        assert visit.errors == []
    finally:
        visit.close()
