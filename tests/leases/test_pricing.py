"""A lease's maximum resale price on a date, from its stored formula and its own records."""

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
from click.testing import CliRunner
from django.utils import timezone

from clt.cli import main
from leases.actions import resale_close, resale_record
from leases.admin import price_breakdown
from leases.models import Appraisal, CapitalImprovement, IndexSeries, IndexValue, RepairDeduction
from leases.pricing import max_resale_price, not_on_record_needed, sale_inputs, series_named
from leases.resale import FormulaError, LineKind, MissingInput
from tests import factories

pytestmark = pytest.mark.django_db

APPRAISAL_25PCT = {"type": "appraisal_share", "share": "0.25", "share_of": "increase"}
WITH_CREDITS = {
    "type": "composed",
    "base": APPRAISAL_25PCT,
    "steps": [{"type": "improvement_credit"}, {"type": "repair_deduction"}],
}


def appraise(
    lease, on: str, value: str, purpose: str = "resale", appraiser: str = ""
) -> Appraisal:
    return Appraisal.objects.create(
        lease=lease, on=dt.date.fromisoformat(on), value=Decimal(value), purpose=purpose,
        appraiser=appraiser,
    )  # fmt: skip


@pytest.fixture
def appraised_lease():
    """docs/domain.md example 1: bought for $250,000, appraised $350,000 then, $475,000 now."""
    lease = factories.lease(
        purchase_price=Decimal("250000.00"),
        purchase_date=dt.date(2017, 6, 1),
        resale_formula=APPRAISAL_25PCT,
    )
    appraise(lease, "2017-05-01", "350000", purpose="purchase")
    appraise(lease, "2025-01-15", "475000")
    return lease


def amounts(result) -> list[tuple[str, Decimal]]:
    return [(line.label, line.amount) for line in result.lines]


def test_fixed_rate_lease_grows_its_purchase_price_to_the_sale_date():
    lease = factories.lease(
        purchase_price=Decimal("250000.00"),
        purchase_date=dt.date(2015, 6, 1),
        resale_formula=factories.FIXED_2PCT_SIMPLE,
    )

    result = max_resale_price(lease, on=dt.date(2025, 6, 1))

    assert result.price == Decimal("300000.00")
    assert amounts(result) == [
        ("Purchase price", Decimal("250000.00")),
        ("Simple appreciation: 2% a year × 10 completed years", Decimal("50000.00")),
    ]


def test_appraisal_share_uses_the_purchase_appraisal_and_the_latest_one_since(appraised_lease):
    result = max_resale_price(appraised_lease, on=dt.date(2025, 6, 1))
    assert result.price == Decimal("281250.00")


def test_an_appraisal_dated_after_the_sale_date_is_not_used(appraised_lease):
    appraise(appraised_lease, "2021-03-01", "400000", purpose="refinance")

    result = max_resale_price(appraised_lease, on=dt.date(2021, 6, 1))

    assert result.price == Decimal("262500.00")  # 250,000 + 25% of (400,000 - 350,000)


def test_an_appraisal_given_by_the_caller_replaces_the_one_on_record(appraised_lease):
    result = max_resale_price(appraised_lease, on=dt.date(2025, 6, 1), appraisal=Decimal("450000"))
    assert result.price == Decimal("275000.00")


def test_without_an_appraisal_since_the_purchase_the_error_says_which_input_is_missing():
    lease = factories.lease(resale_formula=APPRAISAL_25PCT)
    appraise(lease, "2017-05-01", "350000", purpose="purchase")

    with pytest.raises(FormulaError) as error:
        max_resale_price(lease, on=dt.date(2025, 6, 1))

    assert error.value.field == "appraisal_at_resale"


