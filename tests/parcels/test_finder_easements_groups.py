"""The finder's lots touching trust land and its assemblages say which lots a conservation
easement in force covers, as its list of vacant lots does: a lot kept from development was
offered, unmarked, as a site beside the trust's land or as part of a buildable group.

    row 1:  N2 (vacant, meets H0 and C1 at a corner)           E4 (an easement ended in 2025)  G5
    row 0:  H0 (the trust's)  C1 (vacant, under an easement)   ... far east ...

Adjacent to H0: C1 (flagged) and N2 (not: it only meets the easement's corner). Groups: C1 and
N2 (C1 under an easement), E4 and G5 (none in force).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from click.testing import CliRunner

from clt.cli import main
from parcels import finder
from parcels.queries import TOUCHING_M, assemblages, touching_holdings
from tests import factories
from tests.factories import WEST_JACKSON, lot

pytestmark = pytest.mark.django_db

LON, LAT = WEST_JACKSON
SIDE = 0.0003  # a factory lot's side, in degrees
FAR_EAST = 0.01  # about 940 m: another block


@pytest.fixture
def land() -> dict:
    def vacant(apn: str, col: int, row: int, east: float = 0.0):
        return factories.parcel(apn=apn, geom=lot(LON + east + col * SIDE, LAT + row * SIDE))

    held = factories.parcel(apn="H0", geom=lot(LON, LAT), vacancy_status="occupied")
    lots = {"H0": held, "C1": vacant("C1", 1, 0), "N2": vacant("N2", 0, 1),
            "E4": vacant("E4", 0, 1, FAR_EAST), "G5": vacant("G5", 1, 1, FAR_EAST)}  # fmt: skip
    factories.holding(parcels=[held], name="Ewing St Garden")  # held since 2017-03-01
    conservancy = factories.party(kind="organisation", name="Hinds County Land Conservancy")
    factories.easement(holder=conservancy, geom=lots["C1"].geom)  # recorded 2019-06-01
    factories.easement(geom=lots["E4"].geom, began_on=dt.date(2010, 1, 1),
                       ended_on=dt.date(2025, 1, 1))  # fmt: skip
    return lots


def flags(collection: dict) -> dict[str, bool]:
    return {f["properties"]["apn"]: f["properties"]["under_easement"]
            for f in collection["features"]}  # fmt: skip


def under_easement_by_group(collection: dict) -> dict[tuple[str, ...], list[str]]:
    return {tuple(f["properties"]["apns"]): f["properties"]["under_easement_apns"]
            for f in collection["features"]}  # fmt: skip


def test_an_adjacent_lot_under_an_easement_is_flagged_and_its_neighbour_is_not(land):
    found = finder.adjacent_lots_geojson({})

    assert flags(found) == {"C1": True, "N2": False}


def test_an_assemblage_lists_exactly_its_lots_under_an_easement_in_force(land):
    found = finder.assemblages_geojson({})

    assert under_easement_by_group(found) == {("C1", "N2"): ["C1"], ("E4", "G5"): []}


def test_the_easement_is_asked_on_the_day_the_trust_land_is(land):
    # Held since 2017, the easement recorded on 2019-06-01: in 2018, C1 was not under one.
    before = dt.date(2018, 6, 1)

    rows = touching_holdings(TOUCHING_M, on=before)
    groups = assemblages(TOUCHING_M, on=before)

    assert {r["apn"]: r["under_easement"] for r in rows} == {"C1": False, "N2": False}
    assert {tuple(g["apns"]): g["under_easement_apns"] for g in groups} == {
        ("C1", "N2"): [], ("E4", "G5"): ["E4"],
    }  # fmt: skip


def csv_rows(*args: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(main, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_the_clis_csv_has_the_easement_columns(land):
    adjacent = csv_rows("adjacent-lots")
    groups = csv_rows("assemblages")

    assert {row["apn"]: row["under_easement"] for row in adjacent} == {
        "C1": "True", "N2": "False",
    }  # fmt: skip
    assert {row["apns"]: row["under_easement_apns"] for row in groups} == {
        "C1 N2": "C1", "E4 G5": "",
    }  # fmt: skip


def test_the_clis_table_shows_which_lots_of_a_group_are_under_an_easement(land):
    result = CliRunner().invoke(main, ["assemblages"])

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split()[-2:] == ["apns", "under_easement_apns"]  # no pipeline: none in it
    # The group's APNs, then those under an easement (none: an empty cell, cut at the line's end).
    assert sorted(row[header.index("apns") :] for row in rows) == [
        "C1 N2  C1", "E4 G5",
    ]  # fmt: skip


def test_the_api_document_describes_the_easement_properties(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    adjacent = paths["/api/vacant-lots/adjacent"]["get"]["description"]
    groups = paths["/api/assemblages"]["get"]["description"]

    assert "under_easement (whether a conservation easement in force covers it)" in adjacent
    assert ("under_easement_apns (the APNs of its lots a conservation easement in force "
            "covers, in order; empty when none)") in groups  # fmt: skip
