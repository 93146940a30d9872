"""A holding counts only while it holds land: the report, `clt holdings` and the home page.

The admin refuses to leave a holding with every parcel gone (parcels/admin.py), but records
written before, or by SQL, may be; and a holding whose parcels were never recorded holds none.
(QA, acquisitions coordinator: an undone acquisition left "30 holdings" on the public page.)
"""

import datetime as dt

import pytest
from click.testing import CliRunner

from clt.cli import main
from leases.report import stewardship_report
from parcels.models import HoldingParcel
from tests import factories

pytestmark = pytest.mark.django_db

ACQUIRED = dt.date(2020, 1, 1)


@pytest.fixture
def emptied_and_kept():
    """One holding with its lot, and one whose only lot left it on 2024-06-01."""
    kept = factories.holding(parcels=[factories.parcel()], acquired_on=ACQUIRED)
    emptied = factories.holding(parcels=[factories.parcel()], acquired_on=ACQUIRED)
    HoldingParcel.objects.filter(holding=emptied).update(ended_on=dt.date(2024, 6, 1))
    factories.holding(acquired_on=ACQUIRED)  # its parcels never recorded
    return kept, emptied


def test_the_report_counts_a_holding_only_while_it_holds_a_parcel(emptied_and_kept):
    assert stewardship_report(dt.date(2024, 5, 31)).held_total.holdings == 2
    assert stewardship_report(dt.date(2024, 6, 1)).held_total.holdings == 1


def test_clt_holdings_lists_only_holdings_with_land(emptied_and_kept):
    kept, emptied = emptied_and_kept
    done = CliRunner().invoke(main, ["holdings", "--as-of", "2025-01-01", "--format", "json"])
    assert done.exit_code == 0, done.output
    assert kept.name in done.output and emptied.name not in done.output


def test_the_home_page_counts_holdings_with_land(emptied_and_kept, client):
    page = client.get("/").content.decode()
    assert "<strong>1</strong> holdings" in page
