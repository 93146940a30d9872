"""Resales recorded in the admin: the formula price is the lease's, and a closing passes the
lease to the buyer as `resale_close` does."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from leases.models import GroundLease, IndexSeries, IndexValue, Resale
from parcels.demo import load_demo_neighbourhood
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db

ADD_URL = "admin:leases_resale_add"


@pytest.fixture
def lease():
    """docs/domain.md example 4: $250,000 at 2% simple from 2017-06-01 is $300,000 in 2027-06-01."""
    return factories.lease(reference="GL-2017-004")


@pytest.fixture
def after_the_sale(monkeypatch):
    """Today is the end of 2027, so the example's 2027 closings have happened: a closing is
    only recorded once it has."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: dt.date(2027, 12, 31))


def resale_data(lease: GroundLease, **fields) -> dict[str, str]:
    values = {
        "lease": lease.pk,
        "seller": lease.lessees.get().pk,
        "buyer": factories.party(name="Evers household").pk,
        "contract_on": "2027-06-01",
        "formula_price": "",
        "agreed_price": "290000.00",
    }
    return {key: str(value) for key, value in {**values, **fields}.items()}


def post_resale(client, lease, **fields):
    return client.post(reverse(ADD_URL), resale_data(lease, **fields))


def field_errors(response, name: str) -> list[str]:
    return response.context["adminform"].form.errors.get(name, [])


def test_a_formula_price_above_the_leases_formula_is_refused_naming_the_price(editor, lease):
    response = post_resale(editor, lease, formula_price="310000.00")

    assert response.status_code == 200
    [error] = field_errors(response, "formula_price")
    assert error.startswith("Above the formula's price on 2027-06-01: $300,000.00.")
    assert "clt resale-price --lease GL-2017-004 --sale-date 2027-06-01" in error
    assert not Resale.objects.exists()


def test_the_demo_lease_gl_2019_003_refuses_a_typed_price_of_250000(editor):
    load_demo_neighbourhood()
    lease = GroundLease.objects.get(reference="GL-2019-003")

    response = post_resale(
        editor, lease, contract_on="2026-10-01", formula_price="250000", agreed_price="69000"
    )

    [error] = field_errors(response, "formula_price")
    assert error.startswith("Above the formula's price on 2026-10-01: $69,960.00.")


def test_a_blank_formula_price_is_filled_with_the_leases_formula_price(
    editor, lease, after_the_sale
):
    response = post_resale(editor, lease)

    assert response.status_code == 302
    assert Resale.objects.get().formula_price == Decimal("300000.00")


def test_a_price_at_or_below_the_formula_is_kept_as_entered(editor, lease, after_the_sale):
    response = post_resale(editor, lease, formula_price="295000.00")

    assert response.status_code == 302
    assert Resale.objects.get().formula_price == Decimal("295000.00")


def test_the_given_appraisal_prices_the_sale(editor, after_the_sale):
    lease = factories.lease(resale_formula={"type": "appraised_value"})

    response = post_resale(editor, lease, appraised_value="280000.00", agreed_price="275000")

    assert response.status_code == 302
    assert Resale.objects.get().formula_price == Decimal("280000.00")


def test_a_sale_the_formula_cannot_price_for_want_of_an_appraisal_asks_for_it(
    editor, after_the_sale
):
    """The form has the appraised value's field: the formula prices from it. A cap typed by
    hand was taken unchecked (a home closed at $150,000 against a formula's $59,030)."""
    lease = factories.lease(resale_formula={
        "type": "appraisal_share", "share": "0.25", "share_of": "increase",
        "increase_from": "purchase_price",
    })  # fmt: skip

    for typed in ("", "400000.00"):
        response = post_resale(editor, lease, formula_price=typed)

        assert response.status_code == 200
        [error] = field_errors(response, "appraised_value")
        assert error.startswith("The lease's formula cannot price the sale on 2027-06-01 "
                                "without the appraised value at resale (")  # fmt: skip
        assert error.endswith("give it here (or add the appraisal on the lease page, and save "
                              "it before the resale), and the formula price is filled in from "
                              "it.")  # fmt: skip
        assert field_errors(response, "formula_price") == []
    assert not Resale.objects.exists()

    response = post_resale(editor, lease, appraised_value="330000.00", agreed_price="265000")

    assert response.status_code == 302, response.context["adminform"].form.errors
    # $250,000 + 25% of the $80,000 increase
    assert Resale.objects.get().formula_price == Decimal("270000.00")