def test_improvements_approved_by_the_sale_date_are_credited_and_repairs_deducted(
    appraised_lease,
):
    appraised_lease.resale_formula = WITH_CREDITS
    CapitalImprovement.objects.create(
        lease=appraised_lease,
        description="New roof",
        approved_on=dt.date(2020, 4, 1),
        completed_on=dt.date(2020, 9, 1),
        cost=Decimal("6000"),
        credit=Decimal("6000"),
    )
    CapitalImprovement.objects.create(
        lease=appraised_lease,
        description="Solar panels",
        approved_on=dt.date(2025, 9, 1),
        cost=Decimal("12000"),
        credit=Decimal("12000"),
    )
    RepairDeduction.objects.create(
        lease=appraised_lease,
        description="Porch steps",
        assessed_on=dt.date(2025, 2, 1),
        amount=Decimal("1200"),
    )

    result = max_resale_price(appraised_lease, on=dt.date(2025, 6, 1))

    assert result.price == Decimal("286050.00")  # 281,250 + 6,000 roof - 1,200 porch
    labels = [line.label for line in result.lines]
    assert "Capital improvement: New roof (100% of cost $6,000.00)" in labels
    assert "Repair deduction: Porch steps" in labels
    assert not [label for label in labels if "Solar" in label]  # approved after the sale date


def test_index_formula_reads_the_series_it_names_from_the_published_values():
    """docs/domain.md example 3: $136,000 with area median income up 10% gives $149,600."""
    series = IndexSeries.objects.create(name="jackson-ms-ami", kind="ami", source="HUD")
    IndexValue.objects.create(series=series, year=2019, value=Decimal("60000"))
    IndexValue.objects.create(series=series, year=2024, value=Decimal("66000"))
    # an income-limit row of the same year is not an index point
    IndexValue.objects.create(
        series=series, year=2024, household_size=4, percent_of_median=80, value=Decimal("58750")
    )
    lease = factories.lease(
        purchase_price=Decimal("136000.00"),
        purchase_date=dt.date(2019, 8, 1),
        resale_formula={"type": "index", "series": "jackson-ms-ami"},
    )

    result = max_resale_price(lease, on=dt.date(2024, 8, 1))

    assert result.price == Decimal("149600.00")


def test_an_index_series_with_no_values_on_record_is_named_in_the_error():
    lease = factories.lease(resale_formula={"type": "index", "series": "jackson-ms-cpi"})
    with pytest.raises(FormulaError, match="jackson-ms-cpi"):
        max_resale_price(lease, on=dt.date(2024, 8, 1))


def test_series_named_finds_index_series_at_any_depth_of_the_formula():
    formula = {
        "type": "composed",
        "base": {"type": "index", "series": "jackson-ms-ami"},
        "steps": [{"type": "lesser_of", "other": {"type": "index", "series": "cpi-u-south"}}],
    }
    assert series_named(formula) == {"jackson-ms-ami", "cpi-u-south"}


def test_a_sale_before_the_purchase_is_refused_naming_both_dates():
    lease = factories.lease(purchase_date=dt.date(2017, 6, 1))
    with pytest.raises(FormulaError, match="2016-01-01 is before the purchase on 2017-06-01"):
        max_resale_price(lease, on=dt.date(2016, 1, 1))


def test_a_stored_formula_that_does_not_parse_raises_formula_error():
    lease = factories.lease(resale_formula={"type": "fixed_rate", "method": "simple"})
    with pytest.raises(FormulaError, match="rate"):
        max_resale_price(lease, on=dt.date(2025, 6, 1))


def test_the_lease_fee_given_to_the_formula_is_the_one_in_force_on_the_sale_date():
    lease = factories.lease(fee_monthly=Decimal("25.00"))
    lease.fee_changes.create(effective_on=dt.date(2017, 6, 1), fee_monthly=Decimal("25.00"))
    lease.fee_changes.create(effective_on=dt.date(2023, 1, 1), fee_monthly=Decimal("40.00"))

    assert sale_inputs(lease, on=dt.date(2022, 12, 31)).lease_fee_monthly == Decimal("25.00")
    assert sale_inputs(lease, on=dt.date(2023, 1, 1)).lease_fee_monthly == Decimal("40.00")


