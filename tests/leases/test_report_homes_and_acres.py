"""How the report counts homes on a date and adds up acres, and that it says so.

Homes counted from 1 January of their year built: the co-op's fourplex, finished in mid-2024,
counted on 2024-01-01. The acres of each use, rounded, added to 12.03 against a total of 12.04,
with no word of it; `clt holdings` gave no exact area a spreadsheet could sum.
"""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from clt.cli import main
from leases.cli import render_report
from leases.report import ACRES_RULE, HOMES_RULE, acres, report_csv, stewardship_report
from parcels.models import Improvement
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def built_2024():
    """A holding with a fourplex built in 2024, a house of 1950 and a cottage of unknown year."""
    held = factories.holding([factories.parcel()], current_use="coop_housing")
    for year, units in ((2024, 4), (1950, 1), (None, 1)):
        Improvement.objects.create(
            holding=held, kind="house", year_built=year, dwelling_units=units
        )


@pytest.mark.parametrize(
    "on, homes",
    [(dt.date(2024, 1, 1), 2), (dt.date(2024, 6, 30), 2), (dt.date(2024, 12, 30), 2),
     (dt.date(2024, 12, 31), 6), (dt.date(2025, 1, 1), 6)],
)  # fmt: skip
def test_a_building_counts_its_homes_from_the_end_of_its_year_built(built_2024, on, homes):
    assert stewardship_report(on).held_total.homes == homes


def test_the_page_the_cli_and_the_csv_say_how_homes_and_acres_are_counted(built_2024, client):
    report = stewardship_report(dt.date(2024, 6, 30))
    client.force_login(factories.user(role="read-only"))
    page = client.get("/staff/report/", {"as_of": "2024-06-30"}).content.decode()
    text = render_report(report)
    rows = list(csv.reader(io.StringIO(report_csv(report))))

    for rule, topic in ((HOMES_RULE, "homes"), (ACRES_RULE, "acres")):
        assert rule.replace("'", "&#x27;") in page
        assert rule in text
        assert ["notes", topic, "note", rule] in rows
    assert "count from the end of that year (31 December)" in HOMES_RULE
    assert "the total is from the unrounded areas" in ACRES_RULE


@pytest.fixture
def three_uses():
    """Three holdings of three uses, of 9,130.70 m² each: their rounded acres (2.26 each) add
    to 6.78, their total is 6.77."""
    for n, use in enumerate(("single_family_home", "urban_farm", "conservation")):
        lot = factories.lot(lon=-90.2 + n * 0.01, side_deg=0.000935)
        factories.holding([factories.parcel(geom=lot)], current_use=use)


def test_the_csv_gives_each_use_its_area_in_square_metres_summing_to_the_total(three_uses):
    report = stewardship_report(dt.date(2024, 6, 30))
    rows = list(csv.reader(io.StringIO(report_csv(report))))

    areas = {item: Decimal(value) for section, item, measure, value in rows
             if section == "held_by_use" and measure == "area_m2"}  # fmt: skip
    assert sum(line.acres for line in report.held) != report.held_total.acres  # rounding shows
    assert sorted(areas) == ["conservation", "single_family_home", "total", "urban_farm"]
    total = areas.pop("total")
    assert abs(sum(areas.values()) - total) <= Decimal("0.02")
    assert acres(float(sum(areas.values()))) == report.held_total.acres


def test_holdings_as_csv_and_json_give_the_exact_area_beside_the_acres(three_uses, monkeypatch):
    monkeypatch.setattr("leases.cli.setup_django", lambda **kwargs: None)
    args = ["holdings", "--as-of", "2024-06-30", "--format"]

    rows = list(csv.DictReader(io.StringIO(CliRunner().invoke(main, [*args, "csv"]).stdout)))
    held = json.loads(CliRunner().invoke(main, [*args, "json"]).stdout)["holdings"]

    assert [row["area_m2"] for row in rows] == [h["area_m2"] for h in held]
    report = stewardship_report(dt.date(2024, 6, 30))
    assert acres(float(sum(Decimal(row["area_m2"]) for row in rows))) == report.held_total.acres
    assert sum(Decimal(row["acres"]) for row in rows) != report.held_total.acres
