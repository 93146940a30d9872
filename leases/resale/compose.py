"""Additions to a formula, applied in a stated order: caps, credits, deductions, allowances.

A composed formula is a base formula and a list of steps; each step works on the subtotal the
steps before it left, so the order in the JSON form is the order on paper:

    {"type": "composed", "base": {...}, "steps": [{"type": "improvement_credit"},
                                                  {"type": "selling_allowance", ...}]}
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from leases.resale.base import Formula, Step
from leases.resale.errors import FormulaError
from leases.resale.fields import Kind, param
from leases.resale.inputs import Improvement, SaleInputs
from leases.resale.money import format_money, format_rate
from leases.resale.result import Ledger


@dataclass(frozen=True, kw_only=True)
class Composed(Formula):
    """A base formula followed by its additions, in order, with a subtotal after each."""

    type: ClassVar[str] = "composed"
    title: ClassVar[str] = "composed formula"
    base: Formula = param(Kind.FORMULA)
    steps: tuple[Step, ...] = param(Kind.STEPS, default=())

    def check(self) -> None:
        if not isinstance(self.base, Formula):
            raise FormulaError("base", f"must be a formula, not {self.base!r}")
        if not isinstance(self.steps, tuple | list):
            raise FormulaError("steps", "must be a list of steps")
        object.__setattr__(self, "steps", tuple(self.steps))
        for i, step in enumerate(self.steps):
            if not isinstance(step, Step):
                raise FormulaError(f"steps[{i}]", f"must be a step, not {step!r}")

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """Write the base formula's lines, then each step's, with subtotals between."""
        ledger.include(self.base.evaluate(inputs))
        ledger.subtotal(f"Formula price ({self.base.title})")
        for i, step in enumerate(self.steps):
            step.write(ledger, inputs)
            if i < len(self.steps) - 1:
                ledger.subtotal(f"Subtotal after {step.summary}")


@dataclass(frozen=True, kw_only=True)
class LesserOf(Step):
    """Cap the subtotal at another formula's price: the appraisal, or any other formula."""

    type: ClassVar[str] = "lesser_of"
    summary: ClassVar[str] = "the lesser-of cap"
    other: Formula = param(Kind.FORMULA)

    def check(self) -> None:
        if not isinstance(self.other, Formula):
            raise FormulaError("other", f"must be a formula, not {self.other!r}")

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """Show the other price, and reduce to it if it is lower."""
        other = self.other.evaluate(inputs)
        if len(other.lines) > 1:
            ledger.include_as_notes(other, prefix=f"{self.other.title.capitalize()}: ")
        other_name = with_article(self.other.title)
        ledger.note(f"Compared with {other_name}", other.price)
        if other.price < ledger.total:
            ledger.item(
                f"Reduced to the lesser of the formula price and {other_name}",
                other.price - ledger.total,
            )


def with_article(title: str) -> str:
    """The title as a noun phrase: "the fixed-rate formula", "the appraised value"."""
    return title if title.startswith("the ") else f"the {title}"


