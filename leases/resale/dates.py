"""How long a home was held: whole completed months and years between purchase and sale.

A month is completed on the same day of a later month, or on that month's last day when it has
no such day (bought 31 January: one month on 28 or 29 February; bought 29 February 2020: one
year on 28 February 2021). Years are whole groups of twelve completed months.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from leases.resale.errors import FormulaError


@dataclass(frozen=True)
class Held:
    """A holding period: completed years, and the completed months left over after them."""

    years: int
    months: int

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months

    def describe_years(self) -> str:
        """The whole years in words: "4 completed years", "1 completed year"."""
        return f"{self.years} completed year{'s' if self.years != 1 else ''}"

    def describe(self) -> str:
        """The period in words: "4 completed years", "10 completed years 5 months"."""
        if not self.months:
            return self.describe_years()
        return f"{self.describe_years()} {self.months} month{'s' if self.months != 1 else ''}"


def completed_months(purchase_date: dt.date, sale_date: dt.date) -> int:
    """How many whole months passed from the purchase date to the sale date."""
    if sale_date < purchase_date:
        raise FormulaError(
            "sale_date",
            f"the sale date {sale_date.isoformat()} is before the purchase_date "
            f"{purchase_date.isoformat()}",
        )
    months = (sale_date.year - purchase_date.year) * 12 + sale_date.month - purchase_date.month
    last_day = calendar.monthrange(sale_date.year, sale_date.month)[1]
    if sale_date.day < purchase_date.day and sale_date.day != last_day:
        months -= 1
    return months


def held_between(purchase_date: dt.date, sale_date: dt.date) -> Held:
    """How long the home was held, in completed years and leftover completed months."""
    years, months = divmod(completed_months(purchase_date, sale_date), 12)
    return Held(years=years, months=months)
