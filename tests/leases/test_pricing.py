"""A lease's maximum resale price on a date, from its stored formula and its own records."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from leases.models import Appraisal, CapitalImprovement, IndexSeries, IndexValue, RepairDeduction
from leases.pricing import max_resale_price, not_on_record_needed, sale_inputs, series_named
from leases.resale import FormulaError, MissingInput
from tests import factories

pytestmark = pytest.mark.django_db

APPRAISAL_25PCT = {"type": "appraisal_share", "share": "0.25", "share_of": "increase"}
WITH_CREDITS = {
    "type": "composed",
    "base": APPRAISAL_25PCT,
    "steps": [{"type": "improvement_credit"}, {"type": "repair_deduction"}],
}


def appraise(lease, on: str, value: str, purpose: str = "resale") -> Appraisal:
    return Appraisal.objects.create(
        lease=lease, on=dt.date.fromisoformat(on), value=Decimal(value), purpose=purpose
    )


@pytest.fixture
def appraised_lease():
    """DOMAIN.md example 1: bought for $250,000, appraised $350,000 then, $475,000 now."""
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

    result = max_resale_price(appraised_lease, on=dt.date(2024, 6, 1))

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
    """DOMAIN.md example 3: $136,000 with area median income up 10% gives $149,600."""
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
    assert not [line for line in result.lines if "Previous owner" in line.label]


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


ITEMIZED_CAPPED = {
    "type": "itemized",
    "inflation_rate": "0.02",
    "inflation_method": "compound",
    "improvement_share": "0.5",
    "capped_by_net_proceeds": True,
}


def test_an_itemized_formula_names_the_formula_and_the_first_figure_it_misses():
    lease = factories.lease(resale_formula=ITEMIZED_CAPPED)
    with pytest.raises(MissingInput) as error:
        max_resale_price(lease, on=dt.date(2026, 6, 1))
    assert (error.value.field, error.value.needed_by) == ("principal_paid", "itemized formula")
    assert str(error.value) == "principal_paid: is needed by the itemized formula but was not given"


def test_every_figure_no_record_keeps_that_a_formula_needs_is_named_in_the_order_it_reads_them():
    capped = factories.lease(resale_formula=ITEMIZED_CAPPED)
    uncapped = factories.lease(resale_formula={**ITEMIZED_CAPPED, "capped_by_net_proceeds": False})
    on = dt.date(2026, 6, 1)

    assert not_on_record_needed(capped, on=on) == (
        "principal_paid", "seller_closing_costs", "seller_net_proceeds"
    )  # fmt: skip
    assert not_on_record_needed(uncapped, on=on) == ("principal_paid", "seller_closing_costs")
    assert not_on_record_needed(factories.lease(), on=on) == ()  # a fixed-rate formula

