"""A resale's cap is checked from the records, on the contract and again at the closing (QA
round of 2026-11-25, staff answering "what may this home sell for?"):

- a contract dated after today is refused (it priced a sale centuries ahead);
- only the lessee can contract to sell (only the closing asked);
- a sale recorded as history fits its home's chain of owners (a household that had sold was
  recorded selling again, and the report counted it);
- the closing prices the sale again: a repair entered since the contract lowers the cap, and a
  formula price recorded above it is refused then;
- the appraisal the formula priced from is kept beside the price, for the report.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from leases.models import GroundLease, Party, RepairDeduction, Resale
from parcels.demo import load_demo_neighbourhood
from tests import factories
from tests.adminpages import change_url
from tests.leases.test_resale_admin import field_errors, post_resale, resale_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    load_demo_neighbourhood()


def household(name: str) -> Party:
    return Party.objects.get(name__istartswith=name)


def test_a_contract_dated_after_today_is_refused(editor):
    lease = factories.lease(reference="GL-2017-004")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    response = post_resale(editor, lease, contract_on=tomorrow.isoformat())

    assert response.status_code == 200
    assert field_errors(response, "contract_on") == [
        f"{tomorrow.isoformat()} is after today: record the sale once its contract is signed "
        "(the formula prices it on the contract date)."
    ]
    assert not Resale.objects.exists()


def test_only_the_lessee_can_contract_to_sell(editor):
    lease = factories.lease(reference="GL-2017-004")
    stranger = factories.party(name="Tester household")

    response = post_resale(editor, lease, seller=stranger.pk, contract_on="2026-10-01",
                           agreed_price="290000")  # fmt: skip

    [error] = field_errors(response, "seller")
    assert error.startswith("Tester household is not a lessee of lease GL-2017-004")
    assert not Resale.objects.exists()


def history_sale(lease: GroundLease, seller: Party, buyer: Party, closed_on: str) -> dict:
    return resale_data(
        lease, seller=seller.pk, buyer=buyer.pk, closed_on=closed_on, contract_on=closed_on,
        formula_price="70000", agreed_price="69000",
    )


def test_a_household_that_sold_cannot_be_recorded_selling_the_home_again(editor, demo):
    """GL-2016-001: Delacroix-Hale sold to Pruitt in 2020, Pruitt to Okonkwo-Baptiste in 2024."""
    lease = GroundLease.objects.get(reference="GL-2016-001")
    newcomer = factories.party(name="Tester household")
    data = history_sale(lease, household("Delacroix"), newcomer, "2022-02-01")

    response = editor.post(reverse("admin:leases_resale_add"), data)

    assert response.status_code == 200
    [seller_error] = field_errors(response, "seller")
    assert seller_error.startswith("The sale before this one, closed on 2020-07-15, was to "
                                   "Pruitt household")  # fmt: skip
    [buyer_error] = field_errors(response, "buyer")
    assert buyer_error.startswith("The next sale, closed on 2024-09-20, was by Pruitt household")
    assert lease.resales.count() == 2


def test_a_sale_before_the_first_recorded_one_fits_when_its_buyer_sold_next(editor, demo):
    lease = GroundLease.objects.get(reference="GL-2016-001")
    builder = factories.party(name="Habitat builder")
    data = history_sale(lease, builder, household("Delacroix"), "2016-03-01")  # its start

    assert editor.post(reverse("admin:leases_resale_add"), data).status_code == 302
    assert lease.resales.count() == 3


def closing_data(editor, resale: Resale, closed_on: dt.date) -> dict:
    data = factories.admin_form_data(editor.get(change_url(resale)))
    data["closed_on"] = closed_on.isoformat()
    return data


def test_a_repair_entered_after_the_contract_lowers_the_cap_the_closing_checks(editor, demo):
    """GL-2020-006 prices at $75,222 on 2026-11-22; a $5,000 repair assessed the day before
    takes it to $70,072 ($5,000 and its 3% commission). The closing used the stored price."""
    lease = GroundLease.objects.get(reference="GL-2020-006")
    response = post_resale(editor, lease, contract_on="2026-11-22", agreed_price="74000")
    assert response.status_code == 302, response.context["adminform"].form.errors
    resale = Resale.objects.get(lease=lease, contract_on=dt.date(2026, 11, 22))
    assert resale.formula_price == Decimal("75222.00")
    RepairDeduction.objects.create(lease=lease, description="Roof", amount=Decimal(5000),
                                   assessed_on=dt.date(2026, 11, 21))  # fmt: skip

    response = editor.post(change_url(resale), closing_data(editor, resale, dt.date(2026, 11, 24)))

    assert response.status_code == 200
    [error] = field_errors(response, "formula_price")
    assert error.startswith("Above the formula's price on 2026-11-22: $70,072.00.")
    resale.refresh_from_db()
    assert resale.closed_on is None
    assert household("Hollowell") in lease.lessees.all()


def test_the_appraisal_the_formula_priced_from_is_kept_with_the_sale(editor, demo):
    """The report compares formula prices with market appraisals: a sale priced from the
    appraisal on record was left without one, and out of the "preserved" figure."""
    lease = GroundLease.objects.get(reference="GL-2020-006")

    post_resale(editor, lease, contract_on="2026-11-22", agreed_price="74000")

    resale = Resale.objects.get(lease=lease, contract_on=dt.date(2026, 11, 22))
    latest = lease.appraisals.filter(on__lte=dt.date(2026, 11, 22)).order_by("on").last()
    assert resale.appraised_value == latest.value


# --- holes found by the re-test (QA s19, tester D) -------------------------------------------


def demo_resale(lease_reference: str, closed_on: str) -> Resale:
    return Resale.objects.get(lease__reference=lease_reference, closed_on=closed_on)


def test_a_closed_sales_cap_cannot_be_raised_nor_its_agreed_price_above_it(editor, demo):
    """GL-2016-001's 2024 closing made the lease's base: $150,000 typed over its $72,625 cap
    took the home's price from $73,250 to $133,000."""
    resale = demo_resale("GL-2016-001", "2024-09-20")
    page = factories.admin_form_data(editor.get(change_url(resale)))

    raised = editor.post(change_url(resale), {**page, "formula_price": "150000.00",
                                              "agreed_price": "150000.00"})  # fmt: skip
    above = editor.post(change_url(resale), {**page, "agreed_price": "80000.00"})

    assert field_errors(raised, "formula_price") == [
        "This sale closed with a formula price of $72,625.00, its cap when it closed: a "
        "correction may lower it, not raise it."
    ]
    assert field_errors(above, "agreed_price") == ["Above the formula price given: $72,625.00."]
    lease = GroundLease.objects.get(reference="GL-2016-001")
    assert lease.purchase_price == Decimal("72000.00")


