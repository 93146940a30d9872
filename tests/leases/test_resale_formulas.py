"""The resale formulas against docs/domain.md's published worked examples, and each family's rules.

Every price is asserted to the cent; the rounding rule is in leases/resale/__init__.py.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest

from leases.resale import (
    AppraisalShare,
    AppraisedValue,
    Composed,
    FixedRate,
    FormulaError,
    FormulaResult,
    Improvement,
    ImprovementCredit,
    IndexFormula,
    IndexPoints,
    Itemized,
    LesserOf,
    Line,
    LineKind,
    MortgageBased,
    Repair,
    RepairDeduction,
    SaleInputs,
    SellingAllowance,
    TimeVestedAppraisalShare,
    completed_months,
    held_between,
    render_text,
)
from leases.resale.income_limits import larger_household_limit

DONE = dt.date(2020, 9, 1)  # an improvement completed while the home was held


def sale(
    purchase_price: str = "250000",
    bought: str = "2015-07-01",
    sold: str = "2022-07-01",
    **facts: Any,
) -> SaleInputs:
    """Sale inputs with a purchase price, purchase and sale dates, and any other facts."""
    return SaleInputs(
        purchase_price=D(purchase_price),
        purchase_date=dt.date.fromisoformat(bought),
        sale_date=dt.date.fromisoformat(sold),
        **facts,
    )


def amount(result: FormulaResult, label_start: str) -> D:
    """The amount of the one line whose label starts with `label_start`."""
    (found,) = [line.amount for line in result.lines if line.label.startswith(label_start)]
    return found


def items(result: FormulaResult) -> list[tuple[str, D]]:
    """The item lines (the ones that add up to the price) as (label, amount)."""
    return [(line.label, line.amount) for line in result.lines if line.kind is LineKind.ITEM]


# --- the published worked examples (docs/domain.md) ---------------------------------------------

EXAMPLE_2 = TimeVestedAppraisalShare(
    share_per_year=D("0.03"), minimum_years=2, share_of="increase", increase_from="purchase_price"
)


def test_example_1_a_25_percent_share_of_the_increase_gives_281_250():
    formula = AppraisalShare(share=D("0.25"), share_of="increase")
    inputs = sale(appraisal_at_purchase=D("350000"), appraisal_at_resale=D("475000"))

    result = formula.evaluate(inputs)

    assert result.price == D("281250.00")
    assert amount(result, "Increase in appraised value") == D("125000.00")
    assert items(result) == [
        ("Purchase price", D("250000.00")),
        ("Owner's share: 25% of the increase", D("31250.00")),
    ]


def test_example_2_four_completed_years_at_3_percent_vest_12_percent_giving_109_000():
    inputs = sale("100000", "2018-03-01", "2022-03-01", appraisal_at_resale=D("175000"))

    result = EXAMPLE_2.evaluate(inputs)

    assert result.price == D("109000.00")
    assert items(result)[1] == (
        "Owner's share: 12% (3% a year × 4 completed years) of the increase",
        D("9000.00"),
    )


def test_example_2_a_sale_at_18_months_is_inside_the_minimum_period_so_the_price_is_100_000():
    inputs = sale("100000", "2018-03-01", "2019-09-01", appraisal_at_resale=D("175000"))

    result = EXAMPLE_2.evaluate(inputs)

    assert result.price == D("100000.00")
    assert amount(result, "Owner's share: 0% (1 completed year, fewer than the 2") == D("0.00")


def test_example_3_area_median_income_up_10_percent_moves_136_000_to_149_600():
    formula = IndexFormula(series="hud-ami")
    inputs = sale(
        "136000",
        "2017-05-01",
        "2023-07-15",
        indexes={"hud-ami": {2017: D("60000"), 2023: D("66000")}},
    )

    result = formula.evaluate(inputs)

    assert result.price == D("149600.00")
    assert items(result)[1] == (
        "Change with the index (hud-ami): 2017 60,000 → 2023 66,000 (× 1.1)",
        D("13600.00"),
    )


def test_an_inexact_index_ratio_is_shown_as_its_division_to_four_places():
    formula = IndexFormula(series="jackson-ms-ami")
    inputs = sale(
        "60000",
        "2022-03-01",
        "2026-10-01",
        indexes={"jackson-ms-ami": {2022: D("68300"), 2026: D("77400")}},
    )

    result = formula.evaluate(inputs)

    # 60,000 × 77,400 ÷ 68,300 = 67,994.14...; from the rounded 1.1332 it would be 67,992.00.
    assert items(result)[1] == (
        "Change with the index (jackson-ms-ami): 2022 68,300 → 2026 77,400 "
        "(× 77,400 ÷ 68,300 ≈ 1.1332)",
        D("7994.14"),
    )
    assert result.price == D("67994.14")


def test_example_3_also_works_from_the_two_index_values_alone():
    inputs = sale("136000", indexes={"ami": IndexPoints(at_purchase=D("100"), at_resale=D("110"))})
    assert IndexFormula(series="ami").evaluate(inputs).price == D("149600.00")


def test_example_4_simple_2_percent_on_250_000_over_10_years_gives_300_000():
    result = FixedRate(method="simple", rate=D("0.02")).evaluate(
        sale("250000", "2012-07-01", "2022-07-01")
    )

    assert result.price == D("300000.00")
    assert items(result)[1] == (
        "Simple appreciation: 2% a year × 10 completed years",
        D("50000.00"),
    )


def test_example_5_compound_1_5_percent_on_350_000_over_7_years_is_388_445_72_to_the_cent():
    result = FixedRate(method="compound", rate=D("0.015")).evaluate(sale("350000"))

    assert result.price == D("388445.72")  # 350,000 × 1.015^7 = 388,445.7195...


def test_example_5_rounded_to_the_dollar_is_the_published_388_446():
    formula = FixedRate(method="compound", rate=D("0.015"), round_to="dollar")

    result = formula.evaluate(sale("350000"))

    assert result.price == D("388446.00")
    assert items(result)[1:] == [
        (
            "Compound appreciation: 1.5% a year over 7 completed years ((1 + 1.5%)^7 - 1)",
            D("38445.72"),
        ),
        ("Rounded to the nearest dollar", D("0.28")),
    ]


def test_example_6_yearly_rates_an_improvement_and_selling_allowances_give_221_025():
    formula = Composed(
        base=FixedRate(method="simple", rates=(D("0.01"), D("0.02"), D("0.015"))),
        steps=(
            ImprovementCredit(),
            SellingAllowance(commission_rate=D("0.025"), closing_allowance=D("650")),
        ),
    )
    inputs = sale(
        "200000",
        "2019-04-01",
        "2022-04-01",
        improvements=(Improvement(description="New roof", cost=D("6000"), completed_on=DONE),),
    )

    result = formula.evaluate(inputs)

    assert amount(result, "Formula price") == D("209000.00")
    assert amount(result, "Capital improvement: New roof") == D("6000.00")
    assert amount(result, "Subtotal after capital-improvement credits") == D("215000.00")
    assert amount(result, "Real-estate commission: 2.5% of $215,000.00") == D("5375.00")
    assert amount(result, "Closing-cost allowance") == D("650.00")
    assert result.price == D("221025.00")


# --- appraisal share ---------------------------------------------------------------------


def test_appraisal_share_of_the_change_shares_a_fall_in_value():
    formula = AppraisalShare(share=D("0.25"), share_of="change")
    inputs = sale(appraisal_at_purchase=D("350000"), appraisal_at_resale=D("300000"))

    result = formula.evaluate(inputs)

    assert amount(result, "Owner's share: 25% of the change") == D("-12500.00")
    assert result.price == D("237500.00")


def test_appraisal_share_of_the_increase_is_floored_at_zero_when_value_falls():
    formula = AppraisalShare(share=D("0.25"), share_of="increase")
    inputs = sale(appraisal_at_purchase=D("350000"), appraisal_at_resale=D("300000"))

    result = formula.evaluate(inputs)

    assert amount(result, "Owner's share: 25% of the increase (none") == D("0.00")
    assert result.price == D("250000.00")


def test_appraisal_share_can_measure_the_increase_from_the_purchase_price():
    formula = AppraisalShare(share=D("0.2"), share_of="increase", increase_from="purchase_price")
    inputs = sale(appraisal_at_resale=D("300000"))
    assert formula.evaluate(inputs).price == D("260000.00")


def test_appraisal_share_without_an_appraisal_at_resale_names_the_missing_input():
    formula = AppraisalShare(share=D("0.25"), share_of="increase")
    with pytest.raises(FormulaError) as error:
        formula.evaluate(sale(appraisal_at_purchase=D("350000")))
    assert error.value.field == "appraisal_at_resale"
    assert "appraisal-share formula" in str(error.value)


def test_appraisal_share_measured_from_the_purchase_appraisal_needs_that_appraisal():
    formula = AppraisalShare(share=D("0.25"), share_of="increase")
    with pytest.raises(FormulaError, match="^appraisal_at_purchase: "):
        formula.evaluate(sale(appraisal_at_resale=D("475000")))


def test_appraised_value_formula_answers_the_appraisal_at_resale():
    result = AppraisedValue().evaluate(sale(appraisal_at_resale=D("312345.67")))
    assert result.price == D("312345.67")


# --- time-vested appraisal share -----------------------------------------------------------


def test_time_vested_share_vests_on_the_day_the_minimum_period_is_completed():
    inputs = sale("100000", "2018-03-01", "2020-03-01", appraisal_at_resale=D("175000"))
    assert EXAMPLE_2.evaluate(inputs).price == D("104500.00")  # 6% of 75,000


def test_time_vested_share_is_zero_the_day_before_the_minimum_period_ends():
    inputs = sale("100000", "2018-03-01", "2020-02-29", appraisal_at_resale=D("175000"))
    assert EXAMPLE_2.evaluate(inputs).price == D("100000.00")


def test_time_vested_share_stops_growing_at_its_maximum():
    formula = TimeVestedAppraisalShare(
        share_per_year=D("0.03"),
        maximum_share=D("0.25"),
        share_of="increase",
        increase_from="purchase_price",
    )
    inputs = sale("100000", "2000-03-01", "2020-03-01", appraisal_at_resale=D("200000"))

    result = formula.evaluate(inputs)

    assert result.price == D("125000.00")
    assert "capped at 25%" in items(result)[1][0]


# --- index ---------------------------------------------------------------------------------


def test_index_by_month_reads_the_purchase_and_sale_months():
    formula = IndexFormula(series="cpi", period="month", label="CPI-U South")
    table = {(2019, 6): D("255.1"), (2019, 7): D("256.0"), (2024, 3): D("306.12")}
    inputs = sale("200000", "2019-06-20", "2024-03-02", indexes={"cpi": table})

    result = formula.evaluate(inputs)

    assert result.price == D("240000.00")  # 200,000 × 306.12 / 255.1 = 240,000 exactly
    assert "2019-06 255.1 → 2024-03 306.12" in items(result)[1][0]


def test_index_that_fell_lowers_the_price():
    inputs = sale("100000", indexes={"ami": IndexPoints(at_purchase=D("50"), at_resale=D("45"))})
    assert IndexFormula(series="ami").evaluate(inputs).price == D("90000.00")


def test_index_table_without_the_sale_year_is_an_error_naming_the_year():
    inputs = sale(
        "136000", "2017-05-01", "2024-07-15", indexes={"ami": {2017: D("60000"), 2023: D("66000")}}
    )

    with pytest.raises(FormulaError) as error:
        IndexFormula(series="ami").evaluate(inputs)

    assert error.value.field == "indexes.ami"
    assert "no value for 2024 (the year of the sale_date 2024-07-15)" in str(error.value)
    assert "the table has 2017, 2023" in str(error.value)


def test_an_index_read_latest_takes_the_latest_value_published_by_the_sale():
    """A lease pricing on "the most recently published" median income: a sale in February
    2024, before HUD's 2024 table, reads 2023's, and the paper says so."""
    inputs = sale(
        "136000", "2017-05-01", "2024-02-10", indexes={"ami": {2017: D("60000"), 2023: D("66000")}}
    )

    result = IndexFormula(series="ami", read="latest").evaluate(inputs)

    assert result.price == D("149600.00")
    assert ("2017 60,000 → 2023 (the latest on record by 2024-02-10) 66,000"
            in items(result)[1][0])  # fmt: skip


def test_an_index_read_latest_reads_its_own_period_when_it_is_there_and_months_by_month():
    table = {(2019, 6): D("255.1"), (2024, 1): D("300"), (2024, 3): D("306.12")}
    inputs = sale("200000", "2019-06-20", "2024-02-28", indexes={"cpi": table})
    formula = IndexFormula(series="cpi", period="month", read="latest")

    assert "2019-06 255.1 → 2024-01 (the latest on record by 2024-02-28) 300" in (
        items(formula.evaluate(inputs))[1][0]
    )
    later = sale("200000", "2019-06-20", "2024-03-02", indexes={"cpi": table})
    assert formula.evaluate(later).price == D("240000.00")


def test_an_index_read_latest_with_nothing_before_the_date_is_an_error():
    inputs = sale("136000", "2016-05-01", "2024-02-10", indexes={"ami": {2017: D("60000")}})
    with pytest.raises(FormulaError, match="no value for 2016 or before it"):
        IndexFormula(series="ami", read="latest").evaluate(inputs)


def test_index_series_missing_from_the_inputs_is_an_error_naming_the_series():
    inputs = sale(indexes={"cpi": {2015: D("1"), 2022: D("2")}})
    with pytest.raises(FormulaError, match="^indexes: no index series 'ami'.*have: cpi"):
        IndexFormula(series="ami").evaluate(inputs)


def test_index_table_with_a_key_that_is_not_a_year_is_refused():
    with pytest.raises(FormulaError, match=r"^indexes\.ami: '2019' is not a year"):
        sale(indexes={"ami": {"2019": D("60000")}})


# --- fixed rate ----------------------------------------------------------------------------


def test_simple_rate_without_proration_ignores_the_months_after_the_last_full_year():
    formula = FixedRate(method="simple", rate=D("0.02"))
    inputs = sale("250000", "2012-07-01", "2022-12-20")
    assert formula.evaluate(inputs).price == D("300000.00")


def test_simple_rate_prorated_by_months_counts_each_completed_month():
    formula = FixedRate(method="simple", rate=D("0.02"), prorate="months")
    inputs = sale("250000", "2012-07-01", "2022-12-20")  # 125 completed months

    result = formula.evaluate(inputs)

    assert result.price == D("302083.33")  # 250,000 × 2% × 125/12 = 52,083.333...
    assert "10 completed years 5 months (125 completed months / 12)" in items(result)[1][0]


def test_compound_rate_prorated_by_months_earns_simple_interest_on_the_part_year():
    formula = FixedRate(method="compound", rate=D("0.015"), prorate="months")

    result = formula.evaluate(sale("350000", "2015-07-01", "2022-12-20"))

    assert items(result)[2] == (
        "Year 8, 5 of 12 months: 1.5% × 5/12 of $388,445.72",
        D("2427.79"),  # 388,445.72 × 0.015 × 5/12 = 2,427.78575, of the value shown
    )
    assert result.price == D("390873.51")


def test_the_part_year_is_worked_from_the_value_the_paper_shows():
    """$41,233 × 1.015 is $41,851.495, shown $41,851.50; 1.5% × 8/12 of it is $418.515: the
    line says $418.52, as a calculator does from the paper. Worked from the unrounded value it
    said $418.51, a cent off its own figures (QA s19: ~3,500 such cases)."""
    formula = FixedRate(method="compound", rate=D("0.015"), prorate="months")

    result = formula.evaluate(sale("41233", "2024-01-15", "2025-09-15"))

    assert items(result)[1:] == [
        ("Compound appreciation: 1.5% a year over 1 completed year ((1 + 1.5%)^1 - 1)",
         D("618.50")),
        ("Year 2, 8 of 12 months: 1.5% × 8/12 of $41,851.50", D("418.52")),
    ]  # fmt: skip
    assert result.price == D("42270.02")


def test_compounded_yearly_rates_grow_the_value_the_paper_shows():
    formula = FixedRate(method="compound", rates=(D("0.015"), D("0.015")), prorate="months")

    result = formula.evaluate(sale("41233", "2024-01-15", "2025-09-15"))

    assert items(result)[1:] == [
        ("Year 1: 1.5% of $41,233.00", D("618.50")),
        ("Year 2, 8 of 12 months: 1.5% × 8/12 of $41,851.50", D("418.52")),
    ]


def test_yearly_rates_compounded_apply_each_rate_to_the_value_at_the_start_of_its_year():
    formula = FixedRate(method="compound", rates=(D("0.01"), D("0.02"), D("0.015")))

    result = formula.evaluate(sale("200000", "2019-04-01", "2022-04-01"))

    assert items(result)[1:] == [
        ("Year 1: 1% of $200,000.00", D("2000.00")),
        ("Year 2: 2% of $202,000.00", D("4040.00")),
        ("Year 3: 1.5% of $206,040.00", D("3090.60")),
    ]
    assert result.price == D("209130.60")


def test_yearly_rates_prorated_use_the_next_years_rate_for_the_part_year():
    formula = FixedRate(method="simple", rates=(D("0.01"), D("0.02")), prorate="months")
    result = formula.evaluate(sale("120000", "2020-01-15", "2021-07-15"))
    assert items(result)[2] == (
        "Year 2, 6 of 12 months: 2% × 6/12 of the purchase price",
        D("1200.00"),
    )


def test_too_few_yearly_rates_for_the_time_held_is_an_error_naming_the_missing_year():
    formula = FixedRate(method="simple", rates=(D("0.01"), D("0.02"), D("0.015")))
    with pytest.raises(FormulaError, match="^rates: gives 3 yearly rates but 5 are needed.*year 4"):
        formula.evaluate(sale("200000", "2017-04-01", "2022-04-01"))


def test_fixed_rate_needs_exactly_one_of_rate_and_rates():
    with pytest.raises(FormulaError, match="^rate: give either"):
        FixedRate(method="simple", rate=D("0.02"), rates=(D("0.02"),))
    with pytest.raises(FormulaError, match="^rate: give either"):
        FixedRate(method="simple")


def test_a_sale_date_before_the_purchase_date_is_an_error_naming_both_fields():
    with pytest.raises(FormulaError) as error:
        sale(bought="2020-01-01", sold="2019-12-31")
    assert error.value.field == "sale_date"
    assert "sale date 2019-12-31 is before the purchase_date 2020-01-01" in str(error.value)


def test_a_home_sold_on_its_purchase_date_has_earned_nothing():
    result = FixedRate(method="compound", rate=D("0.02")).evaluate(
        sale(bought="2020-01-01", sold="2020-01-01")
    )
    assert result.price == D("250000.00")


# --- completed months and years --------------------------------------------------------------


def test_a_month_bought_on_the_31st_is_completed_on_the_last_day_of_a_shorter_month():
    assert completed_months(dt.date(2021, 1, 31), dt.date(2021, 2, 28)) == 1


def test_the_day_before_the_monthly_anniversary_does_not_complete_the_month():
    assert completed_months(dt.date(2021, 1, 15), dt.date(2021, 2, 14)) == 0


def test_a_year_bought_on_29_february_is_completed_on_28_february():
    held = held_between(dt.date(2020, 2, 29), dt.date(2021, 2, 28))
    assert (held.years, held.months) == (1, 0)


# --- itemized ------------------------------------------------------------------------------

ITEMIZED_FACTS = {
    "principal_paid": D("24500"),
    "seller_closing_costs": D("3200"),
    "improvements": (
        Improvement(description="New roof", cost=D("9000"), completed_on=dt.date(2019, 5, 1)),
    ),
}


def test_itemized_credits_no_improvement_unfinished_by_the_sale():
    unfinished = (
        Improvement(description="Porch", cost=D("4000")),
        Improvement(description="Deck", cost=D("3000"), completed_on=dt.date(2023, 1, 5)),
    )
    facts = {**ITEMIZED_FACTS, "improvements": ITEMIZED_FACTS["improvements"] + unfinished}
    formula = Itemized(
        inflation_rate=D("0.02"), inflation_method="simple", improvement_share=D("0.5")
    )

    result = formula.evaluate(sale("180000", "2016-09-30", "2022-10-14", **facts))

    assert ("Approved capital improvement: New roof (50% of cost $9,000.00)", D("4500.00")) in (
        items(result)
    )
    notes = [line.label for line in result.lines if str(line.kind) == "note"]
    assert "Not credited: Porch (not completed by the sale)" in notes
    assert "Not credited: Deck (not completed by the sale)" in notes
    assert not any("Porch" in label or "Deck" in label for label, _ in items(result))


def test_itemized_adds_inflation_principal_improvements_and_closing_costs():
    formula = Itemized(
        inflation_rate=D("0.02"), inflation_method="simple", improvement_share=D("0.5")
    )

    result = formula.evaluate(sale("180000", "2016-09-30", "2022-10-14", **ITEMIZED_FACTS))

    assert items(result) == [
        ("Purchase price", D("180000.00")),
        (
            "Inflation on the purchase price: 2% a year, simple, over 6 completed years",
            D("21600.00"),
        ),
        ("Principal paid down", D("24500.00")),
        ("Approved capital improvement: New roof (50% of cost $9,000.00)", D("4500.00")),
        ("Seller's closing costs", D("3200.00")),
    ]
    assert result.price == D("233800.00")


def test_itemized_inflation_can_compound():
    formula = Itemized(inflation_rate=D("0.02"), inflation_method="compound")
    result = formula.evaluate(
        sale(
            "100000", "2020-01-01", "2023-01-01", principal_paid=D("0"), seller_closing_costs=D("0")
        )
    )
    assert amount(result, "Inflation on the purchase price") == D("6120.80")


def test_itemized_capped_by_net_proceeds_is_reduced_to_them():
    formula = Itemized(
        inflation_rate=D("0.02"),
        inflation_method="simple",
        improvement_share=D("0.5"),
        capped_by_net_proceeds=True,
    )
    inputs = sale(
        "180000", "2016-09-30", "2022-10-14", seller_net_proceeds=D("228000"), **ITEMIZED_FACTS
    )

    result = formula.evaluate(inputs)

    assert amount(result, "Itemized total") == D("233800.00")
    assert amount(result, "Capped at the seller's net proceeds") == D("-5800.00")
    assert result.price == D("228000.00")


def test_itemized_cap_above_the_total_changes_nothing():
    formula = Itemized(
        inflation_rate=D("0"), inflation_method="simple", capped_by_net_proceeds=True
    )
    inputs = sale(
        "100000",
        principal_paid=D("1000"),
        seller_closing_costs=D("0"),
        seller_net_proceeds=D("150000"),
    )
    assert formula.evaluate(inputs).price == D("101000.00")


def test_itemized_without_principal_paid_names_the_missing_input():
    formula = Itemized(inflation_rate=D("0.02"), inflation_method="simple")
    with pytest.raises(FormulaError, match="^principal_paid: is needed by the itemized formula"):
        formula.evaluate(sale(seller_closing_costs=D("0")))


# --- mortgage-based ------------------------------------------------------------------------

BUDGET = {
    "target_income_annual": D("58750"),
    "taxes_monthly": D("120"),
    "insurance_monthly": D("90"),
    "lease_fee_monthly": D("25"),
}


def mortgage(**overrides: Any) -> MortgageBased:
    """The worked mortgage case: 30% of income, 6.5% over 30 years."""
    params = {
        "housing_cost_share": D("0.30"),
        "interest_rate": D("0.065"),
        "term_years": 30,
        "down_payment": D("5000"),
    }
    return MortgageBased(**{**params, **overrides})


def test_mortgage_based_price_is_the_loan_the_budget_carries_plus_the_down_payment():
    result = mortgage(percent_of_median=80, household_size=4).evaluate(sale(**BUDGET))

    assert amount(result, "30% of monthly income") == D("1468.75")
    assert amount(result, "Less ground-lease fee") == D("-25.00")
    assert amount(result, "Left each month for principal and interest") == D("1233.75")
    assert "(80% of area median income, 4 persons)" in result.lines[0].label
    assert amount(result, "Loan amount: $1,233.75 a month at 6.5% over 30 years") == D("195192.60")
    assert result.price == D("200192.60")


def test_mortgage_lines_follow_each_other_to_the_cent_for_an_income_of_58_751():
    # 30% of $58,751 a year is $1,468.775 a month. Each figure carried on is the one shown:
    # $1,468.78 (half up), less $235 of costs leaves $1,233.78, and the loan is what $1,233.78
    # carries ($195,197.34), not what the unrounded $1,233.775 would ($195,196.55).
    budget = {**BUDGET, "target_income_annual": D("58751")}
    result = mortgage(percent_of_median=80, household_size=4).evaluate(sale(**budget))

    monthly = amount(result, "30% of monthly income")
    left = amount(result, "Left each month for principal and interest")
    costs = sum(amount(result, f"Less {label}") for label in ("property", "homeowner", "ground"))
    assert monthly == D("1468.78")
    assert left == monthly + costs == D("1233.78")
    r = D("0.065") / 12
    loan = amount(result, "Loan amount: $1,233.78 a month at 6.5% over 30 years")
    assert loan == (left * (1 - (1 + r) ** -360) / r).quantize(D("0.01")) == D("195197.34")
    assert result.price == loan + D("5000") == D("200197.34")


def test_mortgage_down_payment_share_is_taken_of_the_loan_shown():
    budget = {**BUDGET, "target_income_annual": D("58751")}
    result = mortgage(down_payment=None, down_payment_share=D("0.03")).evaluate(sale(**budget))
    loan = amount(result, "Loan amount")
    # 195,197.34 × 0.03 ÷ 0.97 = 6,037.0311...
    assert amount(result, "Down payment: 3% of the price") == D("6037.03")
    assert result.price == loan + D("6037.03") == D("201234.37")


def test_mortgage_shows_how_a_derived_target_income_was_reached_above_it():
    basis = "9 persons: 8-person limit + 8% of the 4-person limit for each person over 8 (HUD)"
    budget = {**BUDGET, "target_income_annual": D("56600"), "target_income_basis": basis}
    result = mortgage(percent_of_median=80, household_size=9).evaluate(sale(**budget))

    first, second = result.lines[:2]
    assert (first.label, first.amount, first.kind) == (basis, D("56600.00"), LineKind.NOTE)
    assert second.label.startswith("Target household income (80% of area median income, 9 pe")


# HUD's rule for a household over 8 persons, on the FHWA's worked example of it (Mobile, AL,
# FY 2010 low-income limits: 4 persons $40,400, 8 persons $53,350).
MOBILE_4_PERSONS, MOBILE_8_PERSONS = D("40400"), D("53350")


@pytest.mark.parametrize(
    ("size", "limit", "shown"),
    [
        (9, D("56600.00"), "$53,350.00 + 8% × $40,400.00 = $56,582.00, to the nearest $50"),
        # $59,814 is nearer $59,800 than $59,850: the example's own figure
        (10, D("59800.00"), "$53,350.00 + 2 × 8% × $40,400.00 = $59,814.00, to the nearest $50"),
        (11, D("63050.00"), "$53,350.00 + 3 × 8% × $40,400.00 = $63,046.00, to the nearest $50"),
    ],
)
def test_a_household_over_8_persons_gets_the_8_person_limit_plus_8_percent_of_the_4_person(
    size, limit, shown
):
    derived = larger_household_limit(
        size, four_person=MOBILE_4_PERSONS, eight_person=MOBILE_8_PERSONS
    )
    assert derived.annual == limit
    assert derived.basis == (
        f"{size} persons: 8-person limit + 8% of the 4-person limit for each person over 8 "
        f"(HUD): {shown}"
    )


def test_a_larger_household_limit_exactly_between_two_50s_rounds_up():
    # 50,000 + 8% of 40,312.50 = 53,225.00: $25 over 53,200, so up to 53,250
    derived = larger_household_limit(9, four_person=D("40312.50"), eight_person=D("50000"))
    assert derived.annual == D("53250.00")


@pytest.mark.parametrize("name", ["household_size", "percent_of_median"])
def test_mortgage_target_of_zero_persons_or_percent_is_refused(name):
    # HUD publishes no limit for either, so the formula could never be priced.
    with pytest.raises(FormulaError, match=f"^{name}: must be at least 1"):
        mortgage(**{name: 0})


def test_mortgage_loan_matches_the_textbook_payment_for_200_000_at_6_percent():
    # A $200,000 loan at 6% over 30 years is paid by $1,199.10 a month.
    budget = {
        **BUDGET,
        "target_income_annual": D("47964"),
        "taxes_monthly": D("0"),
        "insurance_monthly": D("0"),
        "lease_fee_monthly": D("0"),
    }
    result = mortgage(interest_rate=D("0.06"), down_payment=D("0")).evaluate(sale(**budget))
    assert abs(result.price - D("200000")) < D("1")


def test_mortgage_at_zero_interest_is_the_payments_added_up():
    budget = {**BUDGET, "target_income_annual": D("40000")}
    result = mortgage(interest_rate=D("0"), term_years=10, down_payment=D("0")).evaluate(
        sale(**budget)
    )
    assert amount(result, "Left each month") == D("765.00")  # 1,000 less 235 of costs
    assert result.price == D("91800.00")  # 765 × 120 months


def test_mortgage_down_payment_as_a_share_grosses_up_the_loan():
    result = mortgage(down_payment=None, down_payment_share=D("0.03")).evaluate(sale(**BUDGET))
    assert amount(result, "Down payment: 3% of the price") == D("6036.88")
    assert result.price == D("201229.48")


def test_mortgage_costs_above_the_budget_leave_no_loan():
    budget = {**BUDGET, "taxes_monthly": D("2000")}
    result = mortgage().evaluate(sale(**budget))
    assert result.price == D("5000.00")


def test_mortgage_needs_exactly_one_kind_of_down_payment():
    with pytest.raises(FormulaError, match="^down_payment: give either"):
        mortgage(down_payment_share=D("0.05"))


def test_mortgage_term_of_zero_years_is_refused():
    with pytest.raises(FormulaError, match="^term_years: "):
        mortgage(term_years=0)


def test_mortgage_without_the_target_income_names_the_missing_input():
    with pytest.raises(FormulaError, match="^target_income_annual: is needed by the mortgage"):
        mortgage().evaluate(sale())


# --- additions (compose.py) ----------------------------------------------------------------

FIXED_2PCT = FixedRate(method="simple", rate=D("0.02"))  # 250,000 over 7 years: 285,000


def composed(*steps: Any, base: Any = FIXED_2PCT) -> Composed:
    """The 2% fixed-rate formula followed by `steps`."""
    return Composed(base=base, steps=steps)


def test_lesser_of_the_appraisal_reduces_the_price_to_a_lower_appraisal():
    result = composed(LesserOf(other=AppraisedValue())).evaluate(
        sale(appraisal_at_resale=D("280000"))
    )

    assert amount(result, "Compared with the appraised value") == D("280000.00")
    assert amount(result, "Reduced to the lesser of the formula price and the appraised") == D(
        "-5000.00"
    )
    assert result.price == D("280000.00")


def test_lesser_of_a_higher_appraisal_leaves_the_formula_price():
    result = composed(LesserOf(other=AppraisedValue())).evaluate(
        sale(appraisal_at_resale=D("300000"))
    )
    assert result.price == D("285000.00")


def test_lesser_of_another_formula_shows_its_lines_and_takes_the_lower_price():
    other = FixedRate(method="simple", rate=D("0.01"))
    result = composed(LesserOf(other=other)).evaluate(sale())

    assert amount(result, "Fixed-rate formula: Simple appreciation: 1%") == D("17500.00")
    assert result.price == D("267500.00")


def test_improvement_credit_on_value_added_at_a_share():
    step = ImprovementCredit(basis="value_added", share=D("0.5"))
    roof = Improvement(
        description="Roof", cost=D("9000"), value_added=D("7000"), completed_on=DONE
    )

    result = composed(step).evaluate(sale(improvements=(roof,)))

    assert items(result)[-1] == (
        "Capital improvement: Roof (50% of value added $7,000.00)",
        D("3500.00"),
    )
    assert result.price == D("288500.00")


def test_improvement_credit_on_value_added_needs_the_value_added():
    roof = Improvement(description="Roof", cost=D("9000"), completed_on=DONE)
    with pytest.raises(FormulaError, match=r"^improvements\[0\]\.value_added: "):
        composed(ImprovementCredit(basis="value_added")).evaluate(sale(improvements=(roof,)))


def test_improvement_below_the_minimum_is_noted_but_not_credited():
    step = ImprovementCredit(minimum=D("1000"))
    fence = Improvement(description="Fence", cost=D("400"), completed_on=DONE)

    result = composed(step).evaluate(sale(improvements=(fence,)))

    assert amount(result, "Not credited: Fence (below the $1,000.00 minimum)") == D("400.00")
    assert result.price == D("285000.00")


def test_improvement_outside_the_window_is_not_credited():
    step = ImprovementCredit(window_years=5)
    old = Improvement(description="Boiler", cost=D("5000"), completed_on=dt.date(2017, 6, 30))
    new = Improvement(description="Windows", cost=D("3000"), completed_on=dt.date(2017, 7, 1))

    result = composed(step).evaluate(sale(improvements=(old, new)))

    assert amount(result, "Not credited: Boiler (completed 2017-06-30, more than 5") == D("5000")
    assert result.price == D("288000.00")


@pytest.mark.parametrize("window_years", [None, 5])
def test_an_improvement_not_completed_is_noted_and_not_credited(window_years):
    roof = Improvement(description="Roof", cost=D("9000"), value_added=D("7000"))
    step = ImprovementCredit(basis="value_added", window_years=window_years)

    result = composed(step).evaluate(sale(improvements=(roof,)))

    assert amount(result, "Not credited: Roof (not completed by the sale)") == D("9000.00")
    assert result.price == D("285000.00")


@pytest.mark.parametrize("window_years", [None, 5])
def test_an_improvement_completed_after_the_sale_is_noted_and_not_credited(window_years):
    late = Improvement(description="Deck", cost=D("4000"), completed_on=dt.date(2022, 7, 2))
    done = Improvement(description="Roof", cost=D("9000"), completed_on=dt.date(2022, 7, 1))

    result = composed(ImprovementCredit(window_years=window_years)).evaluate(
        sale(improvements=(late, done))
    )

    assert amount(result, "Not credited: Deck (not completed by the sale)") == D("4000.00")
    assert amount(result, "Capital improvement: Roof (100% of cost $9,000.00)") == D("9000.00")
    assert result.price == D("294000.00")


def test_repairs_are_deducted_one_line_each():
    repairs = (
        Repair(description="Porch", amount=D("1200")),
        Repair(description="Gutters", amount=D("300.50")),
    )

    result = composed(RepairDeduction()).evaluate(sale(repairs=repairs))

    assert items(result)[-2:] == [
        ("Repair deduction: Porch", D("-1200.00")),
        ("Repair deduction: Gutters", D("-300.50")),
    ]
    assert result.price == D("283499.50")


def test_repairs_larger_than_the_price_leave_a_price_of_zero_on_a_line_of_its_own():
    repair = Repair(description="Foundation", amount=D("300000"))

    result = composed(RepairDeduction()).evaluate(sale(repairs=(repair,)))

    assert items(result)[-2:] == [
        ("Repair deduction: Foundation", D("-300000.00")),
        ("No lower than $0.00", D("15000.00")),
    ]
    assert result.price == D("0.00")


def test_no_commission_is_taken_on_a_subtotal_below_zero():
    """Repairs above the price: a 3% commission of a negative subtotal is no allowance."""
    repair = Repair(description="Foundation", amount=D("300000"))
    allowance = SellingAllowance(commission_rate=D("0.03"), closing_allowance=D("650"))
    formula = Composed(base=FIXED_2PCT, steps=(RepairDeduction(), allowance))

    result = formula.evaluate(sale(repairs=(repair,)))

    assert not any(label.startswith("Real-estate commission") for label, _ in items(result))
    assert ("Closing-cost allowance", D("650.00")) in items(result)
    assert result.price == D("0.00")


def test_a_price_floored_at_zero_is_not_rounded_again():
    repair = Repair(description="Foundation", amount=D("285000.50"))
    formula = Composed(base=FIXED_2PCT, steps=(RepairDeduction(),), round_to="dollar")

    result = formula.evaluate(sale(repairs=(repair,)))

    assert items(result)[-1] == ("No lower than $0.00", D("0.50"))
    assert result.price == D("0.00")


def test_selling_allowance_needs_a_commission_or_a_closing_allowance():
    with pytest.raises(FormulaError, match="^commission_rate: "):
        SellingAllowance()


def test_the_order_of_steps_decides_what_the_commission_is_taken_on():
    credit = ImprovementCredit()
    commission = SellingAllowance(commission_rate=D("0.05"))
    deck = Improvement(description="Deck", cost=D("10000"), completed_on=DONE)
    inputs = sale(improvements=(deck,))

    credit_first = composed(credit, commission).evaluate(inputs)
    commission_first = composed(commission, credit).evaluate(inputs)

    assert credit_first.price == D("309750.00")  # 295,000 + 5% of 295,000
    assert commission_first.price == D("309250.00")  # 285,000 + 5% of 285,000 + 10,000


def test_a_composed_formula_rounded_to_the_dollar_rounds_after_its_steps():
    formula = Composed(base=FIXED_2PCT, steps=(RepairDeduction(),), round_to="dollar")
    result = formula.evaluate(sale(repairs=(Repair(description="Step", amount=D("0.50")),)))
    assert result.price == D("285000.00")  # 284,999.50 rounds half up
    assert items(result)[-1] == ("Rounded to the nearest dollar", D("0.50"))


def test_a_composed_formula_can_be_the_base_of_another():
    inner = composed(SellingAllowance(closing_allowance=D("650")))
    outer = Composed(base=inner, steps=(LesserOf(other=AppraisedValue()),))
    result = outer.evaluate(sale(appraisal_at_resale=D("285500")))
    assert result.price == D("285500.00")


# --- the result ----------------------------------------------------------------------------


def test_a_result_whose_lines_do_not_add_up_to_its_price_cannot_be_built():
    with pytest.raises(ValueError, match="do not reconcile"):
        FormulaResult(price=D("10.00"), lines=(Line("Purchase price", D("9.00")),))


def test_a_subtotal_that_disagrees_with_the_items_above_it_cannot_be_built():
    lines = (Line("A", D("5.00")), Line("Subtotal", D("6.00"), LineKind.SUBTOTAL))
    with pytest.raises(ValueError, match="'Subtotal' is 6.00 but the items above it add up"):
        FormulaResult(price=D("5.00"), lines=lines)


def test_notes_are_not_added_into_the_price():
    lines = (Line("A", D("5.00")), Line("An appraisal", D("900.00"), LineKind.NOTE))
    assert FormulaResult(price=D("5.00"), lines=lines).price == D("5.00")


def test_the_text_rendering_lists_each_line_and_ends_with_the_price():
    formula = AppraisalShare(share=D("0.25"), share_of="increase")
    inputs = sale(appraisal_at_purchase=D("350000"), appraisal_at_resale=D("475000"))

    text = render_text(formula.evaluate(inputs), title="Example 1")

    assert text.splitlines() == [
        "Example 1",
        "=" * 47,
        "Purchase price                      $250,000.00",
        "    Appraised value at resale       $475,000.00",
        "    Appraised value at purchase     $350,000.00",
        "    Increase in appraised value     $125,000.00",
        "Owner's share: 25% of the increase   $31,250.00",
        "-" * 47,
        "Maximum resale price                $281,250.00",
    ]


def test_negative_amounts_render_with_a_leading_minus():
    result = composed(RepairDeduction()).evaluate(
        sale(repairs=(Repair(description="Porch", amount=D("1200")),))
    )
    rows = render_text(result).splitlines()
    assert [row.split() for row in rows if row.startswith("Repair")] == [
        ["Repair", "deduction:", "Porch", "-$1,200.00"]
    ]


def test_the_result_as_a_dict_keeps_amounts_exact_as_strings():
    result = FixedRate(method="simple", rate=D("0.02")).evaluate(
        sale("250000", "2012-07-01", "2022-07-01")
    )
    assert result.to_dict() == {
        "price": "300000.00",
        "lines": [
            {"label": "Purchase price", "amount": "250000.00", "kind": "item"},
            {
                "label": "Simple appreciation: 2% a year × 10 completed years",
                "amount": "50000.00",
                "kind": "item",
            },
        ],
    }


# --- where each figure came from, and improvements from before the purchase ------------------


def test_each_appraisal_line_says_where_its_value_came_from():
    inputs = sale(
        "95000", "2018-05-15", "2026-11-24",
        appraisal_at_purchase=D("140000"), appraisal_at_resale=D("187350"),
        sources={
            "appraisal_at_purchase": "2018-04-20, Smith Appraisals",
            "appraisal_at_resale": "2026-10-01, Jones Valuation",
        },
    )  # fmt: skip
    formula = Composed(
        base=AppraisalShare(share=D("0.25"), share_of="increase"),
        steps=(LesserOf(other=AppraisedValue()),),
    )

    result = formula.evaluate(inputs)

    labels = [line.label for line in result.lines]
    assert "Appraised value at purchase (2018-04-20, Smith Appraisals)" in labels
    assert "Appraised value at resale (2026-10-01, Jones Valuation)" in labels
    assert result.price == D("106837.50")  # the figures are unchanged by saying where they are from


def test_the_index_line_names_the_source_of_its_values():
    inputs = sale(
        "136000", "2017-05-01", "2023-07-15",
        indexes={"hud-ami": {2017: D("60000"), 2023: D("66000")}},
        sources={"indexes.hud-ami": "HUD FY2017 and FY2023 median family income"},
    )  # fmt: skip

    result = IndexFormula(series="hud-ami").evaluate(inputs)

    assert items(result)[1] == (
        "Change with the index (hud-ami): 2017 60,000 → 2023 66,000 (× 1.1); source: HUD FY2017 "
        "and FY2023 median family income",
        D("13600.00"),
    )


def test_the_target_income_line_names_the_hud_year_and_source():
    formula = MortgageBased(
        housing_cost_share=D("0.30"), interest_rate=D("0.065"), term_years=30,
        down_payment=D("5000"), percent_of_median=80, household_size=4,
    )  # fmt: skip
    inputs = sale(
        target_income_annual=D("58750"), taxes_monthly=D("120"), insurance_monthly=D("90"),
        lease_fee_monthly=D("25"),
        sources={"target_income_annual": "2024 (HUD FY2024 income limits, Jackson, MS MSA)"},
    )  # fmt: skip

    result = formula.evaluate(inputs)

    assert result.lines[0].label == (
        "Target household income (80% of area median income, 4 persons, 2024 (HUD FY2024 income "
        "limits, Jackson, MS MSA)), a year"
    )


@pytest.mark.parametrize(
    "formula",
    [
        Composed(base=FixedRate(method="simple", rate=D("0.02")), steps=(ImprovementCredit(),)),
        Itemized(inflation_rate=D("0.02"), inflation_method="simple"),
    ],
    ids=["improvement_credit", "itemized"],
)
def test_an_improvement_approved_before_the_purchase_is_noted_not_credited(formula):
    carport = Improvement(
        description="Carport", cost=D("4000"), completed_on=dt.date(2015, 9, 1),
        approved_on=dt.date(2015, 6, 30),
    )  # fmt: skip
    roof = Improvement(
        description="Roof", cost=D("6000"), completed_on=DONE, approved_on=dt.date(2015, 7, 1)
    )
    inputs = sale(
        improvements=(carport, roof), principal_paid=D("0"), seller_closing_costs=D("0")
    )

    result = formula.evaluate(inputs)

    [note] = [line for line in result.lines if "Carport" in line.label]
    assert (note.label, note.amount, note.kind) == (
        "Not credited: Carport (approved before the purchase on 2015-07-01)",
        D("4000.00"),
        LineKind.NOTE,
    )
    assert [label for label, _ in items(result) if "Roof" in label]  # approved on the day: its


def test_a_source_for_an_input_that_does_not_exist_is_refused_naming_the_closest():
    with pytest.raises(FormulaError, match=r"^sources\.appraisal_at_purchas: is not a sale input; "
                       r"did you mean 'appraisal_at_purchase'\?"):
        sale(sources={"appraisal_at_purchas": "2018-04-20"})


def test_a_missing_input_says_why_it_was_not_given_when_the_inputs_say():
    inputs = sale(unavailable={"appraisal_at_resale": "the latest appraisal is too old"})
    with pytest.raises(FormulaError) as error:
        AppraisedValue().evaluate(inputs)
    assert str(error.value) == (
        "appraisal_at_resale: is needed by the appraised-value comparison but was not given: "
        "the latest appraisal is too old"
    )
