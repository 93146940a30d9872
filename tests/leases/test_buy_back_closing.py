"""A closing whose buyer is the land trust itself (its purchase option) ends the lease on the
closing day: the lease merges back into the trust's ownership (QA: steward, findings 1 and 4).

It made the trust the lessee of its own land on a lease still active, at the trust's price and
date, and took the home off the public list just as it became the trust's to offer again: the
staff map and the report counted a fee due from the trust to itself, the price panel priced
the trust's purchase over zero years, and the earlier sales could no longer be re-priced.
"""

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from leases.actions import monitoring_record, resale_close, resale_record
from leases.admin import price_panel
from leases.models import GroundLease, PartyKind, Resale
from leases.pricing import max_resale_price
from leases.report import stewardship_report
from tests import factories
from tests.adminpages import change_url, opened

pytestmark = pytest.mark.django_db

CONTRACT = dt.date(2026, 10, 1)
CLOSED = dt.date(2026, 11, 20)
TODAY = dt.date(2026, 12, 1)
D0 = Decimal("0.00")


@pytest.fixture(autouse=True)
def today(monkeypatch):
    """The trust's day, after the closing: a closing is recorded once it has happened."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


@pytest.fixture
def lease() -> GroundLease:
    """GL-2019-003 on 1402 Florence Ave, the Hollins household's since 2017-06-01 ($250,000,
    2% a year, simple): in default, $150 unpaid, a late-fee notice and an inspection open."""
    home = factories.holding(name="1402 Florence Ave", parcels=[factories.parcel()])
    seller = factories.party(name="Hollins household")
    lease = factories.lease(
        reference="GL-2019-003", holding_=home, lessees=(seller,), status="in_default",
        arrears=Decimal("150.00"),
    )  # fmt: skip
    monitoring_record(lease=lease, type="late_fee_payment", on=dt.date(2026, 6, 5))
    monitoring_record(lease=lease, type="inspection", on=dt.date(2026, 7, 1))
    return lease


@pytest.fixture
def trust():
    return factories.party(kind=PartyKind.TRUST, name="The land trust", household_size=None)


def buy_back(lease: GroundLease, trust, closed_on: dt.date = CLOSED) -> Resale:
    resale = resale_record(
        lease=lease, seller=lease.lessees.get(), buyer=trust, contract_on=CONTRACT,
        formula_price=Decimal("281000.00"), agreed_price=Decimal("280000.00"),
    )  # fmt: skip
    resale_close(resale=resale, closed_on=closed_on)
    lease.refresh_from_db()
    resale.refresh_from_db()
    return resale


def test_a_buy_back_ends_the_lease_on_the_closing_day(lease, trust):
    buy_back(lease, trust)

    assert (lease.status, lease.ended_on, lease.end_reason) == (
        "terminated", CLOSED, "The trust bought the home back at the resale closing",
    )  # fmt: skip


def test_a_buy_back_leaves_the_sellers_lessees_and_purchase_on_the_lease(lease, trust):
    buy_back(lease, trust)

    assert [party.name for party in lease.lessees.all()] == ["Hollins household"]
    assert (lease.purchase_price, lease.purchase_date) == (
        Decimal("250000.00"), dt.date(2017, 6, 1),
    )  # fmt: skip


def test_a_buy_back_settles_the_sellers_side_as_any_closing_does(lease, trust):
    resale = buy_back(lease, trust)

    assert (resale.arrears_collected, lease.arrears) == (Decimal("150.00"), Decimal("0.00"))
    late = lease.monitoring.get(type="late_fee_payment")
    assert (late.status, late.resolved_on) == ("resolved", CLOSED)
    assert late.notes == (
        "Settled at the resale closing on 2026-11-20: the trust bought the home back from "
        "Hollins household."
    )
    assert lease.monitoring.get(type="inspection").status == "open"  # the home's, for staff


@pytest.mark.parametrize("listed", [True, False])
def test_a_buy_back_leaves_the_homes_listing_as_it_was(lease, trust, listed):
    lease.holding.available = listed
    lease.holding.save(update_fields=["available"])

    buy_back(lease, trust)

    lease.holding.refresh_from_db()
    assert lease.holding.available is listed


def test_the_lease_bought_back_is_no_longer_in_force_nor_owes_the_trust(lease, trust):
    buy_back(lease, trust)

    assert list(GroundLease.objects.in_force(CLOSED - dt.timedelta(days=1))) == [lease]
    assert list(GroundLease.objects.in_force(CLOSED)) == []
    report = stewardship_report(TODAY)
    statuses = {line.status: line.leases for line in report.leases}
    assert (statuses["active"], statuses["in_default"], statuses["terminated"]) == (0, 0, 1)
    assert (report.arrears.in_force, report.arrears.total) == (0, Decimal("0.00"))


def test_the_sales_before_the_buy_back_can_still_be_priced(lease, trust):
    buy_back(lease, trust)

    # It said "before the purchase on 2026-11-20": the trust's closing had become the base.
    assert max_resale_price(lease, on=dt.date(2022, 6, 1)).price == Decimal("275000.00")


def test_the_price_panel_says_the_trust_bought_it_back_and_prices_the_sellers_last_day(
    lease, trust
):
    buy_back(lease, trust)

    panel = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", price_panel(lease, TODAY))).split())

    assert panel.startswith(
        "This lease ended on 2026-11-20 (terminated: The trust bought the home back at the "
        "resale closing), so it has no resale price today. Its last resale closed on "
        "2026-11-20 at $280,000.00 (formula price $281,000.00). Maximum resale price on "
        "2026-10-01, the contract day of the trust's buy-back that ended the lease, at its "
        "appraisal"
    )
    # The seller's $250,000 of 2017-06-01 at 2% a year for 9 whole years, not the trust's
    # $280,000 of the closing day over no years.
    assert "Maximum resale price $295,000.00" in panel


def test_a_lease_already_ended_that_day_keeps_its_own_reason(lease, trust):
    GroundLease.objects.filter(pk=lease.pk).update(
        status="terminated", ended_on=CLOSED, end_reason="Surrendered under the purchase option"
    )
    lease.refresh_from_db()

    buy_back(lease, trust)

    assert (lease.status, lease.ended_on, lease.end_reason) == (
        "terminated", CLOSED, "Surrendered under the purchase option",
    )  # fmt: skip
    assert [party.name for party in lease.lessees.all()] == ["Hollins household"]


def test_a_closing_to_a_household_still_passes_the_lease_and_unlists_the_home(lease):
    lease.holding.available = True
    lease.holding.save(update_fields=["available"])

    resale = resale_record(
        lease=lease, seller=lease.lessees.get(), buyer=factories.party(name="Evers household"),
        contract_on=CONTRACT, formula_price=Decimal("281000.00"),
        agreed_price=Decimal("280000.00"),
    )  # fmt: skip
    resale_close(resale=resale, closed_on=CLOSED)

    lease.refresh_from_db()
    lease.holding.refresh_from_db()
    assert (lease.status, lease.ended_on, lease.purchase_date) == ("active", None, CLOSED)
    assert [party.name for party in lease.lessees.all()] == ["Evers household"]
    assert lease.holding.available is False


# --- in the admin --------------------------------------------------------------------------------


def resale_post(lease: GroundLease, buyer, **fields) -> dict[str, str]:
    values = {
        "lease": lease.pk,
        "seller": lease.lessees.get().pk,
        "buyer": buyer.pk,
        "contract_on": CONTRACT.isoformat(),
        "closed_on": CLOSED.isoformat(),
        "formula_price": "281000.00",
        "agreed_price": "280000.00",
    }
    return {key: str(value) for key, value in {**values, **fields}.items()}


def test_the_admin_tells_staff_the_lease_ended_and_the_home_is_not_listed(editor, lease, trust):
    response = editor.post(reverse("admin:leases_resale_add"), resale_post(lease, trust),
                           follow=True)  # fmt: skip

    said = [str(message) for message in get_messages(response.wsgi_request)]
    assert (
        "Lease GL-2019-003 ended on 2026-11-20: the trust bought the home back. The seller's "
        "arrears of $150.00 were collected from the sale (recorded on the resale); the lease "
        "owes nothing now. The lease was in default: the default was the seller's, settled by "
        "the sale. 1 of the seller's open monitoring events resolved as settled at the "
        "closing: Late lease-fee payment. 1402 Florence Ave is not listed as available; tick "
        "Available on its holding to list it."
    ) in said
    lease.refresh_from_db()
    assert (lease.status, lease.ended_on) == ("terminated", CLOSED)


def test_the_admin_says_a_listed_home_stays_listed(editor, lease, trust):
    lease.holding.available = True
    lease.holding.save(update_fields=["available"])

    response = editor.post(reverse("admin:leases_resale_add"), resale_post(lease, trust),
                           follow=True)  # fmt: skip

    [closing] = [str(message) for message in get_messages(response.wsgi_request)
                 if "trust bought" in str(message)]  # fmt: skip
    assert closing.endswith("Late lease-fee payment. 1402 Florence Ave stays listed as available.")


def test_a_buy_back_closed_in_the_lease_pages_inline_ends_the_lease(editor, lease, trust):
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["resales-TOTAL_FORMS"] = "1"
    for key, value in resale_post(lease, trust).items():
        if key != "lease":
            data[f"resales-0-{key}"] = value

    response = editor.post(change_url(lease), data, follow=True)

    lease.refresh_from_db()
    assert (lease.status, lease.ended_on, lease.arrears) == ("terminated", CLOSED, D0)
    assert [party.name for party in lease.lessees.all()] == ["Hollins household"]
    said = " ".join(str(message) for message in get_messages(response.wsgi_request))
    assert "Lease GL-2019-003 ended on 2026-11-20: the trust bought the home back." in said


def test_a_corrected_buy_back_date_moves_the_leases_end(editor, lease, trust):
    resale = buy_back(lease, trust)
    data = opened(editor, resale)
    data["closed_on"] = "2026-11-18"

    response = editor.post(change_url(resale), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    lease.refresh_from_db()
    assert (lease.status, lease.ended_on) == ("terminated", dt.date(2026, 11, 18))
    assert [party.name for party in lease.lessees.all()] == ["Hollins household"]


def test_clearing_a_buy_backs_date_or_changing_its_buyer_is_refused(editor, lease, trust):
    resale = buy_back(lease, trust)
    cleared = {**opened(editor, resale), "closed_on": ""}
    other = {**opened(editor, resale), "buyer": factories.party(name="Evers household").pk}

    refused = editor.post(change_url(resale), cleared).context["adminform"].form.errors
    changed = editor.post(change_url(resale), other).context["adminform"].form.errors

    assert refused["closed_on"] == [
        "This closing on 2026-11-20 ended lease GL-2019-003: the trust bought the home back. "
        "Clearing its date would not reopen the lease: correct the date, or reopen the lease on "
        "its page first (clear its end date, set its status)."
    ]
    assert changed["buyer"][0].startswith(
        "This closing on 2026-11-20 ended lease GL-2019-003: the trust bought the home back. "
        "Another buyer would hold the lease, which has ended"
    )
    resale.refresh_from_db()
    assert (resale.closed_on, resale.buyer) == (CLOSED, trust)


def test_a_closing_that_passed_the_lease_cannot_be_corrected_into_a_buy_back(
    editor, lease, trust
):
    resale = resale_record(
        lease=lease, seller=lease.lessees.get(), buyer=factories.party(name="Evers household"),
        contract_on=CONTRACT, formula_price=Decimal("281000.00"),
        agreed_price=Decimal("280000.00"),
    )  # fmt: skip
    resale_close(resale=resale, closed_on=CLOSED)
    data = {**opened(editor, resale), "buyer": trust.pk}

    errors = editor.post(change_url(resale), data).context["adminform"].form.errors

    assert "a sale to the trust ends the lease" in errors["buyer"][0]
    lease.refresh_from_db()
    assert [party.name for party in lease.lessees.all()] == ["Evers household"]


def test_a_buy_back_that_cannot_close_is_refused_and_writes_nothing(lease, trust):
    resale = resale_record(
        lease=lease, seller=factories.party(name="Not the lessee"), buyer=trust,
        contract_on=CONTRACT, formula_price=Decimal("281000.00"),
        agreed_price=Decimal("280000.00"),
    )  # fmt: skip

    with pytest.raises(ValidationError):
        resale_close(resale=resale, closed_on=CLOSED)

    lease.refresh_from_db()
    assert (lease.status, lease.ended_on, lease.arrears) == ("in_default", None, Decimal("150.00"))


def test_the_panel_prices_the_buy_back_at_its_own_appraisal_not_a_later_one(lease, trust):
    """An appraisal-share lease: the panel gave $69,960 beside the buy-back's $108,180, from a
    refinance appraisal on record instead of the one the closing used (QA re-test, 3)."""
    from leases.models import Appraisal

    lease.resale_formula = {"type": "appraisal_share", "share": "0.25", "share_of": "increase"}
    lease.save()
    Appraisal.objects.create(lease=lease, on=lease.purchase_date, value=Decimal("250000"),
                             purpose="purchase")  # fmt: skip
    resale = resale_record(
        lease=lease, seller=lease.lessees.get(), buyer=trust, contract_on=CONTRACT,
        formula_price=Decimal("262500.00"), agreed_price=Decimal("262500.00"),
        appraised_value=Decimal("300000.00"),
    )  # fmt: skip
    Appraisal.objects.create(lease=lease, on=dt.date(2026, 10, 15), value=Decimal("200000"),
                             purpose="refinance")  # a later one, lower  # fmt: skip
    resale_close(resale=resale, closed_on=CLOSED)
    lease.refresh_from_db()

    panel = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", price_panel(lease, TODAY))).split())

    # $250,000 + 25% of ($300,000 - $250,000): the buy-back's own figure, as recorded.
    assert "Maximum resale price $262,500.00" in panel
