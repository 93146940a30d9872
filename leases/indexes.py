"""Published index tables (area median income, HUD income limits, CPI) loaded from CSV.

A table is kept as data with its provenance: an `IndexSeries` (name, kind, area, source, the
file it was loaded from) and its `IndexValue` rows. The CSV has a header row and these columns:

    year               required, e.g. 2024
    value              required, a positive number (up to 4 decimal places)
    month              optional, 1-12 (monthly series such as CPI)
    household_size     optional, 1-8 persons (HUD income limits: required; HUD lists no more,
                       a larger household's limit is derived: leases.resale.income_limits)
    percent_of_median  optional, e.g. 30, 50, 80 (HUD income limits: required)

Any other column is an error (a typo'd header would otherwise load nothing silently). A file
with a bad row loads nothing (one transaction).

Loading *merges* by default: HUD publishes one year at a time, so a file of this year's figure
adds that year (or updates it, if its value changed) and keeps every other value on record.
`replace=True` (`clt load-index --replace`) makes the series exactly the file, and is refused,
with nothing changed, when it would drop a value a lease still reads: the index year (or month)
of its purchase or of a sale today, or the HUD income limit in effect today for its
mortgage-based formula.

Each value keeps its own provenance (the load's source and file); the series' `source` says
where its values came from, by year when loads brought more than one source
(`describe_sources`), and `loaded_from` names the file of the latest load.

HUD income limits are loaded as HUD publishes them, never computed as a percentage of the
median: HUD adjusts them (for high housing costs, low incomes, household size).

Lease pricing reads the loaded values through `leases.pricing.index_tables`, which builds the
resale engine's `indexes` mapping for the series a formula names.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.utils import timezone

from clt.history import recorded
from leases.models import INDEX_YEARS, GroundLease, IndexKind, IndexSeries, IndexValue
from leases.pricing import income_limit_target, index_periods_read
from leases.resale.income_limits import sizes_read

REQUIRED_COLUMNS = ("year", "value")
OPTIONAL_COLUMNS = ("month", "household_size", "percent_of_median")
KINDS = tuple(IndexKind.values)
MAX_ERRORS_SHOWN = 20
# IndexValue.value is numeric(14, 4): at most 10 digits before the point and 4 after it.
VALUE_MAX_INTEGER_DIGITS = 10
VALUE_MAX_DECIMALS = 4


class IndexFileError(ValueError):
    """An index table file is missing, malformed or has bad rows; nothing was loaded."""


class IndexLoadRefused(IndexFileError):
    """A load would break what leases read from the series; nothing was loaded."""


# A value's place in its series: (year, month, household_size, percent_of_median).
IndexValueKey = tuple[int, int | None, int | None, int | None]


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
    def key(self) -> IndexValueKey:
        return (self.year, self.month, self.household_size, self.percent_of_median)

    def describe_key(self) -> str:
        """The key in words: "year 2024, household size 4, 80% of median"."""
        return describe_key(self.key)


def describe_key(key: IndexValueKey) -> str:
    """A value's key in words: "year 2024, household size 4, 80% of median"."""
    year, month, household_size, percent_of_median = key
    parts = [f"year {year}"]
    if month is not None:
        parts.append(f"month {month}")
    if household_size is not None:
        parts.append(f"household size {household_size}")
    if percent_of_median is not None:
        parts.append(f"{percent_of_median}% of median")
    return ", ".join(parts)


@dataclass(frozen=True)
class IndexLoad:
    """What a load did: the series, its values now, and how many the file added or updated,
    how many stayed as they were (`kept`) and, replacing the series, how many it removed."""

    series: IndexSeries
    values: int
    added: int
    updated: int
    kept: int
    removed: int = 0
    replaced: bool = False

    def __str__(self) -> str:
        values = f"{self.values} value{'' if self.values == 1 else 's'}"
        head = f"series {self.series.name!r} ({self.series.kind}): {values}"
        counts = f"added {self.added}, updated {self.updated}, kept {self.kept}"
        if self.replaced:
            return f"{head}, replacing the series ({counts}, removed {self.removed})"
        return f"{head} ({counts})"


