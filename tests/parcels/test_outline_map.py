"""The parcel's outline map on its admin page, in a real headless Chromium: a lot opens large
enough to see and edit its vertices, on a phone and on a desktop.

django-leaflet's own field fitted every outline at zoom 15 whatever MAX_ZOOM said: a 40-ft lot
was a dash of 3 x 10 px, and staff zoomed in four times before they could edit it."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from tests import factories
from tests.adminpages import change_url
from tests.browser import staff_visit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 850}}

# django-leaflet announces each map it builds on the window; the test keeps it to ask its zoom.
KEEP_THE_MAP = "window.addEventListener('map:init', (e) => { window.cltTestMap = e.detail.map; });"
# Fitted and done moving: a zoom animation leaves the class on the map pane until it ends.
MAP_SETTLED = (
    "() => window.cltTestMap && document.querySelector('#id_geom-map .leaflet-overlay-pane path')"
    " && !document.querySelector('#id_geom-map .leaflet-zoom-anim')"
)
OUTLINE_BOX = (
    "() => { const r = document.querySelector('#id_geom-map .leaflet-overlay-pane path')"
    ".getBoundingClientRect(); return [r.width, r.height]; }"
)


def forty_foot_lot() -> MultiPolygon:
    """A 40 x 130 ft lot in West Jackson (12 x 40 m), the usual lot of the demo's blocks."""
    west, south = -90.2100, 32.3000
    east, north = west + 0.00013, south + 0.00036
    ring = ((west, south), (east, south), (east, north), (west, north), (west, south))
    return MultiPolygon(Polygon(ring), srid=4326)


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_lots_outline_opens_large_enough_to_edit_its_vertices(browser, live_server, device):
    parcel = factories.parcel(geom=forty_foot_lot())
    visit = staff_visit(browser, live_server, **device)
    try:
        visit.page.add_init_script(KEEP_THE_MAP)
        visit.page.goto(f"{live_server.url}{change_url(parcel)}")
        visit.page.wait_for_function(MAP_SETTLED, timeout=20_000)
        width, height = visit.page.evaluate(OUTLINE_BOX)
        zoom = visit.page.evaluate("() => window.cltTestMap.getZoom()")

        assert zoom == 19, f"the outline was fitted at zoom {zoom}"
        assert width >= 40 and height >= 130, f"the lot is {width:.0f} x {height:.0f} px"
        assert visit.errors == []
        assert not [line for line in visit.console if "Content Security Policy" in line]
    finally:
        visit.close()