def test_without_a_date_the_price_is_for_a_sale_today():
    lease = factories.lease(purchase_date=dt.date(2017, 6, 1))
    today = timezone.localdate()
    assert max_resale_price(lease) == max_resale_price(lease, on=today)


MORTGAGE_80PCT_4P = {
    "type": "mortgage_based",
    "housing_cost_share": "0.30",
    "interest_rate": "0.065",
    "term_years": 30,
    "down_payment": "5000",
    "percent_of_median": 80,
    "household_size": 4,
}


def hud_limits(name: str = "jackson-ms-income-limits", **limits_by_year) -> IndexSeries:
    series = IndexSeries.objects.create(name=name, kind="hud_income_limit", source="HUD")
    for year, value in limits_by_year.items():
        IndexValue.objects.create(
            series=series,
            year=int(year[1:]),
            household_size=4,
            percent_of_median=80,
            value=Decimal(value),
        )
    return series


def test_mortgage_based_formula_targets_the_hud_limit_in_effect_on_the_sale_date():
    hud_limits(y2023="55900", y2024="58750")
    lease = factories.lease(resale_formula=MORTGAGE_80PCT_4P)

    assert sale_inputs(lease, on=dt.date(2024, 6, 1)).target_income_annual == Decimal("58750.00")
    assert sale_inputs(lease, on=dt.date(2023, 6, 1)).target_income_annual == Decimal("55900.00")
    # before next year's table is loaded, the latest published limits are the ones in effect
    assert sale_inputs(lease, on=dt.date(2025, 2, 1)).target_income_annual == Decimal("58750.00")


def test_mortgage_based_formula_without_taxes_on_record_says_they_are_missing():
    hud_limits(y2024="58750")
    lease = factories.lease(resale_formula=MORTGAGE_80PCT_4P)
    with pytest.raises(FormulaError) as error:
        max_resale_price(lease, on=dt.date(2024, 6, 1))
    assert error.value.field == "taxes_monthly"


def test_mortgage_based_formula_prices_from_the_leases_taxes_insurance_and_fee():
    hud_limits(y2024="58750")
    lease = factories.lease(
        resale_formula=MORTGAGE_80PCT_4P,
        taxes_monthly=Decimal("95.00"),
        insurance_monthly=Decimal("80.00"),
    )
    result = max_resale_price(lease, on=dt.date(2024, 6, 1))

    # Worked by hand: 30% of $58,750 a year is $1,468.75 a month; less taxes $95, insurance $80
    # and the $25 lease fee leaves $1,268.75 for principal and interest: a 30-year loan at 6.5%
    # of 1,268.75 x (1 - (1 + r)^-360) / r with r = 0.065 / 12, plus the $5,000 down payment.
    r = Decimal("0.065") / 12
    loan = Decimal("1268.75") * (1 - (1 + r) ** -360) / r
    assert abs(result.price - (loan + Decimal("5000"))) <= Decimal("0.02")
    assert Decimal("0") < result.price < Decimal("250000")
    labels = " ".join(line.label for line in result.lines)
    assert "tax" in labels.lower() and "insurance" in labels.lower()


def test_without_a_loaded_hud_limit_the_error_names_the_household_sought():
    lease = factories.lease(resale_formula=MORTGAGE_80PCT_4P)
    with pytest.raises(FormulaError, match="80% of median, 4 persons, in 2024 or before"):
        max_resale_price(lease, on=dt.date(2024, 6, 1))


def hud_table(year: int, limits: dict[int, str], percent: int = 80) -> IndexSeries:
    """A year of HUD's income-limit table: {household size: limit}."""
    series = IndexSeries.objects.create(
        name="mobile-al-income-limits", kind="hud_income_limit", source="HUD"
    )
    for size, value in limits.items():
        IndexValue.objects.create(
            series=series, year=year, household_size=size, percent_of_median=percent,
            value=Decimal(value),
        )  # fmt: skip
    return series


