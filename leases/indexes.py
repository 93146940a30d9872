"""Published index tables (area median income, HUD income limits, CPI) loaded from CSV.

A table is kept as data with its provenance: an `IndexSeries` (name, kind, area, source, the
file it was loaded from) and its `IndexValue` rows. The CSV has a header row and these columns:

    year               required, e.g. 2024
    value              required, a positive number (up to 4 decimal places)
    month              optional, 1-12 (monthly series such as CPI)
    household_size     optional, 1-8 persons (HUD income limits: required)
    percent_of_median  optional, e.g. 30, 50, 80 (HUD income limits: required)

Any other column is an error (a typo'd header would otherwise load nothing silently). Loading a
file replaces the series' values, in one transaction: a file with a bad row loads nothing.

HUD income limits are loaded as HUD publishes them, never computed as a percentage of the
median: HUD adjusts them (for high housing costs, low incomes, household size).

Lease pricing reads the loaded values through `leases.pricing.index_tables`, which builds the
resale engine's `indexes` mapping for the series a formula names.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from clt.history import recorded
from leases.models import INDEX_YEARS, IndexKind, IndexSeries, IndexValue

REQUIRED_COLUMNS = ("year", "value")
OPTIONAL_COLUMNS = ("month", "household_size", "percent_of_median")
KINDS = tuple(IndexKind.values)
MAX_ERRORS_SHOWN = 20
# IndexValue.value is numeric(14, 4): at most 10 digits before the point and 4 after it.
VALUE_MAX_INTEGER_DIGITS = 10
VALUE_MAX_DECIMALS = 4


class IndexFileError(ValueError):
    """An index table file is missing, malformed or has bad rows; nothing was loaded."""


@dataclass(frozen=True)
class IndexRow:
    """One published value, checked: the key it is filed under and the value."""

    line: int
    year: int
    value: Decimal
    month: int | None = None
    household_size: int | None = None
    percent_of_median: int | None = None

    @property
    def key(self) -> tuple[int, int | None, int | None, int | None]:
        return (self.year, self.month, self.household_size, self.percent_of_median)

    def describe_key(self) -> str:
        """The key in words: "year 2024, household size 4, 80% of median"."""
        parts = [f"year {self.year}"]
        if self.month is not None:
            parts.append(f"month {self.month}")
        if self.household_size is not None:
            parts.append(f"household size {self.household_size}")
        if self.percent_of_median is not None:
            parts.append(f"{self.percent_of_median}% of median")
        return ", ".join(parts)


@dataclass(frozen=True)
class IndexLoad:
    """What a load did: the series, how many values it now has, how many it replaced."""

    series: IndexSeries
    values: int
    replaced: int

    def __str__(self) -> str:
        replaced = f", replacing {self.replaced}" if self.replaced else ""
        return f"series {self.series.name!r} ({self.series.kind}): {self.values} values{replaced}"


def index_load(
    *,
    path: Path,
    series: str,
    kind: str,
    source: str,
    area: str = "",
    user=None,
) -> IndexLoad:
    """Load (or reload) the index series `series` from the CSV at `path`; all or nothing."""
    series, source, area = series.strip(), source.strip(), area.strip()
    check_series_fields(series=series, kind=kind, source=source, area=area)
    rows = read_index_file(path, kind=kind)
    with recorded("index_load", user, file=path.name):
        record, _ = IndexSeries.objects.update_or_create(
            name=series,
            defaults={
                "kind": kind,
                "area": area,
                "source": source,
                "loaded_from": loaded_from(path),
            },
        )
        replaced, _ = IndexValue.objects.filter(series=record).delete()
        IndexValue.objects.bulk_create(
            IndexValue(
                series=record,
                year=row.year,
                month=row.month,
                household_size=row.household_size,
                percent_of_median=row.percent_of_median,
                value=row.value,
            )
            for row in rows
        )
    return IndexLoad(series=record, values=len(rows), replaced=replaced)


def check_series_fields(*, series: str, kind: str, source: str, area: str) -> None:
    """The series' own fields, checked before any file is read."""
    if not series:
        raise IndexFileError("series: give the series a name, e.g. jackson-ms-ami")
    if len(series) > 100:
        raise IndexFileError(f"series: at most 100 characters (got {len(series)})")
    if kind not in KINDS:
        raise IndexFileError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if not source:
        raise IndexFileError("source: say where the figures come from (publisher, document, URL)")
    if len(source) > 300:
        raise IndexFileError(f"source: at most 300 characters (got {len(source)})")
    if len(area) > 100:
        raise IndexFileError(f"area: at most 100 characters (got {len(area)})")