def index_load(
    *,
    path: Path,
    series: str,
    kind: str,
    source: str,
    area: str = "",
    replace: bool = False,
    user=None,
) -> IndexLoad:
    """Load the values in the CSV at `path` into the index series `series`; all or nothing.

    Merged into the values on record (new keys added, changed values updated, the rest kept),
    or with `replace` the series becomes exactly the file, unless that drops a value a lease
    reads (IndexLoadRefused). A blank `area` keeps the series' area.
    """
    series, source, area = series.strip(), source.strip(), area.strip()
    check_series_fields(series=series, kind=kind, source=source, area=area)
    rows = read_index_file(path, kind=kind)
    origin = loaded_from(path)
    with recorded("index_load", user, file=path.name, replace=replace):
        record = series_to_load(name=series, kind=kind, area=area, replace=replace)
        on_record = {value_key(value): value for value in record.values.all()}
        dropped = set(on_record) - {row.key for row in rows} if replace else set()
        refuse_dropping_what_leases_read(record, dropped, on_record)
        added, updated = write_rows(
            record, rows, on_record, source=source, origin=origin, restamp=replace
        )
        IndexValue.objects.filter(pk__in=[on_record[key].pk for key in dropped]).delete()
        record.source = describe_sources(record)
        record.loaded_from = origin
        record.loaded_at = timezone.now()
        record.save()
    values = len(on_record) + added - len(dropped)
    kept = values - added - updated
    return IndexLoad(record, values, added, updated, kept, removed=len(dropped), replaced=replace)


def series_to_load(*, name: str, kind: str, area: str, replace: bool) -> IndexSeries:
    """The series a load writes to, locked for the load: made if new. A merge adds to a table
    of the same kind only (an AMI year among CPI months would mix two tables)."""
    record = IndexSeries.objects.select_for_update().filter(name=name).first()
    if record is None:
        return IndexSeries.objects.create(name=name, kind=kind, area=area, source="")
    if record.kind != kind and not replace:
        raise IndexFileError(
            f"kind: series {name!r} is a table of kind {record.kind}, not {kind}: check "
            "--series and --kind (or replace the whole table with --replace)"
        )
    record.kind = kind
    record.area = area or record.area
    return record


def value_key(value: IndexValue) -> IndexValueKey:
    return (value.year, value.month, value.household_size, value.percent_of_median)


def write_rows(
    record: IndexSeries,
    rows: list[IndexRow],
    on_record: dict[IndexValueKey, IndexValue],
    *,
    source: str,
    origin: str,
    restamp: bool = False,
) -> tuple[int, int]:
    """Add the rows new to the series and update those whose value changed, each with this
    load's provenance. A row equal to the value on record leaves it as it is, its provenance
    too, unless `restamp` (a replaced series is the file's, every value of it). Returns
    (added, updated)."""
    new, changed, restamped = [], [], []
    for row in rows:
        known = on_record.get(row.key)
        if known is None:
            new.append(
                IndexValue(
                    series=record, year=row.year, month=row.month,
                    household_size=row.household_size, percent_of_median=row.percent_of_median,
                    value=row.value, source=source, loaded_from=origin,
                )
            )  # fmt: skip
        elif known.value != row.value or restamp:
            (changed if known.value != row.value else restamped).append(known)
            known.value, known.source, known.loaded_from = row.value, source, origin
    IndexValue.objects.bulk_create(new)
    IndexValue.objects.bulk_update([*changed, *restamped], ["value", "source", "loaded_from"])
    return len(new), len(changed)


def describe_sources(record: IndexSeries) -> str:
    """Where the series' values came from: their one source, or each source with the years it
    gave, the latest first ("HUD FY2027 (2027); HUD FY2026 table (2015–2026)")."""
    years: dict[str, set[int]] = {}
    for source, year in record.values.values_list("source", "year"):
        years.setdefault(source or "source not recorded", set()).add(year)
    if len(years) == 1:
        return next(iter(years))
    latest_first = sorted(years.items(), key=lambda item: max(item[1]), reverse=True)
    return "; ".join(f"{source} ({year_spans(spans)})" for source, spans in latest_first)