def household_of(size: int) -> dict:
    return {**MORTGAGE_80PCT_4P, "household_size": size}


# The figures of the FHWA's worked example of HUD's rule (Mobile, AL, FY 2010: 4 persons
# $40,400, 8 persons $53,350), loaded as a 2024 table; HUD's tables list no more than 8 persons.
MOBILE = {4: "40400", 7: "50000", 8: "53350"}


@pytest.mark.parametrize(
    ("size", "limit", "sum_shown"),
    [
        (9, "56600.00", "$53,350.00 + 8% × $40,400.00 = $56,582.00"),
        (10, "59800.00", "$53,350.00 + 2 × 8% × $40,400.00 = $59,814.00"),
    ],
)
def test_a_household_over_8_persons_is_priced_from_the_4_and_8_person_limits(
    size, limit, sum_shown
):
    hud_table(2024, MOBILE)
    lease = factories.lease(
        resale_formula=household_of(size),
        taxes_monthly=Decimal("120.00"),
        insurance_monthly=Decimal("90.00"),
    )

    result = max_resale_price(lease, on=dt.date(2024, 6, 1))

    derivation = (
        f"{size} persons: 8-person limit + 8% of the 4-person limit for each person over 8 "
        f"(HUD): {sum_shown}, to the nearest $50"
    )
    first, second = result.lines[:2]
    assert (first.label, first.amount) == (derivation, Decimal(limit))
    assert second.label.startswith(f"Target household income (80% of area median income, {size}")
    assert second.amount == Decimal(limit)
    assert sale_inputs(lease, on=dt.date(2024, 6, 1)).target_income_annual == Decimal(limit)


def test_a_household_of_8_or_fewer_reads_its_own_limit_with_no_derivation_line():
    hud_table(2024, MOBILE)
    lease = factories.lease(resale_formula=household_of(7))

    inputs = sale_inputs(lease, on=dt.date(2024, 6, 1))

    assert (inputs.target_income_annual, inputs.target_income_basis) == (Decimal("50000.00"), None)


def test_a_household_over_8_persons_without_an_8_person_limit_says_what_to_load():
    hud_table(2023, {4: "40400", 7: "50000"})
    lease = factories.lease(resale_formula=household_of(9))

    with pytest.raises(FormulaError) as error:
        sale_inputs(lease, on=dt.date(2024, 6, 1))

    assert str(error.value) == (
        "target_income_annual: no HUD income limit is loaded for 80% of median, 9 persons, in "
        "2024 or before: HUD's tables list 1 to 8 persons, and a larger household's limit is "
        "derived from one year's 4- and 8-person limits; the 2023 table has no 8-person limit: "
        "load HUD's full table for 2023"
    )


def test_a_household_over_8_persons_with_no_table_at_all_says_how_its_limit_is_found():
    lease = factories.lease(resale_formula=household_of(9))
    with pytest.raises(FormulaError, match=r"9 persons, in 2024 or before: HUD's tables list 1 "
                       r"to 8 persons, .* 4- and 8-person limits; load HUD's table with both$"):
        max_resale_price(lease, on=dt.date(2024, 6, 1))


def test_two_hud_tables_for_the_same_year_are_refused_rather_than_guessed_between():
    hud_limits("jackson-ms-income-limits", y2024="58750")
    hud_limits("hinds-county-income-limits", y2024="57000")
    lease = factories.lease(resale_formula=MORTGAGE_80PCT_4P)
    with pytest.raises(FormulaError, match="2 HUD income-limit tables"):
        max_resale_price(lease, on=dt.date(2024, 6, 1))