def test_a_contract_dated_before_the_lessees_purchase_does_not_escape_the_cap(editor, demo):
    """GL-2023-010 was bought on 2023-06-01: a contract dated the day before, closed now, was
    taken as history and its typed $150,000 passed the lease."""
    lease = GroundLease.objects.get(reference="GL-2023-010")

    response = post_resale(editor, lease, contract_on="2023-05-31", closed_on="2026-11-20",
                           formula_price="150000", agreed_price="150000",
                           appraised_value="100000")  # fmt: skip

    [error] = field_errors(response, "contract_on")
    assert error.startswith("2023-05-31 is before the lessee's purchase of the home on "
                            "2023-06-01: a lessee contracts to sell once they hold the lease.")
    assert lease.resales.count() == 0


def test_a_history_sale_moved_past_the_next_sale_breaks_the_chain_and_is_refused(editor, demo):
    resale = demo_resale("GL-2016-001", "2020-07-15")  # Delacroix-Hale to Pruitt
    page = factories.admin_form_data(editor.get(change_url(resale)))

    response = editor.post(change_url(resale), {**page, "closed_on": "2025-01-01"})

    [error] = field_errors(response, "seller")
    assert error.startswith("The sale before this one, closed on 2024-09-20, was to "
                            "Okonkwo-Baptiste household")  # fmt: skip


def test_a_history_sale_before_the_lease_started_is_refused(editor, demo):
    lease = GroundLease.objects.get(reference="GL-2016-001")  # from 2016-03-01
    data = history_sale(lease, factories.party(name="Builder"), household("Delacroix"),
                        "2015-01-01")  # fmt: skip

    response = editor.post(reverse("admin:leases_resale_add"), data)

    [error] = field_errors(response, "closed_on")
    assert error.startswith("Lease GL-2016-001 starts on 2016-03-01, after this closing on "
                            "2015-01-01")  # fmt: skip


def test_the_closing_prices_on_an_appraisal_entered_since_the_contract(editor, demo):
    """The appraised value filled in when the contract was recorded gives way to a newer
    appraisal at the closing: $95,000 on 2026-10-25 takes GL-2020-006's cap from $75,222 to
    $71,617, under the $74,000 agreed."""
    from leases.models import Appraisal

    lease = GroundLease.objects.get(reference="GL-2020-006")
    post_resale(editor, lease, contract_on="2026-11-01", agreed_price="74000")
    resale = Resale.objects.get(lease=lease, contract_on=dt.date(2026, 11, 1))
    assert resale.appraised_value == Decimal("109000.00")
    Appraisal.objects.create(lease=lease, on=dt.date(2026, 10, 25), value=Decimal(95000),
                             purpose="resale")  # fmt: skip
    page = closing_data(editor, resale, dt.date(2026, 11, 20))

    response = editor.post(change_url(resale), {**page, "formula_price": ""})

    assert field_errors(response, "agreed_price") == [
        "Above the formula's price on 2026-11-01: $71,617.00."
    ]