def year_spans(years: set[int]) -> str:
    """Years in short: "2015–2026", "2015, 2017–2019"."""
    spans: list[list[int]] = []
    for year in sorted(years):
        if spans and year == spans[-1][1] + 1:
            spans[-1][1] = year
        else:
            spans.append([year, year])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


# --- what leases read from a series --------------------------------------------------------------


def refuse_dropping_what_leases_read(
    record: IndexSeries, dropped: set[IndexValueKey], on_record: dict[IndexValueKey, IndexValue]
) -> None:
    """IndexLoadRefused naming each lease and value, if `dropped` holds a value a lease whose
    rules still apply reads today (`values_read`)."""
    problems = leases_reading(record, dropped, on_record)
    if problems:
        listed = "\n".join(f"  {problem}" for problem in problems)
        raise IndexLoadRefused(
            f"series {record.name!r}: --replace would remove values leases read, so nothing "
            f"was loaded:\n{listed}\nLoad the file without --replace to add and update its "
            "years and keep the others, or include these values in the file."
        )


def leases_reading(
    record: IndexSeries, dropped: set[IndexValueKey], on_record: dict[IndexValueKey, IndexValue]
) -> list[str]:
    """"lease GL-2022-013 reads year 2026 (the index for a sale today on 2026-11-24)" for each
    value in `dropped` that a lease whose rules still apply reads today (`values_read`): what
    removing them would leave unpriced, by `clt load-index --replace` or in the admin."""
    if not dropped:
        return []
    today = timezone.localdate()
    leases = GroundLease.objects.not_stopped_by(today).order_by("reference")
    return [
        f"lease {lease.reference} reads {describe_key(key)} ({why})"
        for lease in leases.only("reference", "starts_on", "purchase_date", "resale_formula")
        for key, why in values_read(lease, record, set(on_record), today)
        if key in dropped
    ]


def values_read(
    lease: GroundLease, record: IndexSeries, keys: set[IndexValueKey], today: dt.date
) -> list[tuple[IndexValueKey, str]]:
    """The values of `record` (among `keys`, those on record) that `lease`'s formula in force
    today reads for a sale today, each with why: the index period of its purchase and of
    today, or the HUD income limit in effect today."""
    formula, found = lease.formula_in_force(today).formula, []
    periods = {
        year if month is None else (year, month)
        for year, month, size, percent in keys
        if size is None and percent is None  # index points, not income limits
    }
    for on, why in ((lease.purchase_date, "its purchase"), (today, "a sale today")):
        for period in index_periods_read(formula, record.name, on, periods):
            year, month = period if isinstance(period, tuple) else (period, None)
            found.append(((year, month, None, None), f"the index for {why} on {on.isoformat()}"))
    target = income_limit_target(formula)
    if record.kind == IndexKind.HUD_INCOME_LIMIT and target is not None:
        percent, size = target
        # A household over 8 persons reads the 4- and 8-person limits its own is derived from.
        for read in sizes_read(int(size)):
            in_effect = limit_in_effect(keys, (percent, read), today)
            why = "the HUD income limit in effect today"
            if read != int(size):
                why += f", from which its {size}-person limit is derived"
            if in_effect is not None:
                found.append((in_effect, why))
    return found


def limit_in_effect(
    keys: set[IndexValueKey], target: tuple[int, int], today: dt.date
) -> IndexValueKey | None:
    """The key of the income limit `leases.pricing.target_income` reads today for `target`
    (percent of median, household size): the latest up to this year."""
    percent, size = target
    matching = [
        key
        for key in keys
        if key[0] <= today.year and key[2] == int(size) and key[3] == int(percent)
    ]
    return max(matching, key=lambda key: (key[0], key[1] or 0), default=None)


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
