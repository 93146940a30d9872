"""GeoJSON from the finder follows RFC 7946 §3.1.6, outer rings counter-clockwise and holes
clockwise: the assemblages' merged outlines (`/api/assemblages`, `clt assemblages --format
geojson`: all 29 of the demo's came out clockwise, as ST_Union winds them; QA round s19), and
the lots themselves, kept as the county drew them (a shapefile draws outer rings clockwise).

The lots: a block of three by three around an occupied lot, so the eight vacant ones merge into
one outline with a hole; one lot is drawn clockwise, as a county file may draw it.
"""

from __future__ import annotations

import json

import pytest
import shapely
from click.testing import CliRunner
from django.contrib.auth.models import User
from django.contrib.gis.geos import MultiPolygon, Polygon

from clt.cli import main
from parcels import finder
from parcels.models import Parcel
from tests.maps.test_planner_clients import ring_directions

pytestmark = pytest.mark.django_db

LON, LAT, SIDE = -90.2010, 32.2990, 0.0003  # lots about 28 x 33 m, near the Lumumba Center


def lot(col: int, row: int, *, clockwise: bool = False) -> MultiPolygon:
    """Lot (`col`, `row`) of the block: neighbours share their edges' coordinates exactly
    (computed the same way), as lots cut from one survey do."""
    west, east = LON + col * SIDE, LON + (col + 1) * SIDE
    south, north = LAT + row * SIDE, LAT + (row + 1) * SIDE
    ring = [(west, south), (east, south), (east, north), (west, north), (west, south)]
    return MultiPolygon(Polygon(ring[::-1] if clockwise else ring), srid=4326)


@pytest.fixture
def block():
    for col in range(3):
        for row in range(3):
            middle = (col, row) == (1, 1)
            Parcel.objects.create(
                apn=f"B{col}{row}", geom=lot(col, row, clockwise=(col, row) == (0, 0)),
                vacancy_status="occupied" if middle else "vacant", land_use="R1" if middle
                else "V", address=f"{col}{row} Block St",
            )  # fmt: skip


@pytest.mark.parametrize("tolerance_m", ["0", "0.5"])
def test_the_finders_assemblage_outline_is_counter_clockwise_with_its_hole_clockwise(
    block, tolerance_m
):
    collection = finder.assemblages_geojson({"tolerance_m": tolerance_m})
    [feature] = collection["features"]
    assert feature["properties"]["lots"] == 8
    assert ring_directions(feature["geometry"]) == [["CCW", "CW"]]


def test_the_api_serves_the_assemblage_outline_counter_clockwise(client, block):
    client.force_login(User.objects.create_superuser("fannie", password="x"))
    response = client.get("/api/assemblages", {"tolerance_m": "0"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    [feature] = response.json()["features"]
    assert ring_directions(feature["geometry"]) == [["CCW", "CW"]]


def test_the_cli_writes_the_assemblage_outline_counter_clockwise(block):
    result = CliRunner().invoke(main, ["assemblages", "--tolerance-m", "0", "--format", "geojson"])
    assert result.exit_code == 0, result.output
    [feature] = json.loads(result.stdout)["features"]
    assert ring_directions(feature["geometry"]) == [["CCW", "CW"]]
    # Only turned round: the outline is still the eight lots' (nine less the middle one).
    area = shapely.geometry.shape(feature["geometry"]).area
    assert area == pytest.approx(8 * SIDE * SIDE, rel=1e-4)


def test_a_lot_drawn_clockwise_is_served_counter_clockwise_by_the_finder(block):
    """A shapefile draws outer rings clockwise (ESRI's rule), and the registry keeps them as
    drawn: the finder's lots, like its assemblages, turn them round for GeoJSON."""
    assert not shapely.from_wkt(Parcel.objects.get(apn="B00").geom.wkt).geoms[0].exterior.is_ccw
    features = finder.vacant_lots_geojson({})["features"]
    by_apn = {f["properties"]["apn"]: f["geometry"] for f in features}
    assert ring_directions(by_apn["B00"]) == [["CCW"]]


def test_a_lot_drawn_clockwise_beside_trust_land_is_served_counter_clockwise(block):
    import datetime as dt

    from parcels.actions import holding_acquire

    holding_acquire(
        name="Block garden", parcels=[Parcel.objects.get(apn="B11")],
        current_use="community_garden", acquired_via="donation", acquired_on=dt.date(2020, 1, 1),
    )  # fmt: skip
    features = finder.adjacent_lots_geojson({})["features"]
    by_apn = {f["properties"]["apn"]: f["geometry"] for f in features}
    assert ring_directions(by_apn["B00"]) == [["CCW"]]
