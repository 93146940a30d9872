"""Fixed-rate formulas: the purchase price grown at a stated rate for the time it was held.

    simple:    price = purchase price x (1 + r x t)
    compound:  price = purchase price x (1 + r) ^ t

t counts whole completed years; with ``"prorate": "months"`` the completed months after them
count too (simple: t = months / 12; compound: the last part-year earns r x months / 12 on the
value at the last full year). A lease may give a different rate for each year (``"rates"``):
simple applies each year's rate to the purchase price, compound to the value at the start of
that year.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from leases.resale.base import Formula
from leases.resale.dates import Held
from leases.resale.errors import FormulaError
from leases.resale.fields import Kind, param
from leases.resale.inputs import SaleInputs
from leases.resale.money import format_money, format_rate
from leases.resale.result import Ledger


@dataclass(frozen=True, kw_only=True)
class FixedRate(Formula):
    """Purchase price grown at one yearly rate, or a list of rates one per year held."""

    type: ClassVar[str] = "fixed_rate"
    title: ClassVar[str] = "fixed-rate formula"
    method: str = param(Kind.CHOICE, choices=("simple", "compound"))
    rate: Decimal | None = param(Kind.RATE, default=None)
    rates: tuple[Decimal, ...] | None = param(Kind.RATES, default=None)
    prorate: str = param(Kind.CHOICE, default="years", choices=("years", "months"))

    def check(self) -> None:
        if (self.rate is None) == (self.rates is None):
            raise FormulaError("rate", 'give either one "rate" or a list of yearly "rates"')

    def counted(self, inputs: SaleInputs) -> Held:
        """The time that earns appreciation: completed years, plus months if prorated."""
        held = inputs.held()
        return held if self.prorate == "months" else Held(years=held.years, months=0)

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """Write the purchase price and its appreciation."""
        base = ledger.item("Purchase price", inputs.purchase_price)
        held = self.counted(inputs)
        if self.rates is not None:
            write_yearly_rates(ledger, base, rates_for(self.rates, held), held, self.method)
        elif self.method == "simple":
            write_simple(ledger, base, self.rate, held)
        else:
            write_compound(ledger, base, self.rate, held)


def rates_for(rates: tuple[Decimal, ...], held: Held) -> tuple[Decimal, ...]:
    """The rates of the years held (the last one part-year), or an error naming the first
    missing year."""
    needed = held.years + (1 if held.months else 0)
    if len(rates) < needed:
        raise FormulaError(
            "rates",
            f"gives {len(rates)} yearly rates but {needed} are needed for "
            f"{held.describe()}; add the rate for year {len(rates) + 1}",
        )
    return rates[:needed]


def write_simple(ledger: Ledger, base: Decimal, rate: Decimal, held: Held) -> None:
    """Simple appreciation: the rate times the years (and twelfths) held, on the base."""
    if held.months:
        how = f"{held.describe()} ({held.total_months} completed months / 12)"
    else:
        how = held.describe()
    ledger.item(
        f"Simple appreciation: {format_rate(rate)} a year × {how}",
        base * rate * held.total_months / 12,
    )


def write_compound(ledger: Ledger, base: Decimal, rate: Decimal, held: Held) -> None:
    """Compound appreciation over the whole years, then a prorated part-year if any, on the
    value the paper shows after them (base plus the line above, in cents): worked from the
    unrounded value, the part-year was a cent off its own line's figures (1.5% × 8/12 of
    $41,851.50 is $418.52, not $418.51), as a household redoing it with a calculator finds."""
    grown = base + ledger.item(
        f"Compound appreciation: {format_rate(rate)} a year over {held.describe_years()} "
        f"((1 + {format_rate(rate)})^{held.years} - 1)",
        base * (1 + rate) ** held.years - base,
    )
    if held.months:
        ledger.item(part_year_label(held, rate, grown), grown * rate * held.months / 12)


def write_yearly_rates(
    ledger: Ledger, base: Decimal, rates: tuple[Decimal, ...], held: Held, method: str
) -> None:
    """One line per year held, each at its own rate; the last may be a part-year. Compound
    years grow the value the paper shows (each line in cents), so every line can be redone
    from the figures printed above it."""
    value = base
    for year, rate in enumerate(rates, start=1):
        on = base if method == "simple" else value
        on_text = "the purchase price" if method == "simple" else format_money(on)
        if year > held.years:
            growth = on * rate * held.months / 12
            label = part_year_label(held, rate, on, on_text)
        else:
            growth = on * rate
            label = f"Year {year}: {format_rate(rate)} of {on_text}"
        value += ledger.item(label, growth)


def part_year_label(held: Held, rate: Decimal, on: Decimal, on_text: str | None = None) -> str:
    """The label of a prorated part-year: "Year 8, 5 of 12 months: 1.5% × 5/12 of $X"."""
    on_text = on_text or format_money(on)
    return (
        f"Year {held.years + 1}, {held.months} of 12 months: "
        f"{format_rate(rate)} × {held.months}/12 of {on_text}"
    )
