"""On a past date, the report's resales are as they stood that day: a sale contracted by then
and closed later is under contract, with no closing date, and counted apart from the totals
(QA: steward, finding 3). And each closed sale gives the seller's arrears collected from it.

`clt report --as-of 2016-05-01` listed a sale contracted 2016-04-01 as closed on 2016-06-15,
and as of 2021-03-01 said "The trust paid $105,000.00" a month before the trust's closing.
"""

import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest

from leases.cli import render_report
from leases.models import PartyKind, Resale
from leases.report import report_csv, stewardship_report
from tests import factories

pytestmark = pytest.mark.django_db

BEFORE_THE_FIRST_CLOSING = dt.date(2016, 5, 1)
BEFORE_THE_BUY_BACK = dt.date(2021, 3, 1)
AFTER_BOTH = dt.date(2021, 4, 1)


@pytest.fixture
def two_sales():
    """GL-2015-001 resold to a household (contract 2016-04-01, closed 2016-06-15, $300 of the
    seller's arrears collected); GL-2015-002 bought back by the trust (contract 2021-02-01,
    closed 2021-04-01, $105,000)."""
    for reference, buyer, contract_on, closed_on, price, arrears in [
        ("GL-2015-001", factories.party(), dt.date(2016, 4, 1), dt.date(2016, 6, 15),
         D("90000.00"), D("300.00")),
        ("GL-2015-002", factories.party(kind=PartyKind.TRUST, name="The land trust"),
         dt.date(2021, 2, 1), dt.date(2021, 4, 1), D("105000.00"), D("0.00")),
    ]:  # fmt: skip
        home = factories.holding(acquired_on=dt.date(2014, 1, 1), parcels=[factories.parcel()])
        lease = factories.lease(
            reference=reference, holding_=home, starts_on=dt.date(2015, 1, 1),
            purchase_date=dt.date(2015, 1, 1),
        )  # fmt: skip
        Resale.objects.create(
            lease=lease, seller=lease.lessees.get(), buyer=buyer, contract_on=contract_on,
            closed_on=closed_on, formula_price=price, agreed_price=price,
            appraised_value=price + D("40000.00"), arrears_collected=arrears,
        )  # fmt: skip


def csv_rows(on: dt.date) -> list[list[str]]:
    return list(csv.reader(io.StringIO(report_csv(stewardship_report(on)))))


def test_a_sale_closed_after_the_date_is_listed_under_contract_with_no_closing_date(two_sales):
    [sale] = stewardship_report(BEFORE_THE_FIRST_CLOSING).resales

    assert (sale.lease, sale.contract_on, sale.closed_on) == (
        "GL-2015-001", dt.date(2016, 4, 1), None,
    )  # fmt: skip
    assert sale.under_contract and sale.arrears_collected is None


def test_a_sale_under_contract_is_counted_apart_from_the_resales(two_sales):
    totals = stewardship_report(BEFORE_THE_FIRST_CLOSING).resale_totals

    assert (totals.resales, totals.to_households, totals.agreed_total, totals.preserved) == (
        0, 0, D("0.00"), D("0.00"),
    )  # fmt: skip
    assert totals.under_contract == 1
    assert totals.described == "0 resales to households (and 1 under contract, not counted)"
    assert totals.under_contract_note == (
        "Under contract, not closed by the report's date: 1 sale, listed without a closing "
        "date and not counted in the totals."
    )


def test_the_trust_has_paid_nothing_before_its_buy_back_closes(two_sales):
    totals = stewardship_report(BEFORE_THE_BUY_BACK).resale_totals

    assert (totals.trust_purchases, totals.trust_paid, totals.trust_note) == (0, D("0.00"), "")
    assert (totals.resales, totals.agreed_total, totals.under_contract) == (1, D("90000.00"), 1)


def test_once_both_have_closed_both_count(two_sales):
    report = stewardship_report(AFTER_BOTH)
    totals = report.resale_totals

    assert [(s.lease, s.closed_on) for s in report.resales] == [
        ("GL-2015-001", dt.date(2016, 6, 15)), ("GL-2015-002", dt.date(2021, 4, 1)),
    ]  # fmt: skip
    assert (totals.resales, totals.trust_purchases, totals.trust_paid) == (1, 1, D("105000.00"))
    assert (totals.under_contract, totals.under_contract_note) == (0, "")


def test_the_page_and_the_cli_show_no_later_closing_and_no_later_payment(two_sales, client):
    client.force_login(factories.user(role="read-only"))

    for on, later in ((BEFORE_THE_FIRST_CLOSING, "2016-06-15"), (BEFORE_THE_BUY_BACK,
                                                                   "2021-04-01")):  # fmt: skip
        page = client.get("/staff/report/", {"as_of": on.isoformat()}).content.decode()
        text = render_report(stewardship_report(on))
        assert later not in page and later not in text
        assert "The trust paid" not in page and "The trust paid" not in text
    page = client.get("/staff/report/", {"as_of": "2016-05-01"}).content.decode()
    assert "<td>2016-04-01</td><td>under contract</td>" in page
    assert "Total: 0 resales to households (and 1 under contract, not counted)" in page
    assert 'id="resales-under-contract">Under contract, not closed by' in page
    text = render_report(stewardship_report(dt.date(2016, 5, 1)))
    assert "2016-04-01  under contract" in text
    assert "Under contract, not closed by the report's date: 1 sale" in text


@pytest.mark.parametrize("download", [False, True])
def test_both_csvs_give_the_sale_as_it_stood(two_sales, client, download):
    if download:
        client.force_login(factories.user(role="read-only"))
        body = client.get("/staff/report.csv", {"as_of": "2016-05-01"}).content.decode()
        rows = list(csv.reader(io.StringIO(body)))
    else:
        rows = csv_rows(BEFORE_THE_FIRST_CLOSING)

    assert ["resales", "GL-2015-001 2016-04-01", "closed_on", ""] in rows
    assert ["resales", "GL-2015-001 2016-04-01", "arrears_collected", ""] in rows
    assert ["resales", "total", "resales", "0"] in rows
    assert ["resales", "under_contract", "sales", "1"] in rows
    assert [
        "notes", "resales_under_contract", "note",
        "Under contract, not closed by the report's date: 1 sale, listed without a closing date "
        "and not counted in the totals.",
    ] in rows  # fmt: skip
    assert "2016-06-15" not in {row[3] for row in rows}


def test_the_csv_gives_the_arrears_collected_at_each_closing(two_sales):
    rows = csv_rows(AFTER_BOTH)

    assert ["resales", "GL-2015-001 2016-04-01", "arrears_collected", "300.00"] in rows
    assert ["resales", "GL-2015-002 2021-02-01", "arrears_collected", "0.00"] in rows
    assert [s.arrears_collected for s in stewardship_report(AFTER_BOTH).resales] == [
        D("300.00"), D("0.00"),
    ]  # fmt: skip


def test_a_sale_never_closed_is_under_contract_today(two_sales):
    lease = factories.lease(reference="GL-2015-003")
    Resale.objects.create(
        lease=lease, seller=lease.lessees.get(), buyer=factories.party(),
        contract_on=dt.date(2021, 3, 15), formula_price=D("1000"), agreed_price=D("1000"),
    )  # fmt: skip

    totals = stewardship_report(AFTER_BOTH).resale_totals

    assert (totals.resales, totals.trust_purchases, totals.under_contract) == (1, 1, 1)
