"""On the demo, the public map's Neighbourhoods and Flood zones layers show its illustrative
overlays (fixtures/west_jackson/overlays.geojson), with their public fields only: the demo's
`source` and `zone` attributes stay in the registry."""

import json

import pytest

from parcels.demo import DEMO_DIR, load_demo_neighbourhood

pytestmark = pytest.mark.django_db

EXPECTED = json.loads((DEMO_DIR / "expected.json").read_text())
ATTRIBUTES_NOT_PUBLISHED = ("illustrative (demo)", "not FEMA's flood map", '"zone"', '"source"')


@pytest.mark.parametrize(("layer", "kind"), [("neighbourhoods", "neighbourhood"),
                                             ("flood-zones", "flood-zone")])  # fmt: skip
def test_the_demo_overlays_are_served_with_their_public_fields_only(client, layer, kind):
    load_demo_neighbourhood()
    response = client.get(f"/map/layers/{layer}.geojson")  # anonymous: a public layer
    assert response.status_code == 200
    features = response.json()["features"]
    assert sorted(f["properties"]["name"] for f in features) == EXPECTED["overlay_names"][kind]
    assert all(f["properties"].keys() == {"id", "name", "kind"} for f in features)
    assert all(f["properties"]["kind"] == kind for f in features)
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in features)
    text = response.content.decode()
    assert [value for value in ATTRIBUTES_NOT_PUBLISHED if value in text] == []


def test_the_demo_map_lists_the_neighbourhoods_and_flood_zones_layers(client):
    load_demo_neighbourhood()
    html = client.get("/map/").content.decode()
    assert "/map/layers/flood-zones.geojson" in html
    assert "/map/layers/neighbourhoods.geojson" in html
