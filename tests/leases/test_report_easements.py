"""Conservation easements in the stewardship report: how many were in force on the date, the
acres they protect (land under two easements counted once), who holds them, the visits due and
the issues found still open; on the page, in the CLI's text and in the CSV, naming no party."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from leases.cli import render_report
from leases.report import (
    EASEMENT_ACRES_RULE,
    Conserved,
    acres,
    conservation_easements,
    report_csv,
    stewardship_report,
)
from parcels.models import EasementMonitoringVisit
from tests import factories
from tests.factories import WEST_JACKSON, lot

pytestmark = pytest.mark.django_db

LON, LAT = WEST_JACKSON
SIDE = 0.003  # a farm about 280 m east-west by 330 m north-south (about 23 acres)
ON = dt.date(2026, 11, 1)
HOLDER, GRANTOR, MONITOR = "Hinds County Land Conservancy", "The Ridgeway family", "M. Tolliver"
NOTES = "Seen from the road"


def visit(easement, on: dt.date, finding: str = "compliant", resolved_on=None):
    return EasementMonitoringVisit.objects.create(
        easement=easement, on=on, finding=finding, resolved_on=resolved_on,
        monitor=MONITOR, notes=NOTES,
    )  # fmt: skip


@pytest.fixture
def easements() -> dict:
    """On 2026-11-01: the trust's farm easement (visited in March, a minor issue then still open;
    a violation found and put right before the date; another found after it), another
    organisation's, overlapping the east half of it (a violation found in 2025 and open, its
    year since that visit run out: due), and an easement that ended in 2025 with a violation
    never resolved."""
    trust = factories.party(kind="trust", name="The trust")
    conservancy = factories.party(kind="organisation", name=HOLDER)
    grantor = factories.party(name=GRANTOR)
    farm = factories.easement(
        name="Ridgeway farm", holder=trust, grantor=grantor, geom=lot(LON, LAT, SIDE),
        began_on=dt.date(2019, 6, 1),
    )  # fmt: skip
    visit(farm, dt.date(2026, 3, 1), "minor", resolved_on=dt.date(2026, 12, 1))
    visit(farm, dt.date(2026, 4, 1), "violation", resolved_on=dt.date(2026, 6, 1))
    visit(farm, dt.date(2026, 12, 15), "violation")  # after the date
    creek = factories.easement(
        name="Town Creek buffer", holder=conservancy, purpose="water",
        geom=lot(LON + SIDE / 2, LAT, SIDE), began_on=dt.date(2024, 5, 1),
    )  # fmt: skip
    visit(creek, dt.date(2025, 4, 1), "violation")
    ended = factories.easement(
        name="Old orchard", holder=conservancy, geom=lot(LON, LAT + 2 * SIDE, SIDE),
        began_on=dt.date(2010, 1, 1), ended_on=dt.date(2025, 1, 1),
    )  # fmt: skip
    visit(ended, dt.date(2024, 6, 1), "violation")
    return {"farm": farm, "creek": creek, "ended": ended}


def test_the_report_counts_the_easements_in_force_by_holder_visits_due_and_open_issues(
    easements,
):
    conserved = conservation_easements(ON)

    assert (conserved.easements, conserved.held_by_trust, conserved.held_by_others) == (2, 1, 1)
    assert conserved.monitoring_due == 1  # the creek's: a year since its visit of 2025-04-01
    # The farm's minor issue (resolved after the date) and the creek's violation; not the
    # farm's violation put right before the date or found after it, nor the ended easement's.
    assert (conserved.open_issues, conserved.open_violations) == (2, 1)


def test_land_under_two_easements_counts_once_in_the_acres(easements):
    farm_m2 = easements["farm"].area_m2
    conserved = conservation_easements(ON)

    # The creek's east half lies beyond the farm: one farm and a half, not two farms.
    assert conserved.area_m2 == pytest.approx(1.5 * farm_m2, rel=1e-6)
    assert conserved.acres == acres(1.5 * farm_m2)
    assert conserved.acres < acres(farm_m2 + easements["creek"].area_m2)
    assert 30 < conserved.acres < 40  # about 23 acres and a half again


def test_easements_not_yet_recorded_or_ended_are_not_counted(easements):
    assert conservation_easements(dt.date(2009, 12, 31)) == Conserved(0, acres(0), 0, 0, 0, 0, 0)
    # Before the creek's recording, the farm and the orchard (apart: their acres add up).
    before_the_creek = conservation_easements(dt.date(2024, 4, 30))
    assert (before_the_creek.easements, before_the_creek.held_by_others) == (2, 1)
    assert before_the_creek.acres == acres(easements["farm"].area_m2 + easements["ended"].area_m2)


def test_the_easements_are_one_query_however_many(easements, django_assert_num_queries):
    for n in range(5):
        factories.easement(geom=lot(LON + n * SIDE, LAT - 2 * SIDE, SIDE))
    with django_assert_num_queries(1):
        conservation_easements(ON)


def test_the_csv_has_a_row_for_each_easement_figure_and_the_acres_note(easements):
    rows = list(csv.reader(io.StringIO(report_csv(stewardship_report(ON)))))
    conserved = conservation_easements(ON)

    mine = [row for row in rows if row[0] == "conservation_easements"]
    assert mine == [
        ["conservation_easements", "in_force", "easements", "2"],
        ["conservation_easements", "in_force", "acres", f"{conserved.acres:f}"],
        ["conservation_easements", "in_force", "area_m2", f"{round(conserved.area_m2, 2):.2f}"],
        ["conservation_easements", "held_by_trust", "easements", "1"],
        ["conservation_easements", "held_by_trust_over_its_land", "easements", "0"],
        ["conservation_easements", "held_by_others", "easements", "1"],
        ["conservation_easements", "monitoring_due", "easements", "1"],
        ["conservation_easements", "open_issues", "issues", "2"],
        ["conservation_easements", "open_violations", "issues", "1"],
    ]
    assert ["notes", "easement_acres", "note", EASEMENT_ACRES_RULE] in rows


def test_the_page_and_the_cli_give_the_easements_and_name_no_party(easements, client):
    report = stewardship_report(ON)
    client.force_login(factories.user(role="read-only"))
    page = client.get("/staff/report/", {"as_of": ON.isoformat()}).content.decode()
    text = render_report(report)
    csv_text = report_csv(report)

    said = (
        f"2 conservation easements in force, protecting {report.conserved.acres} acres: 1 held "
        "by the trust, 1 by other organisations; 1 due a monitoring visit; 2 open issues from "
        "monitoring visits (1 violation)."
    )
    assert said in page and said in text
    assert EASEMENT_ACRES_RULE in text
    assert "counts once" in page
    for private in (HOLDER, GRANTOR, MONITOR, NOTES):
        assert private not in page and private not in text and private not in csv_text


def test_a_report_with_no_easement_says_so_without_the_acres_note():
    report = stewardship_report(ON)

    assert report.conserved.described == "No conservation easement in force."
    assert "easement_acres" not in dict(report.notes)
    assert "Conservation easements\nNo conservation easement in force." in render_report(report)


def test_an_easement_the_trust_holds_over_land_it_bought_since_is_counted_as_merged():
    # The trust held the meadow's easement, then bought the lot under it: the interests merge.
    lot_ = factories.parcel(geom=lot(LON, LAT))
    factories.easement(name="Meadow", geom=lot(LON, LAT), began_on=dt.date(2020, 1, 1))
    factories.holding(parcels=[lot_], acquired_on=dt.date(2026, 1, 5))

    assert conservation_easements(dt.date(2026, 1, 4)).merged == 0
    bought = conservation_easements(dt.date(2026, 1, 5))
    assert (bought.held_by_trust, bought.merged) == (1, 1)
    assert "(1 over land the trust now holds: merged, protecting nothing" in bought.described
