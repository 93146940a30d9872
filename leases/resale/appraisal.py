"""Appraisal-based formulas: the purchase price plus the owner's share of the change in value.

    price = purchase price + share x (appraisal at resale - appraisal at purchase)

With ``"share_of": "change"`` the owner shares losses too (the price falls below the purchase
price when the appraisal falls); with ``"share_of": "increase"`` the owner's share is floored at
zero. ``"increase_from"`` says what the change is measured from: the appraisal at purchase
(usual when the trust's subsidy made the price lower than the value) or the purchase price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from leases.resale.base import Formula
from leases.resale.fields import Kind, param
from leases.resale.inputs import SaleInputs
from leases.resale.money import format_rate
from leases.resale.result import Ledger

if TYPE_CHECKING:
    from leases.resale.time_vested import TimeVestedAppraisalShare

SHARE_OF = ("change", "increase")
INCREASE_FROM = ("appraisal_at_purchase", "purchase_price")


@dataclass(frozen=True, kw_only=True)
class AppraisalShare(Formula):
    """Purchase price plus a fixed share of the change (or only the increase) in appraised
    value."""

    type: ClassVar[str] = "appraisal_share"
    title: ClassVar[str] = "appraisal-share formula"
    share: Decimal = param(Kind.SHARE)
    share_of: str = param(Kind.CHOICE, choices=SHARE_OF)
    increase_from: str = param(Kind.CHOICE, default="appraisal_at_purchase", choices=INCREASE_FROM)

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """Write the purchase price, the appraisals and the owner's share."""
        write_appraisal_share(ledger, inputs, self, self.share, format_rate(self.share))


def write_appraisal_share(
    ledger: Ledger,
    inputs: SaleInputs,
    formula: AppraisalShare | TimeVestedAppraisalShare,
    share: Decimal,
    share_text: str,
) -> None:
    """Write the lines every appraisal-based formula shares, for an owner's share `share`."""
    share_of, increase_from = formula.share_of, formula.increase_from
    needed_by = formula.title
    ledger.item("Purchase price", inputs.purchase_price)
    at_resale = ledger.note(
        inputs.sourced("Appraised value at resale", "appraisal_at_resale"),
        inputs.require("appraisal_at_resale", needed_by),
    )
    if increase_from == "purchase_price":
        start = ledger.note(
            "Purchase price (the change is measured from it)", inputs.purchase_price
        )
    else:
        start = ledger.note(
            inputs.sourced("Appraised value at purchase", "appraisal_at_purchase"),
            inputs.require("appraisal_at_purchase", needed_by),
        )
    change = ledger.note(f"{share_of.capitalize()} in appraised value", at_resale - start)
    floor_note = ""
    if share_of == "increase" and change < 0:
        change, floor_note = Decimal(0), " (none: the appraised value fell)"
    ledger.item(f"Owner's share: {share_text} of the {share_of}{floor_note}", share * change)


@dataclass(frozen=True, kw_only=True)
class AppraisedValue(Formula):
    """The market value: the appraisal at resale (the other side of a lesser-of cap)."""

    type: ClassVar[str] = "appraised_value"
    title: ClassVar[str] = "the appraised value"

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """Write the appraisal at resale as the price."""
        value = inputs.require("appraisal_at_resale", "appraised-value comparison")
        ledger.item(inputs.sourced("Appraised value at resale", "appraisal_at_resale"), value)
