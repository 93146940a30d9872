"""Every answer of the finder is a page, and says when there is more (issue #4: at a million
parcels, lots touching trust land at 100 m were 86,047 features, 53 MB, in one answer; the
assemblages were cut at `limit` with nothing saying so, and those beside trust land beyond the
first 1,000 could not be reached).

test_finder's neighbourhood: V1 shares the trust's farm H0's edge, V5 lies 1.1 m north of it;
V6 V7 V8 are a group of three far east, V1 V2 a group of two beside the farm, V9 a big lot.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from clt.cli import main
from parcels import finder
from parcels.queries import Window, assemblages
from tests.parcels import test_assemblages_across_the_window as across
from tests.parcels import test_finder
from tests.parcels.test_finder import apns

pytestmark = pytest.mark.django_db

land = test_finder.land  # the neighbourhood, as a fixture of this module too
row = across.row  # W0 W1 W2 W3 and the trust's H4, east of the window around W0


def groups(collection: dict) -> list[list[str]]:
    return [f["properties"]["apns"] for f in collection["features"]]


def paged(collection: dict) -> tuple[int, int, bool]:
    return collection["page"], collection["limit"], collection["has_next"]


# --- lots touching trust land ---------------------------------------------------------------


def test_lots_touching_trust_land_come_a_page_at_a_time_nearest_first(land):
    first = finder.adjacent_lots_geojson({"tolerance_m": "2", "limit": "1"})
    assert (apns(first), paged(first)) == (["V1"], (1, 1, True))
    second = finder.adjacent_lots_geojson({"tolerance_m": "2", "limit": "1", "page": "2"})
    assert (apns(second), paged(second)) == (["V5"], (2, 1, False))


def test_lots_touching_trust_land_by_default_are_a_page_of_100(land):
    answer = finder.adjacent_lots_geojson({"tolerance_m": "2"})
    assert (apns(answer), paged(answer)) == (["V1", "V5"], (1, 100, False))
    beyond = finder.adjacent_lots_geojson({"tolerance_m": "2", "page": "3", "limit": "1"})
    assert (apns(beyond), paged(beyond)) == ([], (3, 1, False))


def test_the_api_pages_lots_touching_trust_land_and_refuses_a_page_too_long(admin_client, land):
    url = "/api/vacant-lots/adjacent"
    body = admin_client.get(url, {"tolerance_m": "2", "limit": "1", "page": "2"}).json()
    assert (apns(body), paged(body)) == (["V5"], (2, 1, False))
    refused = admin_client.get(url, {"limit": "1001"})
    assert refused.status_code == 400
    assert refused.json()["invalid-params"] == [
        {"name": "limit", "reason": "1001 is outside 1..1000"}
    ]


# --- assemblages ----------------------------------------------------------------------------


def test_assemblages_say_when_more_groups_follow_and_number_them_across_pages(land):
    first = finder.assemblages_geojson({"tolerance_m": "0", "limit": "1"})
    assert (groups(first), paged(first)) == ([["V6", "V7", "V8"]], (1, 1, True))
    second = finder.assemblages_geojson({"tolerance_m": "0", "limit": "1", "page": "2"})
    assert (groups(second), paged(second)) == ([["V1", "V2"]], (2, 1, False))
    assert [f["id"] for f in first["features"] + second["features"]] == [1, 2]


def test_a_group_beside_trust_land_past_the_first_page_is_reached_by_the_filter(land):
    """The group beside the farm is second by area: cut at one group, the page never showed
    it, and `touches_trust_land` was only an output."""
    params = {"tolerance_m": "0", "limit": "1"}
    beside = finder.assemblages_geojson(params | {"touches_trust_land": "true"})
    assert (groups(beside), paged(beside)) == ([["V1", "V2"]], (1, 1, False))
    assert beside["features"][0]["properties"]["touches_trust_land"] is True
    apart = finder.assemblages_geojson({"tolerance_m": "0", "min_lots": "1",
                                        "touches_trust_land": "false"})  # fmt: skip
    assert groups(apart) == [["V9"], ["V6", "V7", "V8"], ["V5"]]


def test_touches_trust_land_reads_yes_and_no_and_names_itself_when_neither(land):
    for said in ("1", "yes", "on"):
        found = finder.assemblages_geojson({"tolerance_m": "0", "touches_trust_land": said})
        assert groups(found) == [["V1", "V2"]], said
    with pytest.raises(finder.FinderError) as caught:
        finder.assemblages_geojson({"touches_trust_land": "maybe"})
    assert str(caught.value) == (
        "touches_trust_land: 'maybe' is not a yes or no: use true or false (or 1 or 0)"
    )


def test_the_filter_finds_trust_land_beside_a_group_beyond_the_window(row):
    window = Window(across.INSIDE_W0)
    beside = assemblages(across.TOLERANCE_M, window=window, touches_trust_land=True)
    assert [g["apns"] for g in beside] == [["W0", "W1", "W2", "W3"]]
    assert assemblages(across.TOLERANCE_M, window=window, touches_trust_land=False) == []


def test_an_assemblage_outline_is_always_a_multipolygon(land, admin_client):
    """One ring or several, the same type: a GIS read a page of 90 Polygons and 10
    MultiPolygons as "Unknown (any)"."""
    body = admin_client.get("/api/assemblages", {"tolerance_m": "2", "min_lots": "1"}).json()
    outlines = {tuple(f["properties"]["apns"]): f["geometry"] for f in body["features"]}
    assert {apns: g["type"] for apns, g in outlines.items()} == {
        ("V9",): "MultiPolygon", ("V6", "V7", "V8"): "MultiPolygon",
        ("V1", "V2", "V5"): "MultiPolygon",
    }  # fmt: skip
    assert len(outlines[("V6", "V7", "V8")]["coordinates"]) == 1  # one polygon, one ring
    assert len(outlines[("V6", "V7", "V8")]["coordinates"][0]) == 1


# --- the tolerance --------------------------------------------------------------------------


def test_an_assemblage_tolerance_above_its_maximum_says_the_maximum_and_why(land, admin_client):
    response = admin_client.get("/api/assemblages", {"tolerance_m": "60"})
    assert response.status_code == 400
    (invalid,) = response.json()["invalid-params"]
    assert invalid["name"] == "tolerance_m"
    assert invalid["reason"].startswith(
        "60 is above the maximum 20 m for assemblages: a wider tolerance reaches across streets "
        "and joins blocks into ever larger groups, until most of a county's lots are one, "
    )
    at_most = finder.assemblages_geojson({"tolerance_m": "20"})
    assert at_most["tolerance_m"] == 20.0


def test_a_tolerance_above_the_maximum_for_lots_touching_trust_land_points_elsewhere(land):
    assert finder.adjacent_lots_geojson({"tolerance_m": "100"})["tolerance_m"] == 100.0
    with pytest.raises(finder.FinderError) as caught:
        finder.adjacent_lots_geojson({"tolerance_m": "101"})
    assert str(caught.value) == (
        "tolerance_m: 101 is above the maximum 100 m for lots touching trust land: a lot "
        "farther from it is near it, not beside it; for those, use near_holdings_m (up to "
        "1000 m) in the vacant-lot search"
    )


# --- the command line -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "shown", "said"),
    [
        (["vacant-lots", "--limit", "1", "--order", "area"], ["V9"],
         "clt: 1 lot (page 1); more on page 2: add --page 2\n"),
        (["adjacent-lots", "--tolerance-m", "2", "--limit", "1"], ["V1"],
         "clt: 1 vacant lot touches trust land (page 1); more on page 2: add --page 2\n"),
        (["adjacent-lots", "--tolerance-m", "2", "--limit", "1", "--page", "2"], ["V5"],
         "clt: 1 vacant lot touches trust land (page 2)\n"),
        (["assemblages", "--tolerance-m", "0", "--limit", "1"], ["V6 V7 V8"],
         "clt: 1 assemblage (page 1); more on page 2: add --page 2\n"),
        (["assemblages", "--tolerance-m", "0", "--limit", "1", "--touching-trust-land"],
         ["V1 V2"], "clt: 1 assemblage (page 1)\n"),
        (["assemblages", "--tolerance-m", "0", "--apart-from-trust-land"], ["V6 V7 V8"],
         "clt: 1 assemblage (page 1)\n"),
    ],
)  # fmt: skip
def test_the_commands_say_when_there_is_a_next_page_and_how_to_ask_for_it(
    land, args, shown, said
):
    result = CliRunner().invoke(main, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.splitlines()
    column = header.split(",").index("apns" if args[0] == "assemblages" else "apn")
    assert [line.split(",")[column] for line in lines] == shown
    assert result.stderr == said


def test_the_assemblages_command_refuses_a_tolerance_above_its_maximum(land):
    result = CliRunner().invoke(main, ["assemblages", "--tolerance-m", "50"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: tolerance_m: 50 is above the maximum 20 m for "
                                    "assemblages: ")  # fmt: skip


# --- the API's description ------------------------------------------------------------------


def test_the_api_document_describes_each_finder_answers_page_and_the_new_filter(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/vacant-lots", "/api/vacant-lots/adjacent", "/api/assemblages"):
        operation = paths[path]["get"]
        params = {p["name"]: p for p in operation["parameters"]}
        assert params["page"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100_000}
        assert params["limit"]["schema"]["maximum"] == finder.MAX_PAGE_SIZE
        schema = operation["responses"]["200"]["content"]["application/geo+json"]["schema"]
        assert {"page", "limit", "has_next"} <= set(schema["required"]), path
        assert "has_next (whether the next page holds more)" in operation["description"]
    groups_op = paths["/api/assemblages"]["get"]
    params = {p["name"]: p for p in groups_op["parameters"]}
    assert params["touches_trust_land"]["schema"] == {"type": "boolean"}
    tolerance = params["tolerance_m"]
    assert tolerance["schema"]["maximum"] == 20
    assert "at most 20 m (wider, groups reach across streets" in tolerance["description"]
    adjacent = {p["name"]: p for p in paths["/api/vacant-lots/adjacent"]["get"]["parameters"]}
    assert adjacent["tolerance_m"]["schema"]["maximum"] == 100