def test_a_formula_reading_the_sellers_mortgage_takes_the_price_by_hand(editor, after_the_sale):
    """The registry does not keep the seller's mortgage or closing costs: the price is worked
    out with `clt resale-price --input` and typed, as the message says."""
    lease = factories.lease(resale_formula={
        "type": "itemized", "inflation_rate": "0.02", "inflation_method": "simple",
        "improvement_share": "0.5",
    })  # fmt: skip

    [error] = field_errors(post_resale(editor, lease), "formula_price")

    assert error.endswith(
        "the registry does not keep it: price the sale with `clt resale-price --lease "
        f"{lease.reference} --sale-date 2027-06-01 --input principal_paid=AMOUNT --input "
        "seller_closing_costs=AMOUNT` and enter that formula price by hand."
    )
    assert post_resale(editor, lease, formula_price="295000").status_code == 302


def test_the_seller_cannot_be_the_buyer(editor, lease):
    seller = lease.lessees.get()
    response = post_resale(editor, lease, buyer=seller.pk)
    assert field_errors(response, "buyer") == ["The buyer must be another party than the seller."]


def test_a_resale_cannot_close_before_its_contract(editor, lease, after_the_sale):
    response = post_resale(editor, lease, closed_on="2027-05-31")
    assert field_errors(response, "closed_on") == [
        "2027-05-31 is before the contract date 2027-06-01."
    ]


@pytest.mark.parametrize("pct", ["-1", "1000.1", "9999"])
def test_a_buyer_income_outside_0_to_1000_pct_of_median_is_refused(editor, lease, pct):
    response = post_resale(editor, lease, buyer_income_pct_ami=pct)
    assert field_errors(response, "buyer_income_pct_ami") == ["Give a percentage from 0 to 1000."]


def test_closing_a_resale_in_the_admin_passes_the_lease_to_the_buyer(editor, lease, after_the_sale):
    response = post_resale(editor, lease, closed_on="2027-07-15")

    assert response.status_code == 302
    lease.refresh_from_db()
    buyer = Resale.objects.get().buyer
    assert list(lease.lessees.all()) == [buyer]
    assert lease.purchase_price == Decimal("290000.00")
    assert lease.purchase_date == dt.date(2027, 7, 15)


def test_closing_an_open_resale_on_its_page_passes_the_lease_to_the_buyer(
    editor, lease, after_the_sale
):
    assert post_resale(editor, lease).status_code == 302
    resale = Resale.objects.get()
    data = factories.admin_form_data(editor.get(change_url(resale)))
    data["closed_on"] = "2027-07-15"

    assert editor.post(change_url(resale), data).status_code == 302

    lease.refresh_from_db()
    assert list(lease.lessees.all()) == [resale.buyer]
    assert lease.purchase_date == dt.date(2027, 7, 15)


def test_a_closing_after_today_is_refused_and_the_lease_stays_with_its_lessee(editor, lease):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = post_resale(editor, lease, contract_on="2026-01-05", closed_on=tomorrow.isoformat())

    [error] = field_errors(response, "closed_on")
    assert error.startswith(f"{tomorrow.isoformat()} is after today")
    lease.refresh_from_db()
    assert lease.purchase_date == dt.date(2017, 6, 1) and not Resale.objects.exists()