def test_an_earlier_owners_improvements_and_repairs_do_not_count_for_the_current_owner(
    appraised_lease,
):
    appraised_lease.resale_formula = WITH_CREDITS
    before_purchase = appraised_lease.purchase_date - dt.timedelta(days=400)
    CapitalImprovement.objects.create(
        lease=appraised_lease, description="Previous owner's deck",
        approved_on=before_purchase, cost=Decimal("9000"), credit=Decimal("9000"),
    )
    RepairDeduction.objects.create(
        lease=appraised_lease, description="Previous owner's gutters",
        assessed_on=before_purchase, amount=Decimal("700"),
    )

    result = max_resale_price(appraised_lease, on=dt.date(2025, 6, 1))

    assert result.price == Decimal("281250.00")  # published example 1, nothing added or taken
    assert [
        (line.label, line.amount, line.kind)
        for line in result.lines
        if "Previous owner" in line.label
    ] == [  # the deck is said not to count, and why; the gutters were the earlier owner's bill
        (
            "Not credited: Previous owner's deck (approved before the purchase on 2017-06-01)",
            Decimal("9000.00"),
            LineKind.NOTE,
        )
    ]


# --- the appraisal at purchase is the current owner's -------------------------------------------


def test_an_earlier_owners_purchase_appraisal_is_not_the_current_owners():
    lease = factories.lease(purchase_date=dt.date(2024, 9, 20), resale_formula=APPRAISAL_25PCT)
    appraise(lease, "2020-06-25", "101500", purpose="purchase")  # the previous owner's purchase

    inputs = sale_inputs(lease, on=dt.date(2026, 11, 1))

    assert inputs.appraisal_at_purchase is None
    with pytest.raises(FormulaError, match="^appraisal_at_purchase: is needed"):
        max_resale_price(lease, on=dt.date(2026, 11, 1), appraisal=Decimal("140000"))


def test_without_a_purchase_appraisal_the_latest_within_12_months_before_the_purchase_counts():
    lease = factories.lease(purchase_date=dt.date(2024, 9, 20), resale_formula=APPRAISAL_25PCT)
    appraise(lease, "2020-06-25", "101500", purpose="purchase")
    appraise(lease, "2023-09-19", "120000", purpose="refinance")  # 12 months and a day before
    appraise(lease, "2023-09-20", "125000", purpose="refinance")
    appraise(lease, "2024-08-01", "128000", purpose="resale")
    appraise(lease, "2025-01-10", "131000", purpose="refinance")  # after the purchase

    assert sale_inputs(lease, on=dt.date(2026, 11, 1)).appraisal_at_purchase == Decimal("128000")


def test_a_purchase_appraisal_12_months_old_at_the_purchase_still_counts():
    lease = factories.lease(purchase_date=dt.date(2024, 9, 20), resale_formula=APPRAISAL_25PCT)
    appraise(lease, "2023-09-20", "125000", purpose="purchase")
    appraise(lease, "2024-08-01", "128000", purpose="resale")

    assert sale_inputs(lease, on=dt.date(2026, 11, 1)).appraisal_at_purchase == Decimal("125000")


def test_a_purchase_appraisal_after_the_purchase_counts_only_by_the_sale_date():
    lease = factories.lease(purchase_date=dt.date(2024, 9, 20), resale_formula=APPRAISAL_25PCT)
    appraise(lease, "2024-10-15", "129000", purpose="purchase")

    assert sale_inputs(lease, on=dt.date(2026, 11, 1)).appraisal_at_purchase == Decimal("129000")
    assert sale_inputs(lease, on=dt.date(2024, 10, 1)).appraisal_at_purchase is None


def test_an_itemized_formula_names_the_formula_and_the_first_figure_it_misses():
    lease = factories.lease(resale_formula=factories.ITEMIZED_CAPPED)
    with pytest.raises(MissingInput) as error:
        max_resale_price(lease, on=dt.date(2026, 6, 1))
    assert (error.value.field, error.value.needed_by) == ("principal_paid", "itemized formula")
    assert str(error.value) == "principal_paid: is needed by the itemized formula but was not given"


