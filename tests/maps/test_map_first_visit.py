"""A resident's first visit to /map/ on a slow phone: the page paints before the map's scripts
have arrived, and the trust's own tiles are asked for before the county's."""

from __future__ import annotations

import json
import re

import pytest

from tests.maps import factories_map

pytestmark = pytest.mark.django_db


@pytest.fixture
def html(client) -> str:
    factories_map.block()
    response = client.get("/map/")
    assert response.status_code == 200
    return response.content.decode()


def added_layers(html: str) -> list[tuple[str, int]]:
    """(name, zIndex) of each vector-tile layer, in the order the page adds them to the map."""
    specs = [json.loads(spec) for spec in re.findall(r"CLTMap\.vectorLayer\((.*?)\);\n", html)]
    return [(spec["name"], spec["zIndex"]) for spec in specs]


def test_the_map_scripts_are_deferred_so_the_header_and_search_paint_first(html):
    scripts = re.findall(r"<script[^>]* src=[^>]*>", html)
    assert len(scripts) == 3
    assert all(tag.startswith("<script defer src=") for tag in scripts), scripts


def test_the_maps_own_script_waits_for_the_deferred_libraries(html):
    inline = re.search(r"<script nonce=[^>]*>(.*?)</script>", html, re.S).group(1)
    start = inline.index('document.addEventListener("DOMContentLoaded", function () {')
    assert start < inline.index("L.map(") < inline.index("CLTMap.start(")


def test_the_trusts_layers_ask_for_their_tiles_before_the_countys(html):
    layers = added_layers(html)
    assert [name for name, _ in layers] == ["available", "trust-land", "vacant-lots", "parcels"]


def test_the_trusts_land_still_draws_over_the_countys_parcels(html):
    z_index = dict(added_layers(html))
    assert z_index["available"] > z_index["trust-land"] > z_index["vacant-lots"]
    assert z_index["vacant-lots"] > z_index["parcels"]
    # Leaflet's layer control would renumber them in the order added, parcels on top.
    assert '"autoZIndex": false' in html
