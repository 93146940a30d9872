"""Privacy by design: private values planted in the registry never reach a public response.

The block (tests/maps/factories_map.py) carries a lessee's name, contacts, income, the lease fee,
arrears, prices, notes, a deed reference and owners of record. Every public surface of the map
is fetched (tiles decoded at z12, z14 and z16 for every public tile layer, the GeoJSON layers,
the pages, deep links and search) and searched for each value. The staff layer, fetched by
staff, does carry them: proof that the planted values exist and that the search would see them.
"""

from __future__ import annotations

import dataclasses
import json

import mapbox_vector_tile
import pytest

from maps.layers import all_layers
from tests import factories
from tests.maps import factories_map
from tests.maps.test_tiles import Z12_TILE, Z14_TILE, Z16_TILES

pytestmark = pytest.mark.django_db

PUBLIC_TILE_LAYERS = [
    name for name, layer in all_layers().items() if layer.is_public and layer.delivery == "tiles"
]
PUBLIC_GEOJSON_LAYERS = [
    name for name, layer in all_layers().items() if layer.is_public and layer.delivery == "geojson"
]
TILES = [Z12_TILE, Z14_TILE, *Z16_TILES]


@pytest.fixture
def block():
    return factories_map.block()


def leaks(text: str) -> list[str]:
    return [needle for needle in factories_map.private_needles() if needle in text]


def tile_text(content: bytes) -> str:
    """Every key and value in a tile, as text (and the raw bytes, for good measure)."""
    if not content:
        return ""
    decoded = mapbox_vector_tile.decode(content)
    return json.dumps(decoded, default=str) + content.decode("latin-1")


def test_the_planted_values_are_really_in_the_registry(client, block):
    client.force_login(factories.user("planner", role="read-only", is_staff=True))
    response = client.get("/tiles/leases/{}/{}/{}.pbf".format(*Z14_TILE))
    assert {"1234.56", "GL-SECRET-0042"} <= set(leaks(tile_text(response.content)))


@pytest.mark.parametrize("layer", PUBLIC_TILE_LAYERS)
def test_no_public_tile_carries_a_private_value(client, block, layer):
    seen_features = 0
    for z, x, y in TILES:
        response = client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf")
        assert response.status_code in (200, 204)
        assert leaks(tile_text(response.content)) == [], (layer, z, x, y)
        if response.content:
            features = mapbox_vector_tile.decode(response.content)[layer]["features"]
            seen_features += len(features)
            allowed = set(all_layers()[layer].field_names) | {"count"}
            for feature in features:
                assert set(feature["properties"]) <= allowed
    assert seen_features > 0


@pytest.mark.parametrize("layer", PUBLIC_GEOJSON_LAYERS)
def test_no_public_geojson_carries_a_private_value(client, block, layer):
    response = client.get(f"/map/layers/{layer}.geojson")
    assert response.status_code == 200
    assert leaks(response.content.decode()) == []


def test_no_map_page_carries_a_private_value(client, block):
    leased = block.leased
    for url in ("/map/", f"/map/?parcel={leased.apn}", "/map/?lat=32.3&lon=-90.21&z=18"):
        response = client.get(url)
        assert response.status_code == 200
        assert leaks(response.content.decode()) == [], url


def test_no_search_answer_carries_a_private_value(client, block):
    leased = block.leased
    queries = [
        leased.apn,
        leased.address,
        "Trust Way",
        "North St",
        "Quartermaine",
        "417.29",
        "1234.56",
        "PRIVATE",
        "GL-SECRET",
    ]
    for q in queries:
        response = client.get("/map/search.json", {"q": q})
        assert response.status_code == 200
        # (The answer repeats the query; only what it found counts.)
        assert leaks(json.dumps(response.json()["results"])) == [], q
    # Searching for a private value finds nothing: search reads the whitelist only.
    for q in ("Quartermaine", "PRIVATE-OWNER", "GL-SECRET", "1234.56"):
        assert client.get("/map/search.json", {"q": q}).json()["results"] == [], q


def test_a_staff_layer_cannot_be_declared_without_the_permission_it_needs():
    leases = all_layers()["leases"]
    assert leases.permission == "leases.view_groundlease"
    with pytest.raises(ValueError, match="staff layer 'leases' declares no permission"):
        dataclasses.replace(leases, permission=None)


def test_a_staff_tile_is_refused_to_staff_whose_role_was_taken_away(client, block):
    planner = factories.user("planner", role="read-only", is_staff=True)
    planner.groups.clear()
    client.force_login(planner)
    tile = client.get("/tiles/leases/{}/{}/{}.pbf".format(*Z14_TILE))
    assert (tile.status_code, tile["Content-Type"]) == (403, "application/problem+json")
    assert leaks(tile.content.decode()) == []


def test_staff_layers_stay_hidden_from_the_public(client, block):
    tile = client.get("/tiles/leases/{}/{}/{}.pbf".format(*Z14_TILE))
    assert (tile.status_code, tile["Content-Type"]) == (401, "application/problem+json")
    assert "leases" not in client.get("/map/").content.decode().replace("Ground leases", "")
