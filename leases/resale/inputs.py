"""What a formula is evaluated on: the sale's facts, kept apart from the formula itself.

The formula is stored on the lease; the inputs are gathered at each sale (appraisals, index
values, approved improvements, repairs, the target household's budget). A formula that needs an
input that was not given raises a FormulaError naming the input (and why it was not given, when
`unavailable` says).

Where each figure came from travels with it as plain text (`sources`: "2018-04-20, Smith
Appraisals"; "2024 (HUD FY2024 income limits)"), so the paper can say it and the household and
the board can check it; the formulas only print it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from leases.resale.base import Checked
from leases.resale.dates import Held, held_between
from leases.resale.errors import FormulaError, MissingInput
from leases.resale.fields import Kind, check_decimal, closest, param, params

# An index table is keyed by year (2019) or by year and month ((2019, 6)).
IndexKey = int | tuple[int, int]
IndexTable = Mapping[IndexKey, Decimal]


@dataclass(frozen=True, kw_only=True)
class Improvement(Checked):
    """A capital improvement the trust approved, as a candidate for a resale credit."""

    described_as: ClassVar[str] = "an improvement"

    description: str = param(Kind.TEXT)
    cost: Decimal = param(Kind.MONEY)
    completed_on: dt.date | None = param(Kind.DATE, default=None)
    value_added: Decimal | None = param(Kind.MONEY, default=None)
    # Approved before the purchase: an earlier owner's, paid for in the seller's price.
    approved_on: dt.date | None = param(Kind.DATE, default=None)


@dataclass(frozen=True, kw_only=True)
class Repair(Checked):
    """Repairs needed to return the home to standard, or repair reserve used: a deduction."""

    described_as: ClassVar[str] = "a repair"

    description: str = param(Kind.TEXT)
    amount: Decimal = param(Kind.MONEY)


@dataclass(frozen=True, kw_only=True)
class IndexPoints(Checked):
    """An index given by its two values only, at purchase and at resale."""

    described_as: ClassVar[str] = 'index values (or give a "table")'

    at_purchase: Decimal = param(Kind.INDEX_VALUE)
    at_resale: Decimal = param(Kind.INDEX_VALUE)


@dataclass(frozen=True, kw_only=True)
class SaleInputs(Checked):
    """The facts of one sale that formulas read; only `purchase_*` and `sale_date` are always
    needed."""

    described_as: ClassVar[str] = "the sale inputs"

    purchase_price: Decimal = param(Kind.MONEY)
    purchase_date: dt.date = param(Kind.DATE)
    sale_date: dt.date = param(Kind.DATE)
    appraisal_at_purchase: Decimal | None = param(Kind.MONEY, default=None)
    appraisal_at_resale: Decimal | None = param(Kind.MONEY, default=None)
    indexes: Mapping[str, IndexTable | IndexPoints] = param(Kind.INDEXES, default=None)
    improvements: tuple[Improvement, ...] = param(Kind.OBJECTS, default=(), of=Improvement)
    repairs: tuple[Repair, ...] = param(Kind.OBJECTS, default=(), of=Repair)
    principal_paid: Decimal | None = param(Kind.MONEY, default=None)
    seller_closing_costs: Decimal | None = param(Kind.MONEY, default=None)
    seller_net_proceeds: Decimal | None = param(Kind.MONEY, default=None)
    target_income_annual: Decimal | None = param(Kind.MONEY, default=None)
    # How the target income was derived when HUD's table does not list the household (a
    # household over 8 persons: `leases.resale.income_limits`); shown on a line of its own.
    target_income_basis: str | None = param(Kind.TEXT, default=None)
    taxes_monthly: Decimal | None = param(Kind.MONEY, default=None)
    insurance_monthly: Decimal | None = param(Kind.MONEY, default=None)
    lease_fee_monthly: Decimal | None = param(Kind.MONEY, default=None)
    # {input name, or "indexes.<series>": where it came from}, printed on the input's line.
    sources: Mapping[str, str] | None = param(Kind.TEXTS, default=None)
    # {input name: why it was not given}, said when a formula needs it (a stale appraisal).
    unavailable: Mapping[str, str] | None = param(Kind.TEXTS, default=None)

    def check(self) -> None:
        self.held()  # a sale before the purchase is an error naming both dates
        object.__setattr__(self, "indexes", check_indexes(self.indexes or {}))
        for name, kind in (("improvements", Improvement), ("repairs", Repair)):
            object.__setattr__(self, name, check_records(getattr(self, name), kind, name))
        check_input_names(self.sources or {}, "sources", series=True)
        check_input_names(self.unavailable or {}, "unavailable", series=False)

    def held(self) -> Held:
        """How long the seller held the home: completed years and leftover months."""
        return held_between(self.purchase_date, self.sale_date)

    def require(self, name: str, needed_by: str) -> Decimal:
        """The money input `name`, or a FormulaError saying which formula needs it."""
        value = getattr(self, name)
        if value is None:
            raise MissingInput(name, needed_by, (self.unavailable or {}).get(name))
        return value

    def sourced(self, label: str, name: str, sep: str = " (", end: str = ")") -> str:
        """`label` with where input `name` came from, when the inputs say: "Appraised value at
        purchase (2018-04-20, Smith Appraisals)"; the label alone otherwise."""
        source = (self.sources or {}).get(name)
        return f"{label}{sep}{source}{end}" if source else label


