"""Privacy on the demo data: the private values planted in fixtures/ never reach the public.

fixtures/west_jackson/README.md lists distinctive private values (a lessee's name and contacts,
an income, a fee, arrears, notes) loaded with the demo's leases. Every public surface is fetched
over the whole demo neighbourhood — every tile at z14 and z16, the GeoJSON layers, the OGC API
items of every public collection, the downloads, the pages and the search — and none may carry
one. A control fetches the staff layer as staff and finds them, so the search is real.
"""

from __future__ import annotations

import json
import math

import mapbox_vector_tile
import pytest
from django.contrib.gis.db.models import Extent

from maps.layers import all_layers
from parcels.demo import DEMO_DIR, load_demo_neighbourhood
from parcels.models import Parcel
from tests import factories

pytestmark = pytest.mark.django_db

PRIVATE = (
    "Zephyrine",
    "Okonkwo-Baptiste",
    "41327",
    "41,327",
    "187.43",
    "562.29",
    "PRIVATE-NOTE",
    "zephyrine.ob@example.org",
    "601-555-0131",
    # A conservation easement's grantor and its other holder (parties), in the demo's files.
    "Heirs of Annie U. Jackson",
    "Pearl River Land Conservancy",
)
PUBLIC = [name for name, layer in all_layers().items() if layer.is_public]


def leaks(text: str) -> list[str]:
    return [value for value in PRIVATE if value in text]


def tiles_over(extent: tuple[float, float, float, float], z: int) -> list[tuple[int, int, int]]:
    """Every web-mercator tile at zoom `z` that covers the lon/lat extent."""

    def tile(lon: float, lat: float) -> tuple[int, int]:
        n = 2**z
        x = int((lon + 180) / 360 * n)
        lat_r = math.radians(lat)
        y = int((1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n)
        return x, y

    (x0, y1), (x1, y0) = tile(extent[0], extent[1]), tile(extent[2], extent[3])
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


@pytest.fixture
def demo() -> tuple[float, float, float, float]:
    load_demo_neighbourhood()
    return Parcel.objects.aggregate(extent=Extent("geom"))["extent"]


def test_the_private_values_are_in_the_demo_registry(demo):
    assert "Zephyrine" in (DEMO_DIR / "party_members.csv").read_text()
    from leases.models import GroundLease, PartyMember

    assert PartyMember.objects.filter(name__startswith="Zephyrine").exists()
    assert GroundLease.objects.filter(arrears="562.29", fee_monthly="187.43").exists()


def test_staff_see_the_private_values_in_their_layer(client, demo):
    client.force_login(factories.user("steward", role="read-only", is_staff=True))
    response = client.get("/export/leases.geojson")
    assert response.status_code == 200
    assert "562.29" in leaks(b"".join(response.streaming_content).decode())


@pytest.mark.parametrize("layer", PUBLIC)
def test_no_public_tile_over_the_demo_carries_a_private_value(client, demo, layer):
    if all_layers()[layer].delivery != "tiles":
        pytest.skip("a GeoJSON layer (checked below)")
    features = 0
    for z, x, y in tiles_over(demo, 14) + tiles_over(demo, 16):
        response = client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf")
        assert response.status_code in (200, 204)
        if response.content:
            tile = mapbox_vector_tile.decode(response.content)
            features += sum(len(part["features"]) for part in tile.values())
            decoded = json.dumps(tile, default=str)
            assert leaks(decoded + response.content.decode("latin-1")) == [], (layer, z, x, y)
    if layer in ("trust-land", "available", "vacant-lots", "parcels"):  # its overlays are GeoJSON
        assert features > 0


@pytest.mark.parametrize("layer", PUBLIC)
def test_no_public_collection_or_download_carries_a_private_value(client, demo, layer):
    items = client.get(f"/ogcapi/collections/{layer}/items?f=json&limit=10000")
    assert items.status_code == 200
    assert leaks(items.content.decode()) == []
    for suffix in ("geojson", "csv"):
        download = client.get(f"/export/{layer}.{suffix}")
        assert download.status_code == 200
        assert leaks(b"".join(download.streaming_content).decode()) == []


def test_no_public_page_or_search_answer_carries_a_private_value(client, demo):
    for url in ["/", "/map/", "/map/?parcel=165-142-004", "/ogcapi/collections?f=html"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert leaks(response.content.decode()) == [], url
    for query in ("1418 Rose", "165-142-004", "Zephyrine", "PRIVATE-NOTE"):
        response = client.get("/map/search.json", {"q": query})
        assert response.status_code == 200
        # The answer echoes the query itself; what it found must carry nothing private.
        assert leaks(json.dumps(response.json()["results"])) == [], query
    assert client.get("/map/search.json", {"q": "1418 Rose"}).json()["results"]  # it searches