def test_every_figure_no_record_keeps_that_a_formula_needs_is_named_in_the_order_it_reads_them():
    capped = factories.lease(resale_formula=factories.ITEMIZED_CAPPED)
    uncapped = factories.lease(
        resale_formula={**factories.ITEMIZED_CAPPED, "capped_by_net_proceeds": False}
    )
    on = dt.date(2026, 6, 1)

    assert not_on_record_needed(capped, on=on) == (
        "principal_paid", "seller_closing_costs", "seller_net_proceeds"
    )  # fmt: skip
    assert not_on_record_needed(uncapped, on=on) == ("principal_paid", "seller_closing_costs")
    assert not_on_record_needed(factories.lease(), on=on) == ()  # a fixed-rate formula



# --- the seller's purchase appraisal, a current resale appraisal --------------------------------

SHARE_CREDIT_COMMISSION = {
    "type": "composed",
    "base": APPRAISAL_25PCT,
    "steps": [
        {"type": "improvement_credit"},
        {"type": "selling_allowance", "commission_rate": "0.03"},
    ],
}
SALE_2026 = dt.date(2026, 11, 24)


def bought_in_2018(formula: dict = SHARE_CREDIT_COMMISSION, **fields):
    """The tester's case: bought 2018-05-15 for $95,000, appraised $140,000 for that purchase,
    appraised $187,350 for the resale, with a $5,569.34 improvement of the seller's."""
    lease = factories.lease(
        reference="GL-2018-017",
        purchase_price=Decimal("95000.00"),
        purchase_date=dt.date(2018, 5, 15),
        resale_formula=formula,
        **fields,
    )
    appraise(lease, "2018-04-20", "140000", purpose="purchase", appraiser="Smith Appraisals")
    appraise(lease, "2026-10-01", "187350", appraiser="Jones Valuation")
    CapitalImprovement.objects.create(
        lease=lease, description="Heat pump", approved_on=dt.date(2021, 3, 1),
        completed_on=dt.date(2021, 4, 15), cost=Decimal("5569.34"), credit=Decimal("5569.34"),
    )  # fmt: skip
    return lease


@pytest.fixture
def bought_2018():
    return bought_in_2018()


def test_the_next_buyers_lender_appraisal_is_not_the_sellers_purchase_appraisal(bought_2018):
    before = max_resale_price(bought_2018, on=SALE_2026)
    # The buyer's lender appraises the home "at purchase", after the contract: their purchase.
    appraise(bought_2018, "2026-11-10", "187350", purpose="purchase", appraiser="Lender's")

    after = max_resale_price(bought_2018, on=SALE_2026)

    # $95,000 + 25% of ($187,350 - $140,000) + $5,569.34 = $112,406.84, and 3% commission
    assert before.price == after.price == Decimal("115779.05")
    assert sale_inputs(bought_2018, on=SALE_2026).appraisal_at_purchase == Decimal("140000")


def test_after_the_closing_the_buyers_purchase_appraisal_is_the_buyers(bought_2018):
    seller = bought_2018.lessees.get()
    resale = resale_record(
        lease=bought_2018, seller=seller, buyer=factories.party(), contract_on=dt.date(2026, 11, 1),
        formula_price=Decimal("115779.05"), agreed_price=Decimal("115000.00"),
    )  # fmt: skip
    appraise(bought_2018, "2026-11-10", "187350", purpose="purchase", appraiser="Lender's")
    sellers = sale_inputs(bought_2018, on=resale.contract_on)
    assert sellers.appraisal_at_purchase == Decimal("140000")

    resale_close(resale=resale, closed_on=dt.date(2026, 11, 20))  # the buyer's purchase
    bought_2018.refresh_from_db()
    inputs = sale_inputs(bought_2018, on=dt.date(2026, 11, 24))

    assert (inputs.purchase_date, inputs.appraisal_at_purchase) == (
        dt.date(2026, 11, 20), Decimal("187350")
    )  # fmt: skip
    assert inputs.sources == {"appraisal_at_purchase": "2026-11-10, Lender's"}