def input_names() -> set[str]:
    """The names of the sale's figures (every input but the two maps of texts about them)."""
    return {f.name for f in params(SaleInputs)} - {"sources", "unavailable"}


def check_input_names(texts: Mapping[str, str], field: str, *, series: bool) -> None:
    """Each name in `texts` is an input (or, with `series`, "indexes.<series name>")."""
    names = input_names()
    for name in texts:
        if name in names or (series and name.startswith("indexes.") and name != "indexes."):
            continue
        raise FormulaError(f"{field}.{name}", f"is not a sale input; {closest(name, names)}")


def check_records(records: Any, kind: type[Checked], name: str) -> tuple[Any, ...]:
    """A tuple of `kind` records (improvements or repairs)."""
    if not isinstance(records, tuple | list):
        raise FormulaError(name, f"must be a list of {kind.__name__} records")
    for i, record in enumerate(records):
        if not isinstance(record, kind):
            raise FormulaError(f"{name}[{i}]", f"must be {kind.described_as}, not {record!r}")
    return tuple(records)


def check_indexes(indexes: Any) -> dict[str, IndexTable | IndexPoints]:
    """Index series by name: each a table {year or (year, month): value} or IndexPoints."""
    if not isinstance(indexes, Mapping):
        raise FormulaError("indexes", "must map a series name to its table of values")
    checked: dict[str, IndexTable | IndexPoints] = {}
    for series, table in indexes.items():
        if not isinstance(series, str) or not series:
            raise FormulaError("indexes", f"a series name must be text (got {series!r})")
        checked[series] = table if isinstance(table, IndexPoints) else check_table(table, series)
    return checked


def check_table(table: Any, series: str) -> dict[IndexKey, Decimal]:
    """A checked index table: years or (year, month) pairs to positive values."""
    field = f"indexes.{series}"
    if not isinstance(table, Mapping) or not table:
        raise FormulaError(field, "must be a non-empty table {year or (year, month): value}")
    checked: dict[IndexKey, Decimal] = {}
    for key, value in table.items():
        if not is_index_key(key):
            raise FormulaError(field, f"{key!r} is not a year (2019) or a (year, month) pair")
        checked[key] = check_decimal(Kind.INDEX_VALUE, value, f"{field}[{key_text(key)}]")
    return checked


def is_index_key(key: Any) -> bool:
    """Whether `key` is a year or a (year, month) pair."""
    if isinstance(key, tuple) and len(key) == 2:
        year, month = key
        return is_year(year) and isinstance(month, int) and 1 <= month <= 12
    return is_year(key)


def is_year(value: Any) -> bool:
    """Whether `value` is a plausible calendar year."""
    return isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999


def key_text(key: IndexKey) -> str:
    """The key as written in JSON and messages: "2019" or "2019-06"."""
    return f"{key[0]}-{key[1]:02d}" if isinstance(key, tuple) else str(key)
