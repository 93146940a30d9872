"""The finder and conservation easements: each lot says whether an easement in force covers it
(not its neighbour across the easement's edge), `easement=exclude` leaves such lots out, and
the API document, the CLI's CSV and the page say so.

    C1 (under the easement)  N2 (its neighbour, sharing the edge)  E3 (under one ended in 2025)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from django.contrib.auth.models import User
from django.test import Client

from clt.cli import main
from parcels import finder
from tests import factories
from tests.browser import Visit
from tests.factories import WEST_JACKSON, lot

pytestmark = pytest.mark.django_db

LON, LAT = WEST_JACKSON
SIDE = 0.0003  # a factory lot's side, in degrees


@pytest.fixture
def land() -> dict:
    lots = {apn: factories.parcel(apn=apn, geom=lot(LON + n * SIDE, LAT))
            for n, apn in enumerate(("C1", "N2", "E3"))}  # fmt: skip
    conservancy = factories.party(kind="organisation", name="Hinds County Land Conservancy")
    factories.easement(holder=conservancy, geom=lots["C1"].geom)
    factories.easement(geom=lots["E3"].geom, began_on=dt.date(2010, 1, 1),
                       ended_on=dt.date(2025, 1, 1))  # fmt: skip
    return lots


def flags(collection: dict) -> dict[str, bool]:
    return {f["properties"]["apn"]: f["properties"]["under_easement"]
            for f in collection["features"]}  # fmt: skip


def test_each_lot_says_whether_an_easement_in_force_covers_it(land):
    found = finder.vacant_lots_geojson({"order": "area"})

    assert flags(found) == {"C1": True, "N2": False, "E3": False}


def test_a_lot_under_an_easement_is_flagged_on_every_page_and_order(land):
    near = f"{LON},{LAT}"
    assert flags(finder.vacant_lots_geojson({"near": near, "within_m": "100"})) == {
        "C1": True, "N2": False, "E3": False,
    }  # fmt: skip
    for page, flagged in (("1", {"C1": True}), ("2", {"N2": False})):
        one = finder.vacant_lots_geojson({"near": near, "limit": "1", "page": page})
        assert flags(one) == flagged


def test_exclude_leaves_out_the_lots_under_an_easement_and_keeps_its_neighbour(land):
    kept = finder.vacant_lots_geojson({"easement": "exclude", "order": "area"})

    assert flags(kept) == {"N2": False, "E3": False}
    assert flags(finder.vacant_lots_geojson({"easement": "any", "order": "area"})) == {
        "C1": True, "N2": False, "E3": False,
    }  # fmt: skip


def test_exclude_applies_to_adjacency_and_assemblages_too(land):
    def groups(**params) -> list[list[str]]:
        found = finder.assemblages_geojson(params)  # touching: within 0.5 m
        return [sorted(f["properties"]["apns"]) for f in found["features"]]

    assert groups() == [["C1", "E3", "N2"]]
    assert groups(easement="exclude") == [["E3", "N2"]]


@pytest.mark.parametrize("said", ["only", "exclude,any", "yes"])
def test_an_easement_choice_not_offered_is_a_400_naming_it(land, client, said):
    client.force_login(User.objects.create_superuser("fannie", password="x"))

    response = client.get("/api/vacant-lots", {"easement": said})

    assert response.status_code == 400
    (invalid,) = response.json()["invalid-params"]
    assert invalid["name"] == "easement"
    assert "any, exclude" in invalid["reason"]


def test_the_clis_csv_has_an_under_easement_column(land):
    result = CliRunner().invoke(main, ["vacant-lots", "--order", "area", "--format", "csv"])

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {row["apn"]: row["under_easement"] for row in rows} == {
        "C1": "True", "N2": "False", "E3": "False",
    }  # fmt: skip


def test_the_cli_leaves_out_the_lots_under_an_easement(land):
    result = CliRunner().invoke(
        main, ["vacant-lots", "--easement", "exclude", "--order", "area", "--format", "csv"]
    )

    assert result.exit_code == 0, result.output
    assert sorted(row["apn"] for row in csv.DictReader(io.StringIO(result.stdout))) == ["E3", "N2"]


def test_every_finder_filter_is_an_option_of_the_cli_and_passed_on():
    # A filter left out of FINDER_KEYS was dropped without a word: the whole list answered.
    from parcels.cli import FINDER_KEYS, NOT_ON_THE_COMMAND_LINE, vacant_lots

    options = {param.name for param in vacant_lots.params}
    passed_on = {*FINDER_KEYS, "outside_flood"}
    assert passed_on <= options
    assert set(finder.LOT_FILTERS) - set(NOT_ON_THE_COMMAND_LINE) == passed_on


def test_the_api_document_describes_the_filter_and_the_flag(client):
    operation = client.get("/api/openapi.json").json()["paths"]["/api/vacant-lots"]["get"]

    (easement,) = [p for p in operation["parameters"] if p["name"] == "easement"]
    assert easement["schema"]["enum"] == ["any", "exclude"]
    assert "conservation easement in force covers" in easement["description"]
    flag = "under_easement (whether a conservation easement in force covers it)"
    assert flag in operation["description"]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_page_marks_a_lot_under_an_easement_and_can_leave_it_out(browser, live_server, land):
    visit = Visit(browser)
    staff = Client()
    staff.force_login(User.objects.create_superuser("fannie", password="x"))
    visit.context.add_cookies([{"name": "sessionid", "value": staff.cookies["sessionid"].value,
                                "domain": urlsplit(live_server.url).hostname,
                                "path": "/"}])  # fmt: skip
    try:
        page = visit.page
        page.goto(f"{live_server.url}/finder/")
        page.uncheck("input[name=in_view]")
        page.select_option("#search [name=order]", "area")
        page.click("#search button[type=submit]")
        page.locator("#count", has_text="3 lots shown").wait_for(timeout=10_000)
        assert "easement" in page.locator("#results thead th").all_inner_texts()
        marked = page.locator("#results tbody tr", has_text="Conservation easement")
        assert marked.locator("td[data-column=apn]").all_inner_texts() == ["C1"]

        page.select_option("#search [name=easement]", "exclude")
        page.click("#search button[type=submit]")
        page.locator("#count", has_text="2 lots shown").wait_for(timeout=10_000)
        assert "Conservation easement" not in page.inner_text("#results")
        asked = [parse_qs(urlsplit(u).query) for u in visit.requests if "/api/vacant-lots?" in u]
        assert asked[-1]["easement"] == ["exclude"]
    finally:
        visit.close()