def test_the_purchase_appraisal_is_the_one_nearest_the_purchase_not_the_latest():
    lease = factories.lease(purchase_date=dt.date(2024, 9, 20), resale_formula=APPRAISAL_25PCT)
    appraise(lease, "2024-03-01", "120000", purpose="purchase")  # 203 days before
    appraise(lease, "2024-09-05", "128000", purpose="purchase")  # 15 days before
    appraise(lease, "2024-11-01", "131000", purpose="purchase")  # 42 days after

    assert sale_inputs(lease, on=dt.date(2026, 11, 1)).appraisal_at_purchase == Decimal("128000")


def test_of_two_purchase_appraisals_as_near_the_purchase_the_one_before_it_counts():
    lease = factories.lease(purchase_date=dt.date(2024, 9, 20), resale_formula=APPRAISAL_25PCT)
    appraise(lease, "2024-09-10", "127000", purpose="purchase")  # ordered before the closing
    appraise(lease, "2024-09-30", "129000", purpose="purchase")

    assert sale_inputs(lease, on=dt.date(2026, 11, 1)).appraisal_at_purchase == Decimal("127000")


@pytest.mark.parametrize(
    "appraised_on, counts",
    [
        ("2023-09-20", True),  # 12 months before the purchase
        ("2023-09-19", False),
        ("2024-12-19", True),  # 90 days after
        ("2024-12-20", False),
    ],
)
def test_a_purchase_appraisal_counts_from_12_months_before_to_90_days_after_the_purchase(
    appraised_on, counts
):
    lease = factories.lease(purchase_date=dt.date(2024, 9, 20), resale_formula=APPRAISAL_25PCT)
    appraise(lease, appraised_on, "125000", purpose="purchase")

    found = sale_inputs(lease, on=dt.date(2026, 11, 1)).appraisal_at_purchase

    assert found == (Decimal("125000") if counts else None)


@pytest.mark.parametrize("sale_on, counts", [("2027-10-01", True), ("2027-10-02", False)])
def test_a_resale_appraisal_counts_up_to_12_months_before_the_sale(bought_2018, sale_on, counts):
    inputs = sale_inputs(bought_2018, on=dt.date.fromisoformat(sale_on))
    assert inputs.appraisal_at_resale == (Decimal("187350") if counts else None)


STALE = (
    "the latest appraisal since the purchase, on 2026-10-01 ($187,350.00, Jones Valuation), is "
    "more than 12 months before the sale on 2033-03-01, too old to value the home at the sale"
)


def test_a_resale_appraisal_years_before_the_sale_is_said_to_be_too_old_not_priced_on(
    bought_2018,
):
    with pytest.raises(MissingInput) as error:
        max_resale_price(bought_2018, on=dt.date(2033, 3, 1))

    assert str(error.value) == (
        f"appraisal_at_resale: is needed by the appraisal-share formula but was not given: {STALE}"
    )
    # a current appraisal given by the caller prices it
    given = max_resale_price(bought_2018, on=dt.date(2033, 3, 1), appraisal=Decimal("240000"))
    assert given.price == Decimal("129336.42")  # (95,000 + 25,000 + 5,569.34) x 1.03


def test_the_panel_and_the_cli_say_the_resale_appraisal_is_too_old(bought_2018, clt):
    panel = panel_text(price_breakdown(bought_2018, dt.date(2033, 3, 1)))
    result = clt("resale-price", "--lease", "GL-2018-017", "--sale-date", "2033-03-01")

    assert panel == (
        "No price on 2033-03-01: The lease's appraisal-share formula needs the home's appraised "
        f"value at resale, and {STALE}. Add a current appraisal under Appraisals below, with "
        "purpose “At resale”."
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: appraisal_at_resale: is needed by the appraisal-share formula but was not "
        f"given: {STALE} (give --appraisal AMOUNT)\n"
    )