def loaded_from(path: Path) -> str:
    """The file's name and the start of its SHA-256, so the exact bytes loaded can be found."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f"{path.name} (sha256 {digest[:16]})"


def read_index_file(path: Path, *, kind: str) -> list[IndexRow]:
    """The checked rows of an index CSV; IndexFileError lists every bad row."""
    if not path.is_file():
        raise IndexFileError(f"{path}: file not found")
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:  # -sig: Excel's byte-order mark
            reader = csv.DictReader(f)
            columns = check_columns(reader.fieldnames, path)
            raw_rows = [(line, row) for line, row in enumerate(reader, start=2)]
    except UnicodeDecodeError as exc:
        raise IndexFileError(f"{path.name}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise IndexFileError(f"{path.name}: not a CSV file ({exc})") from exc
    if not raw_rows:
        raise IndexFileError(f"{path.name}: has a header but no rows")
    rows, errors = check_rows(raw_rows, columns, kind)
    if errors:
        shown = "\n".join(f"  {error}" for error in errors[:MAX_ERRORS_SHOWN])
        more = len(errors) - MAX_ERRORS_SHOWN
        tail = f"\n  ... and {more} more" if more > 0 else ""
        count = f"{len(errors)} bad row{'s' if len(errors) != 1 else ''}"
        raise IndexFileError(f"{path.name}: {count}, nothing loaded:\n{shown}{tail}")
    return rows


def check_columns(fieldnames: Iterable[str] | None, path: Path) -> dict[str, str]:
    """Map each known column to its header as written (case and spaces forgiven)."""
    if not fieldnames:
        raise IndexFileError(f"{path.name}: empty file (expected a header row)")
    names = {(header or "").strip().lower(): header for header in fieldnames}
    for name in REQUIRED_COLUMNS:
        if name not in names:
            found = ", ".join(fieldnames)
            raise IndexFileError(f"{path.name}: missing column {name!r} (the file has: {found})")
    known = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    for name, header in names.items():
        if name not in known:
            raise IndexFileError(
                f"{path.name}: unknown column {header!r} (the columns are: {', '.join(known)})"
            )
    if len(names) < len(fieldnames):
        raise IndexFileError(f"{path.name}: a column appears twice ({', '.join(fieldnames)})")
    return names


def check_rows(
    raw_rows: list[tuple[int, dict[str, str]]], columns: dict[str, str], kind: str
) -> tuple[list[IndexRow], list[str]]:
    """The rows that pass, and a message for each that does not (with its line number)."""
    rows: list[IndexRow] = []
    errors: list[str] = []
    first_seen: dict[tuple, int] = {}
    for line, raw in raw_rows:
        cells = {name: (raw.get(header) or "").strip() for name, header in columns.items()}
        try:
            row = check_row(line, cells, kind)
        except IndexFileError as exc:
            errors.append(str(exc))
            continue
        if row.key in first_seen:
            errors.append(
                f"row {line}: {row.describe_key()} appears twice (first on row "
                f"{first_seen[row.key]})"
            )
            continue
        first_seen[row.key] = line
        rows.append(row)
    return rows, errors


def check_row(line: int, cells: dict[str, str], kind: str) -> IndexRow:
    """One row, checked; IndexFileError("row 4 value: ...") names the row and the column."""
    where = f"row {line}"
    row = IndexRow(
        line=line,
        year=whole(
            cells.get("year", ""), f"{where} year", low=INDEX_YEARS[0], high=INDEX_YEARS[1],
            required=True,
        ),
        value=index_value(cells.get("value", ""), f"{where} value"),
        month=whole(cells.get("month", ""), f"{where} month", low=1, high=12),
        household_size=whole(
            cells.get("household_size", ""), f"{where} household_size", low=1, high=8
        ),
        percent_of_median=whole(
            cells.get("percent_of_median", ""), f"{where} percent_of_median", low=1, high=200
        ),
    )
    if kind == IndexKind.HUD_INCOME_LIMIT:
        for name in ("household_size", "percent_of_median"):
            if getattr(row, name) is None:
                raise IndexFileError(
                    f"{where} {name}: is required for HUD income limits (HUD publishes each "
                    "limit by household size and percent of median)"
                )
    return row


def whole(text: str, where: str, *, low: int, high: int, required: bool = False) -> int | None:
    """A whole number in [low, high]; blank is None unless `required`."""
    if not text:
        if required:
            raise IndexFileError(f"{where}: is required")
        return None
    try:
        number = int(text)
    except ValueError:
        raise IndexFileError(f"{where}: {text!r} is not a whole number") from None
    if not low <= number <= high:
        raise IndexFileError(f"{where}: {number} is not between {low} and {high}")
    return number


def index_value(text: str, where: str) -> Decimal:
    """A published value: a positive number with at most 4 decimal places."""
    if not text:
        raise IndexFileError(f"{where}: is required")
    try:
        number = Decimal(text.replace(",", "").removeprefix("$"))
    except InvalidOperation:
        raise IndexFileError(f"{where}: {text!r} is not a number") from None
    if not number.is_finite():
        raise IndexFileError(f"{where}: {text!r} is not a number")
    if number <= 0:
        raise IndexFileError(f"{where}: must be greater than zero (got {text})")
    sign, digits, exponent = number.as_tuple()
    if -exponent > VALUE_MAX_DECIMALS:
        raise IndexFileError(f"{where}: at most {VALUE_MAX_DECIMALS} decimal places (got {text})")
    if number.adjusted() >= VALUE_MAX_INTEGER_DIGITS:
        raise IndexFileError(f"{where}: {text} is too large for an index value")
    return number


# --- the fixtures' own tables, with their provenance ---------------------------------------------

INDEX_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "indexes"
MANIFEST = "series.csv"  # file,series,kind,area,source: one line per table in the folder


def load_index_folder(folder: Path = INDEX_DIR, user=None) -> list[IndexLoad]:
    """Load every table the folder's manifest (series.csv) lists, with its stated source."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise IndexFileError(f"{manifest}: file not found")
    with manifest.open(newline="", encoding="utf-8") as f:
        entries = list(enumerate(csv.DictReader(f), start=2))
    loads = []
    for line, entry in entries:
        try:
            loads.append(
                index_load(
                    path=folder / entry["file"],
                    series=entry["series"],
                    kind=entry["kind"],
                    source=entry["source"],
                    area=entry.get("area", ""),
                    user=user,
                )
            )
        except (KeyError, IndexFileError) as exc:
            raise IndexFileError(f"{MANIFEST} row {line}: {exc}") from exc
    return loads


# --- reading a loaded table ----------------------------------------------------------------------


class IndexLookupError(ValueError):
    """A value asked of a loaded table is not there; the message says which and what is."""


def income_limit(series: str, *, year: int, household_size: int, percent_of_median: int) -> Decimal:
    """HUD's published income limit for a household size and level, from a loaded table.

    Never derived from the median: a limit HUD did not publish (in the loaded table) is an error.
    """
    found = IndexValue.objects.filter(
        series__name=series,
        year=year,
        month__isnull=True,
        household_size=household_size,
        percent_of_median=percent_of_median,
    ).values_list("value", flat=True)
    value = next(iter(found), None)
    if value is None:
        if not IndexSeries.objects.filter(name=series).exists():
            raise IndexLookupError(f"series: no index series named {series!r} is loaded")
        raise IndexLookupError(
            f"{series}: no income limit for {year}, {household_size} persons, "
            f"{percent_of_median}% of median (load HUD's table for that year)"
        )
    return value
