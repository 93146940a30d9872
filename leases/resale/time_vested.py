"""Time-vested appraisal formulas: the owner's share of the change in value grows with each
completed year owned, after a minimum holding period before which it is zero.

    share = 0                                   if completed years < minimum_years
          = min(share_per_year x completed years, maximum_share)   otherwise
    price = purchase price + share x (appraisal at resale - appraisal at purchase)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from leases.resale.appraisal import INCREASE_FROM, SHARE_OF, write_appraisal_share
from leases.resale.base import Formula
from leases.resale.dates import Held
from leases.resale.fields import Kind, param
from leases.resale.inputs import SaleInputs
from leases.resale.money import format_rate
from leases.resale.result import Ledger


@dataclass(frozen=True, kw_only=True)
class TimeVestedAppraisalShare(Formula):
    """Purchase price plus a share of the change in value that vests per completed year."""

    type: ClassVar[str] = "time_vested_appraisal_share"
    title: ClassVar[str] = "time-vested appraisal-share formula"
    share_per_year: Decimal = param(Kind.SHARE)
    minimum_years: int = param(Kind.WHOLE, default=0)
    maximum_share: Decimal | None = param(Kind.SHARE, default=None)
    share_of: str = param(Kind.CHOICE, choices=SHARE_OF)
    increase_from: str = param(Kind.CHOICE, default="appraisal_at_purchase", choices=INCREASE_FROM)

    def vested_share(self, held: Held) -> tuple[Decimal, str]:
        """The owner's share after `held`, and how it was reached in words."""
        years = held.years
        per_year = format_rate(self.share_per_year)
        if years < self.minimum_years:
            required = f"fewer than the {self.minimum_years} required"
            return Decimal(0), f"0% ({held.describe_years()}, {required})"
        share = self.share_per_year * years
        how = f"{per_year} a year × {years} completed year{'s' if years != 1 else ''}"
        if self.maximum_share is not None and share > self.maximum_share:
            share = self.maximum_share
            how += f", capped at {format_rate(share)}"
        return share, f"{format_rate(share)} ({how})"

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """Write the purchase price, the appraisals and the vested share."""
        share, share_text = self.vested_share(inputs.held())
        write_appraisal_share(ledger, inputs, self, share, share_text)