# --- where each figure came from, on the lease page and from `clt resale-price` ------------------


@pytest.fixture
def clt(monkeypatch):
    """Run `clt ...` in this process, on the test database."""
    monkeypatch.setattr("leases.cli.setup_django", lambda **kwargs: None)
    return lambda *args: CliRunner().invoke(main, list(args), catch_exceptions=False)


def panel_text(html: str) -> str:
    """The price panel as staff read it: tags dropped, spaces folded."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def sourced_lease():
    """The tester's lease, capped by an index formula and by what a household at 80% of median
    can afford, each read from a loaded table with its source; and an earlier owner's carport."""
    capped = {
        **SHARE_CREDIT_COMMISSION,
        "steps": [
            *SHARE_CREDIT_COMMISSION["steps"],
            {"type": "lesser_of", "other": {"type": "index", "series": "jackson-ms-ami"}},
            {"type": "lesser_of", "other": MORTGAGE_80PCT_4P},
        ],
    }
    lease = bought_in_2018(capped, taxes_monthly=Decimal("95"), insurance_monthly=Decimal("80"))
    ami = IndexSeries.objects.create(name="jackson-ms-ami", kind="ami", source="HUD")
    for year, value in ((2018, "61300"), (2026, "77400")):
        IndexValue.objects.create(
            series=ami, year=year, value=Decimal(value),
            source=f"HUD FY{year} median family income, Jackson, MS MSA",
        )  # fmt: skip
    limits = hud_limits(y2024="58750")
    limits.values.update(source="HUD FY2024 income limits, Jackson, MS MSA")
    CapitalImprovement.objects.create(
        lease=lease, description="Carport", approved_on=dt.date(2017, 8, 1),
        completed_on=dt.date(2017, 10, 1), cost=Decimal("4000"), credit=Decimal("4000"),
    )  # fmt: skip
    return lease


SOURCED_LINES = [  # (label, amount)
    ("Appraised value at resale (2026-10-01, Jones Valuation)", "$187,350.00"),
    ("Appraised value at purchase (2018-04-20, Smith Appraisals)", "$140,000.00"),
    ("Not credited: Carport (approved before the purchase on 2018-05-15)", "$4,000.00"),
    ("Capital improvement: Heat pump (100% of cost $5,569.34)", "$5,569.34"),
    (
        "Index formula: Change with the index (jackson-ms-ami): 2018 61,300 → 2026 77,400 (× "
        "77,400 ÷ 61,300 ≈ 1.2626); source: 2018: HUD FY2018 median family income, Jackson, MS "
        "MSA; 2026: HUD FY2026 median family income, Jackson, MS MSA",
        "$24,951.06",
    ),
    (
        "Mortgage-based formula: Target household income (80% of area median income, 4 persons, "
        "2024 (HUD FY2024 income limits, Jackson, MS MSA)), a year",
        "$58,750.00",
    ),
]


def test_the_lease_page_says_where_each_figure_came_from(sourced_lease):
    panel = panel_text(price_breakdown(sourced_lease, SALE_2026))

    for label, amount in SOURCED_LINES:
        assert f"{label} {amount}" in panel or f"{label} ({amount})" in panel  # item or note
    assert "Maximum resale price on 2026-11-24" in panel
    assert "$115,779.05" in panel  # the carport changes nothing, nor do the caps


def test_clt_resale_price_says_where_each_figure_came_from(sourced_lease, clt):
    result = clt("resale-price", "--lease", "GL-2018-017", "--sale-date", "2026-11-24")

    assert result.exit_code == 0, result.output
    shown = [" ".join(row.split()) for row in result.stdout.splitlines()]
    for label, amount in SOURCED_LINES:
        assert f"{label} {amount}" in shown
    assert shown[-1] == "Maximum resale price $115,779.05"
