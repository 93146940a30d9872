"""The resales section keeps the trust's own buy-backs apart from the resales to new lessees,
and says that "preserved" adds up per sale.

The demo's GL-2021-012 (the trust buying 1723 Lynch St back, 2024-09-10) counted as a third
resale "for the next household", and the total preserved added two sales of one home without
saying so: a funder asking how many homes were resold to households was told 3, not 2.
"""

import csv
import datetime as dt
import io
import re
from decimal import Decimal as D

import pytest

from leases.cli import render_report
from leases.models import PartyKind, Resale
from leases.report import report_csv, stewardship_report
from tests import factories

pytestmark = pytest.mark.django_db

ON = dt.date(2025, 6, 30)


def sale(lease, buyer, day: int, agreed: str, appraised: str, pct_ami: str | None = None):
    Resale.objects.create(
        lease=lease, seller=lease.lessees.get(), buyer=buyer, contract_on=dt.date(2025, 3, day),
        closed_on=dt.date(2025, 4, day),  # counted from the closing, by ON
        formula_price=D(agreed), agreed_price=D(agreed), appraised_value=D(appraised),
        buyer_income_pct_ami=D(pct_ami) if pct_ami else None,
    )  # fmt: skip


@pytest.fixture
def sold_twice_and_bought_back():
    """One home resold twice to households (2025-03-01 and 03-02), one bought back by the trust
    (2025-03-03)."""
    resold = factories.lease(reference="GL-2017-301")
    sale(resold, factories.party(), 1, "60000", "100000", "62.5")
    sale(resold, factories.party(), 2, "70000", "120000", "57.4")
    bought_back = factories.lease(reference="GL-2017-302")
    trust = factories.party(kind=PartyKind.TRUST, name="The land trust")
    sale(bought_back, trust, 3, "74500", "112000")


def test_the_trusts_buy_back_is_listed_but_counted_apart(sold_twice_and_bought_back):
    report = stewardship_report(ON)
    totals = report.resale_totals

    assert [(s.lease, s.bought_by_trust) for s in report.resales] == [
        ("GL-2017-301", False), ("GL-2017-301", False), ("GL-2017-302", True),
    ]  # fmt: skip
    assert (totals.resales, totals.to_households, totals.leases) == (2, 2, 1)
    assert (totals.agreed_total, totals.appraised_total, totals.preserved) == (
        D("130000.00"), D("220000.00"), D("90000.00"),
    )  # fmt: skip
    assert totals.below_market_pct == D("40.9")
    assert (totals.trust_purchases, totals.trust_paid) == (1, D("74500.00"))
    assert totals.described == "2 resales to households"


def test_the_page_the_cli_and_the_csv_mark_the_buy_back_and_say_preserved_is_per_sale(
    sold_twice_and_bought_back, client
):
    report = stewardship_report(ON)
    per_sale = (
        "Preserved adds up per sale, not per home: a home resold twice counts twice (these 2 "
        "resales were on 1 lease)."
    )
    bought = (
        "Bought back by the trust: 1 sale, listed and marked, not counted in the total (the "
        "trust is not the next household)."
    )
    client.force_login(factories.user(role="read-only"))
    page = client.get("/staff/report/", {"as_of": ON.isoformat()}).content.decode()
    text = render_report(report)
    rows = list(csv.reader(io.StringIO(report_csv(report))))

    assert "<strong>bought back by the trust</strong>" in page
    assert "Total: 2 resales to households" in page
    assert "$90,000.00" in page and "$164,500.00" not in page
    assert f"{bought} The trust paid $74,500.00." in page
    assert per_sale in page
    assert re.search(r"GL-2017-302 .* 33\.5%\s+bought back by the trust", text)
    assert re.search(r"Total\s+2 resales to households", text)
    assert per_sale in text and f"{bought} The trust paid $74,500.00." in text
    assert ["resales", "GL-2017-302 2025-03-03", "bought_by_trust", "yes"] in rows
    assert ["resales", "GL-2017-301 2025-03-01", "bought_by_trust", "no"] in rows
    assert ["resales", "total", "resales", "2"] in rows
    assert ["resales", "total", "preserved", "90000.00"] in rows
    assert ["resales", "bought_by_trust", "purchases", "1"] in rows
    assert ["resales", "bought_by_trust", "agreed_total", "74500.00"] in rows
    assert ["notes", "resales_preserved", "note", per_sale] in rows
    assert ["notes", "resales_bought_by_trust", "note", bought] in rows


def test_a_resale_to_a_co_op_is_a_resale_but_not_to_a_household():
    lease = factories.lease(reference="GL-2017-303")
    sale(lease, factories.party(), 1, "60000", "100000")
    sale(lease, factories.party(kind=PartyKind.COOPERATIVE, name="Ewing co-op"), 2, "1", "2")

    totals = stewardship_report(ON).resale_totals

    assert (totals.resales, totals.to_households) == (2, 1)
    assert totals.described == "2 resales to new lessees, 1 to a household"
