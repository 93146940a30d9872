"""Index-based formulas: the purchase price moved with a published index.

    price = purchase price x index at resale / index at purchase

The index is any published table (HUD area median income, CPI, local wages) given in the
inputs under a series name: a table keyed by year, or by (year, month) with ``"period":
"month"``, read at the purchase date and at the sale date; or just its two values. A year the
table does not have is an error naming the year, never a guess; unless the formula says
``"read": "latest"``, as leases that price on "the most recently published" index do: HUD
publishes a year's median income in the spring and the BLS a month's CPI in the middle of the
next, so a sale in February reads last year's figure, and the paper says which it read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from leases.resale.base import Formula
from leases.resale.errors import FormulaError, MissingIndexValue
from leases.resale.fields import Kind, param
from leases.resale.inputs import IndexKey, IndexPoints, IndexTable, SaleInputs, key_text
from leases.resale.money import format_number, format_ratio
from leases.resale.result import Ledger


@dataclass(frozen=True, kw_only=True)
class IndexFormula(Formula):
    """Purchase price times the ratio of the index at resale to the index at purchase."""

    type: ClassVar[str] = "index"
    title: ClassVar[str] = "index formula"
    series: str = param(Kind.TEXT)
    period: str = param(Kind.CHOICE, default="year", choices=("year", "month"))
    read: str = param(Kind.CHOICE, default="period", choices=("period", "latest"))
    label: str | None = param(Kind.TEXT, default=None)

    def check(self) -> None:
        if not self.series:
            raise FormulaError("series", 'must name the index series, e.g. "jackson-ms-ami"')

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """Write the purchase price and its change with the index."""
        (start_key, start), (end_key, end) = self.values(inputs)
        name = self.label or self.series
        base = ledger.item("Purchase price", inputs.purchase_price)
        change = (
            f"Change with the index ({name}): {start_key} {format_number(start)} → "
            f"{end_key} {format_number(end)} (× {format_ratio(end, start)})"
        )
        source = f"indexes.{self.series}"
        ledger.item(inputs.sourced(change, source, "; source: ", ""), base * end / start - base)

    def values(self, inputs: SaleInputs) -> tuple[tuple[str, Decimal], tuple[str, Decimal]]:
        """The index at purchase and at resale, each with the period it was read for."""
        table = inputs.indexes.get(self.series)
        if table is None:
            given = ", ".join(sorted(inputs.indexes)) or "none"
            raise FormulaError(
                "indexes", f"no index series {self.series!r} was given (the inputs have: {given})"
            )
        if isinstance(table, IndexPoints):
            return ("at purchase", table.at_purchase), ("at resale", table.at_resale)
        return (
            self.lookup(table, inputs.purchase_date, "purchase_date"),
            self.lookup(table, inputs.sale_date, "sale_date"),
        )

    def lookup(self, table: IndexTable, on: dt.date, date_field: str) -> tuple[str, Decimal]:
        """The table's value for the period holding `on` (with `read` "latest", the latest on
        record up to it), or an error naming the period."""
        key = period_key(on, self.period)
        if key in table:
            return key_text(key), table[key]
        latest = latest_key(table, key) if self.read == "latest" else None
        if latest is not None:
            return f"{key_text(latest)} (the latest on record by {on.isoformat()})", table[latest]
        before = " or before it" if self.read == "latest" else ""
        raise MissingIndexValue(
            self.series,
            f"has no value for {key_text(key)}{before} (the {self.period} of the {date_field} "
            f"{on.isoformat()}); the table has {describe_keys(table)}",
            reads_latest=self.read == "latest",
        )


def period_key(on: dt.date, period: str) -> IndexKey:
    """The key of the period holding `on`: its year, or (year, month)."""
    return on.year if period == "year" else (on.year, on.month)


def latest_key(keys: Iterable[IndexKey], target: IndexKey) -> IndexKey | None:
    """The latest of `keys` on or before `target`, of its kind (years, or (year, month)s)."""
    monthly = isinstance(target, tuple)
    return max((k for k in keys if isinstance(k, tuple) == monthly and k <= target), default=None)


def describe_keys(table: IndexTable) -> str:
    """The periods a table covers, in short: "2015, 2016, 2017" or "2001 ... 2023 (23 values)"."""
    keys = sorted(table, key=lambda k: (k, 0) if isinstance(k, int) else k)
    texts = [key_text(k) for k in keys]
    if len(texts) <= 5:
        return ", ".join(texts)
    return f"{texts[0]} ... {texts[-1]} ({len(texts)} values)"
