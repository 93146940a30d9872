"""The lease's admin page on a desktop screen, in a real headless Chromium: every inline fits the
window, so the Delete? boxes and the notes are on screen without scrolling sideways; every control
has a name a screen reader says.

The Monitoring events inline (a notes box 654 px wide) and the Resales inline (ten columns)
made the page 2043 px wide at 1366 px. The inlines' fields had no name ("spin button, 25.00"),
nor had the parcels and lessees autocomplete boxes; the holding's said only its value."""

from __future__ import annotations

import re

import pytest

from leases.models import SourceDocument
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
# A control with no name in Playwright's ARIA snapshot: `- spinbutton: "25.00"`, `- searchbox`.
UNNAMED = re.compile(r"^\s*- (textbox|spinbutton|combobox|checkbox|searchbox)\b(?! \")")


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


def unnamed_controls(page) -> list[str]:
    """The lines of the page's ARIA snapshot that are a form control without a name."""
    snapshot = page.locator("#content-main").aria_snapshot()
    return [line.strip() for line in snapshot.splitlines() if UNNAMED.match(line)]


def test_every_control_of_a_lease_page_has_a_name_a_screen_reader_says(browser, live_server):
    made = factories.registry()
    SourceDocument.objects.create(
        kind="recorded_lease", reference="Book 7001 Page 3", lease=made["groundlease"]
    )
    visit = staff_visit(browser, live_server, **DESKTOP)
    try:
        visit.page.goto(f"{live_server.url}{change_url(made['groundlease'])}")
        # Rows added in the page: Django renumbers a fee change's labels, ours names new boxes.
        visit.page.get_by_role("button", name="Add another Lease fee change").click()
        visit.page.get_by_role("button", name="Add another Resale").click()

        assert unnamed_controls(visit.page) == []
        role = visit.page.get_by_role
        # An autocomplete box is named by its label, then its value (the added resale's: none).
        assert role("combobox", name=re.compile(r"^Holding: Holding \d+$")).count() == 1
        assert role("combobox", name="Seller: Hamer household", exact=True).count() == 1
        assert role("combobox", name=re.compile(r"^Seller:\s*$")).count() == 1
        assert role("searchbox", name="Lessees:", exact=True).count() == 1
        assert role("textbox", name="Effective on", exact=True).count() == 2
        assert visit.errors == []
    finally:
        visit.close()