def test_closing_passes_the_lease_even_when_the_lease_breaks_a_newer_rule(editor, lease):
    """A holding whose acquisition date was put after the lease began (as old data may have
    it): closing a resale writes the buyer's price and date, and does not 500 on the rest."""
    from parcels.models import Holding

    Holding.objects.filter(pk=lease.holding_id).update(acquired_on=dt.date(2020, 1, 1))
    response = post_resale(
        editor, lease, contract_on="2026-01-05", closed_on="2026-02-01", agreed_price="260000",
    )  # fmt: skip

    assert response.status_code == 302, response.context and response.context["errors"]
    lease.refresh_from_db()
    assert lease.purchase_date == dt.date(2026, 2, 1)


def signed_in_2012(lease: GroundLease) -> GroundLease:
    """`lease` as signed in 2012 by an earlier household: a sale closed before its current
    purchase, in 2017, was a sale of this lease (one before its start is refused)."""
    GroundLease.objects.filter(pk=lease.pk).update(starts_on=dt.date(2012, 6, 1))
    lease.refresh_from_db()
    return lease


def test_a_historical_resale_closed_before_the_current_purchase_leaves_the_lease(editor, lease):
    lease = signed_in_2012(lease)
    seller, lessee = factories.party(), lease.lessees.get()

    response = post_resale(
        editor, lease, seller=seller.pk, buyer=lessee.pk, contract_on="2017-04-01",
        closed_on="2017-05-01", formula_price="252000", agreed_price="250000",
    )  # fmt: skip

    assert response.status_code == 302
    lease.refresh_from_db()
    assert list(lease.lessees.all()) == [lessee]
    assert lease.purchase_date == dt.date(2017, 6, 1)
    assert lease.purchase_price == Decimal("250000.00")


def inline_resale(editor, lease, **fields) -> dict:
    """The lease page's POST body with one new resale in its inline."""
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["resales-TOTAL_FORMS"] = "1"
    for key, value in resale_data(lease, **fields).items():
        if key != "lease":
            data[f"resales-0-{key}"] = value
    return data


def test_the_resale_inline_on_the_lease_page_refuses_a_price_above_the_formula(editor, lease):
    response = editor.post(change_url(lease), inline_resale(editor, lease, formula_price="310000"))

    assert response.status_code == 200
    [formset] = [
        inline.formset for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is Resale
    ]  # fmt: skip
    [error] = formset.forms[0].errors["formula_price"]
    assert error.startswith("Above the formula's price on 2027-06-01: $300,000.00.")
    assert not Resale.objects.exists()


