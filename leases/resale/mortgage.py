"""Mortgage-based formulas: the price a target household can afford.

    payment = housing_cost_share x income / 12 - taxes - insurance - ground-lease fee (monthly)
    loan    = payment x (1 - (1 + i)^-n) / i,   i = interest_rate / 12, n = term_years x 12
    price   = loan + down payment

The ground-lease fee counts as a housing cost, as HUD counts it. The target household's income
(e.g. the HUD 80% limit for four persons) is an input: HUD publishes the limits as tables, which
are loaded, never computed as a percentage of the median. The down payment is a fixed amount or
a share of the price (then price = loan / (1 - share)).

Each figure carried from one line to the next is the one the line shows, rounded to the cent: the
monthly budget, the payment left for principal and interest, the loan. A household checking the
paper with a calculator gets every line from the lines above it, to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from leases.resale.base import Formula
from leases.resale.errors import FormulaError
from leases.resale.fields import Kind, param
from leases.resale.inputs import SaleInputs
from leases.resale.money import format_money, format_rate
from leases.resale.result import Ledger


@dataclass(frozen=True, kw_only=True)
class MortgageBased(Formula):
    """The loan a target household's housing budget carries, plus the down payment."""

    type: ClassVar[str] = "mortgage_based"
    title: ClassVar[str] = "mortgage-based formula"
    housing_cost_share: Decimal = param(Kind.SHARE)
    interest_rate: Decimal = param(Kind.RATE)
    term_years: int = param(Kind.WHOLE)
    down_payment: Decimal | None = param(Kind.MONEY, default=None)
    down_payment_share: Decimal | None = param(Kind.FRACTION_BELOW_ONE, default=None)
    percent_of_median: int | None = param(Kind.WHOLE, default=None)
    household_size: int | None = param(Kind.WHOLE, default=None)

    def check(self) -> None:
        if self.term_years == 0:
            raise FormulaError("term_years", "must be at least 1 year")
        if (self.down_payment is None) == (self.down_payment_share is None):
            raise FormulaError("down_payment", 'give either "down_payment" or "down_payment_share"')
        # No HUD income limit is for 0 persons or 0% of median: such a target is never priced.
        if self.household_size == 0:
            raise FormulaError("household_size", "must be at least 1 person")
        if self.percent_of_median == 0:
            raise FormulaError("percent_of_median", "must be at least 1 (e.g. 80 for 80%)")

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """Write the household's budget, the loan it carries and the down payment."""
        payment = self.write_budget(ledger, inputs)
        loan = ledger.item(
            f"Loan amount: {format_money(payment)} a month at {format_rate(self.interest_rate)} "
            f"over {self.term_years} years",
            annuity_present_value(payment, self.interest_rate / 12, self.term_years * 12),
        )
        if self.down_payment_share is not None:
            share = self.down_payment_share
            ledger.item(
                f"Down payment: {format_rate(share)} of the price", loan * share / (1 - share)
            )
        else:
            ledger.item("Down payment", self.down_payment)

    def write_budget(self, ledger: Ledger, inputs: SaleInputs) -> Decimal:
        """Write the monthly budget as notes; answers what is left for principal and interest,
        as the line shows it (each figure carried on is the one shown, to the cent)."""
        needed_by = self.title
        income = inputs.require("target_income_annual", needed_by)
        if inputs.target_income_basis:
            ledger.note(inputs.target_income_basis, income)
        target = inputs.sourced(self.target(), "target_income_annual", ", ", "")  # HUD year
        ledger.note(f"Target household income ({target}), a year", income)
        budget = ledger.note(
            f"{format_rate(self.housing_cost_share)} of monthly income",
            income * self.housing_cost_share / 12,
        )
        for name, label in MONTHLY_COSTS:
            cost = inputs.require(name, needed_by)
            ledger.note(f"Less {label}", -cost)
            budget -= cost
        return ledger.note("Left each month for principal and interest", max(budget, Decimal(0)))

    def target(self) -> str:
        """The target household in words: "80% of area median income, 4 persons"."""
        parts = []
        if self.percent_of_median is not None:
            parts.append(f"{self.percent_of_median}% of area median income")
        if self.household_size is not None:
            parts.append(f"{self.household_size} person{'s' if self.household_size != 1 else ''}")
        return ", ".join(parts) or "as given"


MONTHLY_COSTS = (
    ("taxes_monthly", "property taxes, monthly"),
    ("insurance_monthly", "homeowner's insurance, monthly"),
    ("lease_fee_monthly", "ground-lease fee, monthly"),
)


def annuity_present_value(payment: Decimal, monthly_rate: Decimal, months: int) -> Decimal:
    """The loan that `months` payments of `payment` repay at `monthly_rate` (the annuity
    formula)."""
    if monthly_rate == 0:
        return payment * months
    return payment * (1 - (1 + monthly_rate) ** -months) / monthly_rate
