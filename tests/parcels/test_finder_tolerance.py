"""What the finder calls touching unless told: the slivers and gaps of real parcel layers (half a
metre), not the 2 m that joined lots 1.7 m apart into one "assemblage".

test_finder's neighbourhood: V5 lies 1.1 m north of the trust's farm H0, a gap between lots
that are not neighbours; V1 shares H0's edge, and V2 shares V1's.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from clt.cli import main
from parcels import cli, finder
from parcels.demo import DEMO_DIR, load_demo_neighbourhood
from parcels.models import Parcel
from tests.parcels import test_finder
from tests.parcels.test_finder import apns

pytestmark = pytest.mark.django_db

land = test_finder.land  # the neighbourhood, as a fixture of this module too
EXPECTED = json.loads((DEMO_DIR / "expected.json").read_text())


def test_a_lot_a_metre_from_trust_land_does_not_touch_it_by_default(land):
    assert apns(finder.adjacent_lots_geojson({})) == ["V1"]
    assert finder.adjacent_lots_geojson({})["tolerance_m"] == 0.5
    groups = finder.assemblages_geojson({})
    assert [f["properties"]["apns"] for f in groups["features"]] == [
        ["V6", "V7", "V8"],
        ["V1", "V2"],
    ]


def test_the_score_adds_adjoining_trust_land_only_for_a_lot_touching_it(land):
    adjoining = {apn: score - area_m2 / 1000 for apn, score, area_m2
                 in Parcel.objects.filter(apn__in=("V1", "V5")).with_score()
                 .values_list("apn", "score", "area_m2")}  # fmt: skip
    assert adjoining == pytest.approx({"V1": 3.0 + 1.0, "V5": 0.0}, abs=1e-6)  # V1: the City's


def test_the_command_and_the_page_touch_as_the_api_does(land, admin_client):
    assert f"{finder.DEFAULT_TOLERANCE_M:g}" == cli.TOLERANCE_M
    adjacent = CliRunner().invoke(main, ["adjacent-lots", "--format", "csv"])
    assert [line.split(",")[0] for line in adjacent.stdout.splitlines()[1:]] == ["V1"]
    page = admin_client.get("/finder/").content.decode()
    assert '<input name="tolerance_m" value="0.5" inputmode="decimal">' in page


def test_the_demo_neighbourhoods_groups_and_neighbours_are_its_fixtures_answers():
    """expected.json counts lots within 0.5 m as touching; at 2 m, 165-131-002 and 165-131-009
    (1.68 m apart) joined a group of 3 and one of 4 into one of 7."""
    load_demo_neighbourhood()
    adjacent = finder.adjacent_lots_geojson({})
    assert sorted(apns(adjacent)) == EXPECTED["vacant_touching_trust"]
    groups = finder.assemblages_geojson({})
    found = sorted(f["properties"]["apns"] for f in groups["features"])
    assert found == sorted(g["apns"] for g in EXPECTED["unheld_vacant_groups"])