def test_a_resale_closed_in_the_lease_pages_inline_passes_the_lease_to_the_buyer(
    editor, lease, after_the_sale
):
    data = inline_resale(editor, lease, closed_on="2027-07-01")

    response = editor.post(change_url(lease), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    lease.refresh_from_db()
    resale = Resale.objects.get()
    assert resale.formula_price == Decimal("300000.00")
    assert list(lease.lessees.all()) == [resale.buyer]
    assert (lease.purchase_price, lease.purchase_date) == (
        Decimal("290000.00"), dt.date(2027, 7, 1),
    )  # fmt: skip


def test_an_agreed_price_above_the_formula_is_refused_at_the_agreed_price_with_the_price(
    editor, lease
):
    response = post_resale(editor, lease, agreed_price="310000.00")

    assert field_errors(response, "agreed_price") == [
        "Above the formula's price on 2027-06-01: $300,000.00."
    ]
    assert not Resale.objects.exists()


def test_an_agreed_price_above_the_formula_price_typed_is_refused_with_it(editor, lease):
    response = post_resale(editor, lease, formula_price="280000.00", agreed_price="285000.00")

    assert field_errors(response, "agreed_price") == [
        "Above the formula price given: $280,000.00."
    ]


# --- a closing passes only a lease in force, and only from its lessee --------------------------


def test_a_closing_by_a_seller_who_is_not_the_lessee_is_refused_naming_the_lessees(editor):
    load_demo_neighbourhood()
    lease = GroundLease.objects.get(reference="GL-2019-016")
    stranger = factories.party(name="Nobody's household")

    response = post_resale(
        editor, lease, seller=stranger.pk, contract_on="2026-10-01", closed_on="2026-11-01",
        agreed_price="20000",
    )  # fmt: skip

    assert field_errors(response, "seller") == [
        "Nobody's household is not a lessee of lease GL-2019-016: it is held by Freedom Farm "
        "Cooperative. Only a lessee can sell the home; choose Freedom Farm Cooperative as the "
        "seller."
    ]
    lease.refresh_from_db()
    assert [party.name for party in lease.lessees.all()] == ["Freedom Farm Cooperative"]
    assert (lease.purchase_price, lease.purchase_date) == (
        Decimal("18000.00"), dt.date(2019, 1, 1),
    )  # fmt: skip
    assert not Resale.objects.filter(lease=lease).exists()


def test_a_closing_after_the_lease_was_terminated_is_refused_with_its_end_date(editor):
    load_demo_neighbourhood()
    lease = GroundLease.objects.get(reference="GL-2021-012")
    lessee = lease.lessees.get()

    response = post_resale(
        editor, lease, seller=lessee.pk, contract_on="2026-10-01", closed_on="2026-11-20",
        formula_price="70000", agreed_price="70000",
    )  # fmt: skip

    assert field_errors(response, "closed_on") == [
        "Lease GL-2021-012 ended on 2024-10-31 (terminated), before this closing on "
        "2026-11-20: only a lease in force passes to a buyer. Check the closing date, or sign "
        "a new lease with the buyer."
    ]
    lease.refresh_from_db()
    assert list(lease.lessees.all()) == [lessee]


def test_a_closing_on_the_day_the_lease_ends_still_passes_it(editor, lease, after_the_sale):
    """A surrender on the sale of the home to the trust ends the lease on the closing day."""
    GroundLease.objects.filter(pk=lease.pk).update(
        status="terminated", ended_on=dt.date(2027, 7, 15)
    )

    response = post_resale(editor, lease, closed_on="2027-07-15")

    assert response.status_code == 302, response.context and response.context["errors"]
    lease.refresh_from_db()
    assert list(lease.lessees.all()) == [Resale.objects.get().buyer]


def test_resale_close_refuses_a_seller_who_is_not_the_lessee_and_writes_nothing(lease):
    from django.core.exceptions import ValidationError

    from leases.actions import resale_close, resale_record

    lessee = lease.lessees.get()
    resale = resale_record(
        lease=lease, seller=factories.party(), buyer=factories.party(),
        contract_on=dt.date(2025, 1, 6), formula_price=Decimal("280000"),
        agreed_price=Decimal("280000"),
    )  # fmt: skip

    with pytest.raises(ValidationError) as refused:
        resale_close(resale=resale, closed_on=dt.date(2025, 2, 3))

    assert "is not a lessee of lease GL-2017-004" in refused.value.message_dict["seller"][0]
    lease.refresh_from_db()
    resale.refresh_from_db()
    assert list(lease.lessees.all()) == [lessee] and resale.closed_on is None
    assert Resale.objects.get().closed_on is None


# --- correcting a closed resale ----------------------------------------------------------------


def closed_resale_page(editor, lease):
    """A resale of `lease` closed on 2027-07-15 at $290,000, and its change page's POST body."""
    assert post_resale(editor, lease, closed_on="2027-07-15").status_code == 302
    resale = Resale.objects.get()
    return resale, factories.admin_form_data(editor.get(change_url(resale)))


def test_correcting_the_latest_closing_moves_the_leases_purchase_base(
    editor, lease, after_the_sale
):
    resale, data = closed_resale_page(editor, lease)
    data.update(agreed_price="285000.00", closed_on="2027-07-01")

    response = editor.post(change_url(resale), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    lease.refresh_from_db()
    assert (lease.purchase_price, lease.purchase_date) == (
        Decimal("285000.00"), dt.date(2027, 7, 1),
    )  # fmt: skip
    assert list(lease.lessees.all()) == [resale.buyer]


def test_correcting_the_buyer_of_the_latest_closing_makes_them_the_lessee(
    editor, lease, after_the_sale
):
    resale, data = closed_resale_page(editor, lease)
    meant = factories.party(name="Moses household")
    data["buyer"] = str(meant.pk)

    assert editor.post(change_url(resale), data).status_code == 302

    lease.refresh_from_db()
    assert list(lease.lessees.all()) == [meant]


def test_correcting_a_historical_closing_leaves_the_lease(editor, lease):
    lease = signed_in_2012(lease)
    seller, lessee = factories.party(), lease.lessees.get()
    post_resale(
        editor, lease, seller=seller.pk, buyer=lessee.pk, contract_on="2017-04-01",
        closed_on="2017-05-01", formula_price="252000", agreed_price="250000",
    )  # fmt: skip
    resale = Resale.objects.get()
    data = factories.admin_form_data(editor.get(change_url(resale)))
    data.update(agreed_price="249000.00", closed_on="2017-05-02")

    assert editor.post(change_url(resale), data).status_code == 302

    lease.refresh_from_db()
    assert (lease.purchase_price, lease.purchase_date) == (
        Decimal("250000.00"), dt.date(2017, 6, 1),
    )  # fmt: skip


def test_clearing_the_date_of_the_closing_that_passed_the_lease_is_refused(
    editor, lease, after_the_sale
):
    resale, data = closed_resale_page(editor, lease)
    data["closed_on"] = ""

    response = editor.post(change_url(resale), data)

    [error] = field_errors(response, "closed_on")
    assert error.startswith("This closing on 2027-07-15 passed lease GL-2017-004 to the buyer")
    resale.refresh_from_db()
    assert resale.closed_on == dt.date(2027, 7, 15)


def test_correcting_the_closing_to_a_day_after_the_lease_ended_is_refused(
    editor, lease, after_the_sale
):
    resale, data = closed_resale_page(editor, lease)
    GroundLease.objects.filter(pk=lease.pk).update(
        status="terminated", ended_on=dt.date(2027, 8, 1)
    )
    data["closed_on"] = "2027-08-02"

    response = editor.post(change_url(resale), data)

    [error] = field_errors(response, "closed_on")
    assert error.startswith("Lease GL-2017-004 ended on 2027-08-01 (terminated), before")


def test_a_formula_price_too_large_to_record_says_so_and_why(editor):
    from leases.models import IndexSeries, IndexValue

    series = IndexSeries.objects.create(name="typo-index", kind="cpi", source="typed by hand")
    IndexValue.objects.create(series=series, year=2017, value=Decimal("0.0001"))
    IndexValue.objects.create(series=series, year=2027, value=Decimal("1200000000"))
    lease = factories.lease(
        reference="GL-2017-004", resale_formula={"type": "index", "series": "typo-index"}
    )

    response = post_resale(editor, lease, agreed_price="290000")

    assert field_errors(response, "formula_price") == [
        "The formula's price on 2027-06-01, $3,000,000,000,000,000,000.00, is too large to "
        "record (the registry holds prices up to $999,999,999,999.99). So large a figure comes "
        "from a wrong input: check the formula's rates and index values, and the purchase "
        "price and date on lease GL-2017-004."
    ]
    assert not Resale.objects.exists()


# --- a buyer above the trust's income limit is warned of, not refused ---------------------------


@pytest.fixture
def hud_limits_2024():
    """HUD's 2024 low-income (80%) limit for 4 persons, as docs/domain.md gives it for Jackson."""
    series = IndexSeries.objects.create(
        name="jackson-ms-hud-income-limits", kind="hud_income_limit", source="HUD FY2024"
    )
    IndexValue.objects.create(
        series=series, year=2024, household_size=4, percent_of_median=80, value=Decimal("58750")
    )


def warnings_said(response) -> list[str]:
    return [
        str(message) for message in get_messages(response.wsgi_request)
        if message.level == messages.WARNING
    ]  # fmt: skip


def buyer_of_four() -> str:
    return str(factories.party(name="Evers household", household_size=4).pk)


def test_closing_to_a_buyer_above_the_income_limit_warns_with_the_limit_and_hud_year(
    editor, lease, after_the_sale, hud_limits_2024
):
    response = post_resale(
        editor, lease, buyer=buyer_of_four(), closed_on="2027-07-15", buyer_income_pct_ami="135.0"
    )

    assert response.status_code == 302
    assert list(lease.lessees.all()) == [Resale.objects.get().buyer]  # warned, not refused
    assert warnings_said(response) == [
        "The resale of GL-2017-004 to Evers household, closed on 2027-07-15, is to a buyer "
        "above the trust's buyer income limit: their income is 135.0% of area median income, "
        "above the limit of 80% (CLT_BUYER_INCOME_LIMIT_PCT_AMI). HUD's income limit at "
        "80% of median for 4 persons is $58,750.00, from the 2024 (HUD FY2024) table. "
        "It closed all the same: record the board's exception (a limit is not a refusal)."
    ]


def test_a_buyer_at_the_income_limit_is_not_warned(editor, lease, after_the_sale):
    response = post_resale(editor, lease, closed_on="2027-07-15", buyer_income_pct_ami="80.0")

    assert response.status_code == 302
    assert warnings_said(response) == []


def test_a_resale_above_the_limit_saved_before_closing_says_an_exception_is_needed(
    editor, lease, hud_limits_2024, after_the_sale
):
    response = post_resale(editor, lease, buyer=buyer_of_four(), buyer_income_pct_ami="80.1")

    [warning] = warnings_said(response)
    assert "their income is 80.1% of area median income, above the limit of 80%" in warning
    assert warning.endswith("It was saved: the board's exception is needed before it closes.")


def test_without_hud_income_limits_loaded_the_warning_says_they_are_missing(
    editor, lease, after_the_sale
):
    response = post_resale(
        editor, lease, buyer=buyer_of_four(), closed_on="2027-07-15", buyer_income_pct_ami="135.0"
    )

    [warning] = warnings_said(response)
    assert "135.0% of area median income, above the limit of 80%" in warning
    assert (
        "HUD's figure for the household is not given (no HUD income limit is loaded for 80% of "
        "median, 4 persons, in 2027 or before): load HUD's table with `clt load-index "
        "--kind hud_income_limit`."
    ) in warning


def test_a_closing_without_the_buyers_income_says_the_limit_was_not_checked(
    editor, lease, after_the_sale
):
    response = post_resale(editor, lease, closed_on="2027-07-15")

    assert warnings_said(response) == [
        "The resale of GL-2017-004 to Evers household, closed on 2027-07-15, was saved without "
        "the buyer's income as % of area median income, so whether they are within the trust's "
        "buyer income limit (80% of AMI, CLT_BUYER_INCOME_LIMIT_PCT_AMI) was not checked: "
        "enter their certified income as “Buyer income pct ami” on the resale."
    ]


def test_the_lease_pages_inline_warns_of_a_buyer_above_the_limit(editor, lease, after_the_sale):
    data = inline_resale(editor, lease, closed_on="2027-07-01", buyer_income_pct_ami="135.0")

    response = editor.post(change_url(lease), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    [warning] = warnings_said(response)
    assert warning.startswith(
        "The resale of GL-2017-004 to Evers household, closed on 2027-07-01, is to a buyer "
        "above the trust's buyer income limit: their income is 135.0% of area median income"
    )
    assert "Evers household's household size" not in warning  # the factory's household of 3


def test_the_warning_follows_the_trusts_limit(editor, lease, after_the_sale, settings):
    settings.CLT_BUYER_INCOME_LIMIT_PCT_AMI = 140

    response = post_resale(editor, lease, closed_on="2027-07-15", buyer_income_pct_ami="135.0")

    assert warnings_said(response) == []
