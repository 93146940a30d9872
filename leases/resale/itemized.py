"""Itemized formulas: what the owner put in, item by item.

    price = purchase price
          + inflation on the purchase price (a yearly rate, simple or compound, completed years)
          + principal paid down on the mortgage
          + a share of the cost of each approved capital improvement
          + the seller's closing costs
    and, with ``"capped_by_net_proceeds": true``, no more than the seller's net proceeds.

Leases define "net proceeds" differently, so the engine does not compute it: it is an input
(``seller_net_proceeds``), taken from the lease's own definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from leases.resale.base import Formula
from leases.resale.compose import outside_tenure
from leases.resale.fields import Kind, param
from leases.resale.inputs import SaleInputs
from leases.resale.money import format_money, format_rate
from leases.resale.result import Ledger


@dataclass(frozen=True, kw_only=True)
class Itemized(Formula):
    """Purchase price plus inflation, principal paid, improvements and closing costs."""

    type: ClassVar[str] = "itemized"
    title: ClassVar[str] = "itemized formula"
    inflation_rate: Decimal = param(Kind.RATE)
    inflation_method: str = param(Kind.CHOICE, choices=("simple", "compound"))
    improvement_share: Decimal = param(Kind.SHARE, default=Decimal(1))
    capped_by_net_proceeds: bool = param(Kind.FLAG, default=False)

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """Write each item, then the cap if the lease has one."""
        needed_by = self.title
        base = ledger.item("Purchase price", inputs.purchase_price)
        ledger.item(self.inflation_label(inputs), self.inflation(base, inputs.held().years))
        ledger.item("Principal paid down", inputs.require("principal_paid", needed_by))
        self.write_improvements(ledger, inputs)
        ledger.item("Seller's closing costs", inputs.require("seller_closing_costs", needed_by))
        if self.capped_by_net_proceeds:
            write_cap(ledger, inputs.require("seller_net_proceeds", needed_by))

    def inflation(self, base: Decimal, years: int) -> Decimal:
        """The inflation on `base` over `years` completed years."""
        if self.inflation_method == "simple":
            return base * self.inflation_rate * years
        return base * (1 + self.inflation_rate) ** years - base

    def inflation_label(self, inputs: SaleInputs) -> str:
        """How the inflation line was reached, in words."""
        rate = format_rate(self.inflation_rate)
        return (
            f"Inflation on the purchase price: {rate} a year, {self.inflation_method}, "
            f"over {inputs.held().describe_years()}"
        )

    def write_improvements(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """One line per approved capital improvement, at the lease's share of its cost; one
        approved before the purchase or not completed by the sale is noted and earns nothing,
        as in a composed formula."""
        if not inputs.improvements:
            ledger.item("Approved capital improvements: none", Decimal(0))
        share = format_rate(self.improvement_share)
        for improvement in inputs.improvements:
            outside = outside_tenure(improvement, inputs)
            if outside:
                label = f"Not credited: {improvement.description} ({outside})"
                ledger.note(label, improvement.cost)
                continue
            ledger.item(
                f"Approved capital improvement: {improvement.description} "
                f"({share} of cost {format_money(improvement.cost)})",
                improvement.cost * self.improvement_share,
            )


def write_cap(ledger: Ledger, net_proceeds: Decimal) -> None:
    """Cap the total so far at the seller's net proceeds, on a line of its own if it bites."""
    total = ledger.subtotal("Itemized total")
    ledger.note("Seller's net proceeds (the cap)", net_proceeds)
    if net_proceeds < total:
        ledger.item("Capped at the seller's net proceeds", net_proceeds - total)
