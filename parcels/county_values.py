"""How a county file's tax-status and assessed-value cells are read, and what is said about it.

PREPARE_SQL (`parcels.importing`) reads every row in PostgreSQL; this module decides what it is
given for the file at hand (which tax codes mean what, which amounts it can read) and puts what
was read into words for the import's output and its reject file. No database here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

# --- tax status ----------------------------------------------------------------------------

FLAG_TRUE = ("1", "1.0", "y", "yes", "t", "true")
FLAG_FALSE = ("0", "0.0", "n", "no", "f", "false")
DELINQUENT_CODES = (*FLAG_TRUE, "d", "delinquent")
FORFEITED_WORDS = ("forfeited", "forfeit", "state")
# Beyond this many different values a column is text, not codes; the rest are not listed.
MAX_CODES = 100
MAX_CODES_SHOWN = 12


def _normal(value: str | None) -> str:
    """A cell as PREPARE_SQL compares it: lower(btrim(value)), blank for NULL."""
    return (value or "").strip(" ").lower()


@dataclass
class TaxTally:
    """The tax-status column's values over the whole file, with how many rows hold each,
    counted batch by batch as the file is read (unchanged rows included)."""

    counts: Counter[str] = field(default_factory=Counter)  # normal form -> rows
    spelling: dict[str, str] = field(default_factory=dict)  # normal form -> as first written
    more: bool = False  # more than MAX_CODES different values: counting stopped

    def add(self, texts: pa.Array) -> None:
        if self.more:
            return
        counts = pc.value_counts(texts)
        for value, rows in zip(counts.field("values").to_pylist(),
                               counts.field("counts").to_pylist(), strict=True):  # fmt: skip
            normal = _normal(value)
            self.counts[normal] += rows
            self.spelling.setdefault(normal, (value or "").strip(" "))
        self.more = len(self.counts) > MAX_CODES


@dataclass(frozen=True)
class TaxReading:
    """How the file's tax-status column is read, decided once for the whole column.

    A lone "F" means false in a yes/no column (TAX_DELQ = T/F: not delinquent) but forfeited in
    a status-code column (C/D/F), and reading it row by row cannot tell which: "F" read as
    forfeited turned a county's every taxpaying parcel into forfeited land. So the column's
    values decide. A column whose every non-blank value is a yes/no word (1/0, y/n, yes/no,
    t/f, true/false) is a flag: its true values are delinquent, the rest current, "F" among
    them. Any other column holds status codes: "d"/"delinquent" (and the true words) are
    delinquent, "f", "forfeited", "forfeit" and "state" forfeited, anything else current.
    The column's name does not decide: counties call both kinds TAX_DELQ or TAX_STATUS.
    Land whose owner of record is the State is forfeited either way (`forfeited_owners`).
    The reading, with how many rows hold each value, is printed with the import (`describe`).
    """

    column: str | None
    tally: TaxTally

    @property
    def is_flag(self) -> bool:
        values = set(self.tally.counts) - {""}
        return not self.tally.more and values <= {*FLAG_TRUE, *FLAG_FALSE}

    @property
    def forfeited_codes(self) -> list[str]:
        return list(FORFEITED_WORDS) if self.is_flag else [*FORFEITED_WORDS, "f"]

    @property
    def delinquent_codes(self) -> list[str]:
        return list(DELINQUENT_CODES)

    def status_of(self, normal: str) -> str:
        """The tax status a value (in its normal form) gives, ownership aside."""
        if normal in self.forfeited_codes:
            return "forfeited"
        return "delinquent" if normal in DELINQUENT_CODES else "current"

    def describe(self) -> str:
        """One line: how the column was read, each value with its status and its rows ("" when
        the file has no tax-status column)."""
        if self.column is None:
            return ""
        kind = "a yes/no flag" if self.is_flag else "status codes"
        counts = self.tally.counts.most_common()
        shown = [
            f"{self.tally.spelling[normal] or '(blank)'} = {self.status_of(normal)} ({rows:,})"
            for normal, rows in counts[:MAX_CODES_SHOWN]
        ]
        if self.tally.more or len(counts) > MAX_CODES_SHOWN:
            shown.append("other values by the same rules")
        return f"clt: tax status from {self.column}, read as {kind}: {', '.join(shown)}"


# --- amounts of money ----------------------------------------------------------------------

# An amount as most counties write it: digits, perhaps with decimals (PostgreSQL regex).
PLAIN_AMOUNT = r"^[0-9]{1,12}(\.[0-9]*)?$"
# As a spreadsheet writes it (case-insensitive): "$12,500", "$ 12,500.00", "12,500", "USD 12500":
# a dollar sign or USD, thousands separated by commas in groups of three. Negative amounts,
# other separators ("12.500,00") and more than 12 digits before the point are not amounts.
WRITTEN_AMOUNT = r"^(\$|usd)? *([0-9]{1,12}|[0-9]{1,3}(,[0-9]{3}){1,3})(\.[0-9]*)?$"
# Shown per column in the warning; the reject file lists them all.
UNREAD_SHOWN = 5


@dataclass(frozen=True)
class UnreadValue:
    """A cell of an amount column that is neither empty nor an amount ("N/A", "12.5.3").

    The parcel is imported all the same (its outline and the rest are good) and keeps the
    value it has on record, if any: an empty cell says "no value" and empties the field, but
    an unreadable one is a mistake in the file, and must not wipe a good value. The parcel
    then keeps this row's hash, so the same row in the next file is unchanged and not warned
    of again; a corrected one is changed, and read.
    """

    row: int
    field: str  # the parcel field: assessed_land, assessed_improvement
    column: str  # the file's column
    text: str
    kept: Decimal | None  # the value on record the parcel keeps; None if it has none

    def reason(self) -> str:
        """For the reject file: what was not read, and what the parcel has instead."""
        kept = f"kept at {self.kept}" if self.kept is not None else "left empty (none on record)"
        return f"{self.column} '{self.text}' is not an amount of money; {self.field} {kept}"


def unread_warnings(unread: list[UnreadValue]) -> list[str]:
    """A warning per column holding cells that are not amounts: how many, the first few by
    row, and what became of them."""
    by_column: dict[tuple[str, str], list[UnreadValue]] = {}
    for value in unread:
        by_column.setdefault((value.column, value.field), []).append(value)
    warnings = []
    for (column, target), values in by_column.items():
        many = len(values) > 1
        listed = ", ".join(f"row {v.row} '{v.text}'" for v in values[:UNREAD_SHOWN])
        more = f" and {len(values) - UNREAD_SHOWN:,} more" if len(values) > UNREAD_SHOWN else ""
        warnings.append(
            f"warning: {len(values):,} value{'s' if many else ''} of {column} ({target}) "
            f"{'are' if many else 'is'} not {'amounts' if many else 'an amount'} of money and "
            f"{'were' if many else 'was'} not read: {listed}{more}. Each such parcel keeps the "
            f"{target} it had on record (a new parcel has none); all are listed in the reject "
            "file. Correct the file and import it again"
        )
    return warnings
