"""The finder and the acquisition pipeline: each lot shows its latest step, and `pipeline` keeps
the new finds, the lots being pursued, or those the trust dropped.

The lots are test_finder's neighbourhood (V1..V9 vacant, H0 the trust's farm). Their steps:

    V1  none: a new find                    V6  prospect, then dropped (a buried fuel tank)
    V2  prospect, then an offer             V7  under review, then dropped the same day
    V5  none                                V8  acquired, then the holding was sold
    V9  none
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from click.testing import CliRunner
from django.db import connection

from clt.cli import main
from parcels import finder
from parcels.actions import holding_acquire, holding_end
from parcels.models import AcquisitionEvent, Parcel
from parcels.queries import assemblages, latest_stage, touching_holdings
from tests.parcels import test_finder
from tests.parcels.test_finder import LAT, LON, apns, lot, parcel

pytestmark = pytest.mark.django_db

land = test_finder.land  # the neighbourhood, as a fixture of this module too

TANK = "Site walk found a buried fuel tank; cleanup over budget"


def step(apn: str, stage: str, on: dt.date, reason: str = "", **fields) -> AcquisitionEvent:
    return AcquisitionEvent.objects.create(
        parcel=Parcel.objects.get(apn=apn), stage=stage, on=on, reason=reason, **fields
    )


@pytest.fixture
def pipeline(land):
    step("V2", "prospect", dt.date(2025, 1, 10), "Adjoins V1")
    step("V2", "offer", dt.date(2025, 3, 4), "Offered $4,000 to the owner")
    step("V6", "prospect", dt.date(2024, 8, 29))
    step("V6", "dropped", dt.date(2025, 4, 9), TANK)
    # Recorded in this order on one day: the later record is the latest step.
    step("V7", "under_review", dt.date(2025, 6, 1), "Title search ordered")
    step("V7", "dropped", dt.date(2025, 6, 1), "Heirs' property")
    sold = holding_acquire(
        name="Lot sold on", parcels=[land["V8"]], current_use="held_vacant",
        acquired_via="purchase", acquired_on=dt.date(2020, 5, 1),
    )  # fmt: skip
    step("V8", "acquired", dt.date(2020, 5, 1), holding=sold)
    holding_end(holding=sold, on=dt.date(2024, 2, 1), reason="Sold to a neighbour")
    return land


def stages(collection: dict) -> dict[str, tuple]:
    """APN: (stage, date, reason) of each lot in a finder answer."""
    return {
        f["properties"]["apn"]: tuple(f["properties"][c] for c in finder.PIPELINE_COLUMNS)
        for f in collection["features"]
    }


def test_each_lot_shows_its_latest_step_in_the_pipeline(pipeline):
    assert stages(finder.vacant_lots_geojson({})) == {
        "V1": (None, None, None),
        "V2": ("offer", "2025-03-04", "Offered $4,000 to the owner"),
        "V5": (None, None, None),
        "V6": ("dropped", "2025-04-09", TANK),
        "V7": ("dropped", "2025-06-01", "Heirs' property"),
        "V8": ("acquired", "2020-05-01", None),
        "V9": (None, None, None),
    }


def test_a_lot_measured_from_a_point_shows_its_step_too(pipeline):
    near = f"{LON + 0.01},{LAT}"  # V6's corner
    result = finder.vacant_lots_geojson({"near": near, "within_m": "50", "order": "distance"})
    assert stages(result)["V6"] == ("dropped", "2025-04-09", TANK)


@pytest.mark.parametrize(
    ("wanted", "found"),
    [
        ("any", ["V1", "V2", "V5", "V6", "V7", "V8", "V9"]),
        ("new", ["V1", "V5", "V9"]),
        ("open", ["V2"]),
        ("dropped", ["V6", "V7"]),
        ("acquired", ["V8"]),
        ("new,open", ["V1", "V2", "V5", "V9"]),
    ],
)
def test_pipeline_keeps_the_lots_at_those_stages(pipeline, wanted, found):
    result = finder.vacant_lots_geojson({"pipeline": wanted, "order": "area"})
    assert sorted(apns(result)) == found


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("closed", "'closed' is not one of any, new, open, dropped, acquired"),
        ("any,dropped", "'any' takes every lot: give it alone, or leave it out"),
    ],
)
def test_a_pipeline_that_is_no_stage_is_refused_naming_it(pipeline, value, detail):
    with pytest.raises(finder.FinderError) as caught:
        finder.vacant_lots_geojson({"pipeline": value})
    assert (caught.value.field, caught.value.detail) == ("pipeline", detail)


def test_lots_touching_trust_land_show_their_step_and_each_holdings_id_beside_its_name(pipeline):
    # A second holding, named before the farm and recorded after it, touching V1 from the north.
    above_v1 = parcel("H1", lot(1, lat=LAT + 0.0003), vacancy_status="occupied")
    garden = holding_acquire(
        name="Acorn Garden", parcels=[above_v1], current_use="community_garden",
        acquired_via="donation", acquired_on=dt.date(2021, 1, 1),
    )  # fmt: skip
    farm = pipeline["H0"].holdings.get()
    step("V1", "prospect", dt.date(2025, 2, 1), "Adjoins the farm")
    (v1,) = [f for f in finder.adjacent_lots_geojson({})["features"]
             if f["properties"]["apn"] == "V1"]  # fmt: skip
    props = v1["properties"]
    assert list(zip(props["holdings"], props["holding_ids"], strict=True)) == [
        ("Acorn Garden", garden.pk),
        ("Freedom Farm", farm.pk),
    ]
    assert (props["pipeline_stage"], props["pipeline_reason"]) == ("prospect", "Adjoins the farm")


def test_the_pipeline_filter_applies_to_adjacency_and_assemblages(pipeline):
    step("V1", "dropped", dt.date(2025, 2, 1), "No title")
    assert finder.adjacent_lots_geojson({"pipeline": "dropped"})["features"][0]["id"] == (
        pipeline["V1"].pk
    )
    assert finder.adjacent_lots_geojson({"pipeline": "new"})["features"] == []
    # V6 V7 V8 touch in a row; V8's last step is "acquired", so the dropped make a pair.
    groups = finder.assemblages_geojson({"pipeline": "dropped", "tolerance_m": "0"})
    assert [f["properties"]["apns"] for f in groups["features"]] == [["V6", "V7"]]


def test_an_assemblage_lists_its_lots_in_the_pipeline_and_their_parcel_ids(pipeline):
    (group,) = assemblages(0, min_lots=3)
    assert group["apns"] == ["V6", "V7", "V8"]
    assert group["parcel_ids"] == [pipeline[apn].pk for apn in group["apns"]]
    assert group["pipeline"] == [
        {"apn": "V6", "stage": "dropped", "on": "2025-04-09", "reason": TANK},
        {"apn": "V7", "stage": "dropped", "on": "2025-06-01", "reason": "Heirs' property"},
        {"apn": "V8", "stage": "acquired", "on": "2020-05-01", "reason": None},
    ]
    (feature,) = finder.assemblages_geojson({"min_lots": "3", "tolerance_m": "0"})["features"]
    assert feature["properties"]["pipeline"] == group["pipeline"]
    assert feature["properties"]["parcel_ids"] == group["parcel_ids"]


def test_an_assemblage_touching_trust_land_gives_each_holdings_id_beside_its_name(pipeline):
    # V1 V2 touch the farm, and a holding named before it, recorded after it, north of V2.
    above_v2 = parcel("H2", lot(2, lat=LAT + 0.0003), vacancy_status="occupied")
    garden = holding_acquire(
        name="Acorn Garden", parcels=[above_v2], current_use="community_garden",
        acquired_via="donation", acquired_on=dt.date(2021, 1, 1),
    )  # fmt: skip
    farm = pipeline["H0"].holdings.get()
    (group,) = [g for g in assemblages(0) if g["touches_trust_land"]]
    assert group["apns"] == ["V1", "V2"]
    assert list(zip(group["holdings"], group["holding_ids"], strict=True)) == [
        ("Acorn Garden", garden.pk),
        ("Freedom Farm", farm.pk),
    ]
    v1 = touching_holdings(0)[0]  # meets the garden at its corner
    assert (v1["apn"], v1["holding_ids"]) == ("V1", [garden.pk, farm.pk])


def test_the_command_shows_each_lots_stage_and_filters_by_it(pipeline):
    runner = CliRunner()
    dropped = runner.invoke(main, ["vacant-lots", "--pipeline", "dropped", "--format", "csv"])
    assert dropped.exit_code == 0, dropped.output
    header, *rows = csv.reader(io.StringIO(dropped.stdout))
    assert header[-3:] == ["pipeline_stage", "pipeline_on", "pipeline_reason"]
    assert [(row[0], *row[-3:]) for row in rows] == [  # by score: V6 is the State's, forfeited
        ("V6", "dropped", "2025-04-09", TANK),
        ("V7", "dropped", "2025-06-01", "Heirs' property"),
    ]
    table = runner.invoke(main, ["vacant-lots", "--order", "area"])
    assert "pipeline_stage" in table.stdout.splitlines()[0]
    groups = runner.invoke(main, ["assemblages", "--tolerance-m", "0", "--format", "csv"])
    assert f"V6 dropped ({TANK}) | V7 dropped (Heirs' property) | V8 acquired" in groups.stdout
    refused = runner.invoke(main, ["adjacent-lots", "--pipeline", "gone"])
    assert refused.exit_code != 0
    assert "pipeline: 'gone' is not one of any, new, open, dropped, acquired" in refused.output


def test_the_latest_step_is_one_step_of_its_own_index(pipeline):
    """Without it, each lot's steps were all fetched by the parcel's index and sorted."""
    with connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        shown = Parcel.objects.annotate(stage=latest_stage()).explain()
    assert "Index Scan Backward using acquisition_latest_stage" in shown, shown


def test_the_api_filters_by_pipeline_and_names_it_when_it_is_wrong(pipeline, admin_client):
    response = admin_client.get("/api/vacant-lots", {"pipeline": "open"})
    assert [f["properties"]["apn"] for f in response.json()["features"]] == ["V2"]
    refused = admin_client.get("/api/assemblages", {"pipeline": "stalled"})
    assert refused.status_code == 400
    assert refused.json()["invalid-params"][0]["name"] == "pipeline"


def test_the_api_document_describes_the_pipeline_and_what_each_answer_carries(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/vacant-lots", "/api/vacant-lots/adjacent", "/api/assemblages"):
        operation = paths[path]["get"]
        (pipeline,) = [p for p in operation["parameters"] if p["name"] == "pipeline"]
        assert pipeline["schema"]["items"]["enum"] == ["any", "new", "open", "dropped",
                                                       "acquired"]  # fmt: skip
        assert pipeline["description"].startswith("Lots by where they stand in the acquisition")
        assert "pipeline" in operation["description"]
    adjacent = paths["/api/vacant-lots/adjacent"]["get"]
    assert "holding_ids (their ids, in the same order)" in adjacent["description"]
    (tolerance,) = [p for p in adjacent["parameters"] if p["name"] == "tolerance_m"]
    assert tolerance["description"].startswith("Gap (metres) that still counts as touching "
                                               "(default 0.5: ")  # fmt: skip


def test_every_pipeline_state_names_stages_the_model_has():
    # The finder's states are plain strings (parcels.queries loads before the models): a stage
    # renamed in AcquisitionStage would leave its lots out of every filter without an error.
    from parcels.models import AcquisitionStage
    from parcels.queries import PIPELINE_STATES

    named = {stage for stages in PIPELINE_STATES.values() for stage in stages}
    assert named == set(AcquisitionStage.values)