@dataclass(frozen=True, kw_only=True)
class ImprovementCredit(Step):
    """Credit approved capital improvements: at cost or value added, a share, above a minimum,
    within a window of years before the sale."""

    type: ClassVar[str] = "improvement_credit"
    summary: ClassVar[str] = "capital-improvement credits"
    basis: str = param(Kind.CHOICE, default="cost", choices=("cost", "value_added"))
    share: Decimal = param(Kind.SHARE, default=Decimal(1))
    minimum: Decimal = param(Kind.MONEY, default=Decimal(0))
    window_years: int | None = param(Kind.WHOLE, default=None)

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """One line per improvement: credited as an item, or noted with why it is not."""
        if not inputs.improvements:
            ledger.note("No approved capital improvements", Decimal(0))
        for i, improvement in enumerate(inputs.improvements):
            outside = outside_tenure(improvement, inputs)
            if outside:
                label = f"Not credited: {improvement.description} ({outside})"
                ledger.note(label, improvement.cost)
                continue
            amount = self.amount(improvement, f"improvements[{i}]")
            refusal = self.refusal(improvement, amount, inputs.sale_date)
            if refusal:
                ledger.note(f"Not credited: {improvement.description} ({refusal})", amount)
            else:
                ledger.item(self.label(improvement, amount), amount * self.share)

    def amount(self, improvement: Improvement, field: str) -> Decimal:
        """The improvement's cost or appraised value added, as the lease's basis says."""
        if self.basis == "cost":
            return improvement.cost
        if improvement.value_added is None:
            raise FormulaError(
                f"{field}.value_added", "is needed: the credit is on the value added"
            )
        return improvement.value_added

    def refusal(self, improvement: Improvement, amount: Decimal, sale_date: dt.date) -> str | None:
        """Why a completed improvement earns no credit (below the minimum, outside the window),
        or None."""
        if amount < self.minimum:
            return f"below the {format_money(self.minimum)} minimum"
        if self.window_years is None or improvement.completed_on is None:
            return None
        if improvement.completed_on < years_before(sale_date, self.window_years):
            return (
                f"completed {improvement.completed_on.isoformat()}, more than "
                f"{self.window_years} years before the sale"
            )
        return None

    def label(self, improvement: Improvement, amount: Decimal) -> str:
        """The credit line's label: "Capital improvement: New roof (100% of cost $6,000.00)"."""
        basis = "cost" if self.basis == "cost" else "value added"
        return (
            f"Capital improvement: {improvement.description} "
            f"({format_rate(self.share)} of {basis} {format_money(amount)})"
        )


def outside_tenure(improvement: Improvement, inputs: SaleInputs) -> str | None:
    """Why an improvement is not the seller's to be credited for, or None: approved before
    the purchase (an earlier owner's, paid for in the seller's price), or not completed by the
    sale. Every family that credits improvements notes these the same way."""
    if improvement.approved_on is not None and improvement.approved_on < inputs.purchase_date:
        return f"approved before the purchase on {inputs.purchase_date.isoformat()}"
    if not completed_by(improvement, inputs.sale_date):
        return "not completed by the sale"
    return None


def completed_by(improvement: Improvement, sale_date: dt.date) -> bool:
    """Whether the improvement was completed by the sale: only finished work adds to the price
    (an approved improvement not completed yet, or completed after the sale, earns nothing)."""
    return improvement.completed_on is not None and improvement.completed_on <= sale_date


def years_before(on: dt.date, years: int) -> dt.date:
    """The same day `years` earlier (28 February for 29 February in a common year)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)


@dataclass(frozen=True, kw_only=True)
class RepairDeduction(Step):
    """Deduct repairs needed to return the home to standard (or repair reserve used)."""

    type: ClassVar[str] = "repair_deduction"
    summary: ClassVar[str] = "repair deductions"

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """One deduction line per repair."""
        if not inputs.repairs:
            ledger.note("No repairs to deduct", Decimal(0))
        for repair in inputs.repairs:
            ledger.item(f"Repair deduction: {repair.description}", -repair.amount)


@dataclass(frozen=True, kw_only=True)
class SellingAllowance(Step):
    """Allow for selling costs: a commission on the subtotal and a fixed closing allowance."""

    type: ClassVar[str] = "selling_allowance"
    summary: ClassVar[str] = "selling allowances"
    commission_rate: Decimal = param(Kind.RATE, default=Decimal(0))
    closing_allowance: Decimal = param(Kind.MONEY, default=Decimal(0))

    def check(self) -> None:
        if self.commission_rate == 0 and self.closing_allowance == 0:
            raise FormulaError(
                "commission_rate", "give a commission_rate, a closing_allowance or both"
            )

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """The commission on the subtotal so far, then the closing allowance."""
        subtotal = ledger.total
        if self.commission_rate and subtotal > 0:  # no commission on a price of nothing
            ledger.item(
                f"Real-estate commission: {format_rate(self.commission_rate)} of "
                f"{format_money(subtotal)}",
                subtotal * self.commission_rate,
            )
        if self.closing_allowance:
            ledger.item("Closing-cost allowance", self.closing_allowance)
