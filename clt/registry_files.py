"""The registry's own files: the tables a trust brings its records in with, and the demo's.

A trust moving to clt keeps its records in spreadsheets (or a HomeKeeper export turned into
them). `clt import-registry FOLDER` reads a folder of CSV tables in one format, the one the demo
neighbourhood ships its story in (`fixtures/west_jackson/`), so the demo is a worked example of
a migration folder and the two cannot drift apart. This module is that format: which files,
which columns (`TABLES`, also what `--template` writes), and how a cell is read.

Spreadsheets write CSV their own way, and what they write is read: Excel's "CSV UTF-8"
byte-order mark, cells padded with spaces, trailing rows of empty cells, amounts written
"$12,500.00", yes/no flags. What cannot be read is refused naming the file, the row as the
spreadsheet numbers it (the header is row 1) and the column, with the fix: never a KeyError,
and never a guess (a date is YYYY-MM-DD: 03/04/2016 is March or April depending on who typed it).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pghistory
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon
from django.core.exceptions import ValidationError

from clt.clitools import describe_validation_error
from parcels.county_values import WRITTEN_AMOUNT


class RegistryFileError(ValueError):
    """A registry file is missing, malformed or says something the registry refuses; the
    message names the file, row and column."""


@dataclass(frozen=True)
class Table:
    """One CSV file of the format: its columns, each with what it holds (for `--template`)."""

    file: str
    about: str
    required: dict[str, str]
    optional: dict[str, str]
    # The model its rows become: a column named as one of its fields with choices takes those
    # (the template lists them from the model, so the two cannot drift).
    model: str = ""

    @property
    def columns(self) -> list[str]:
        return [*self.required, *self.optional]


# In the order a folder is read: what a row names (a party's key, a holding's name, a lease's
# reference) must come from a file above it.
TABLES: dict[str, Table] = {
    table.file: table
    for table in (
        Table(
            "holdings.csv",
            "What the trust holds: one row per holding, made of parcels already in the "
            "registry (from `clt import-parcels`).",
            required={
                "name": "the holding's name, unique in the folder (a home: its address)",
                "current_use": "what the land is used for now",
                "acquired_via": "how the trust acquired it",
                "acquired_on": "YYYY-MM-DD",
                "apns": "its parcels' APNs, separated by spaces",
            },
            optional={
                "price": "what the trust paid (blank or 0 for a donation)",
                "deed_reference": "book/page or document number",
                "available": "yes if offered now to a household, co-op or farm",
                "ended_on": "YYYY-MM-DD, when the trust stopped holding it (rare)",
                "notes": "anything else",
            },
            model="parcels.Holding",
        ),
        Table(
            "improvements.csv",
            "Buildings and units on trust land (the lessees own them).",
            required={
                "holding": "a holding's name in holdings.csv",
                "kind": "what kind of building",
                "description": "what it is",
            },
            optional={
                "year_built": "a year",
                "dwelling_units": "homes in it (0 for a shed or a shop)",
            },
            model="parcels.Improvement",
        ),
        Table(
            "acquisitions.csv",
            "The acquisition pipeline: dated steps for parcels the trust is after.",
            required={
                "apn": "the parcel's APN (in the registry)",
                "stage": "the step reached",
                "on": "YYYY-MM-DD",
            },
            optional={
                "reason": "why the lot is wanted, or what happened (required when dropped)",
                "holding": "the holding it joined, by name (required when acquired)",
            },
            model="parcels.AcquisitionEvent",
        ),
        Table(
            "parties.csv",
            "Households, co-ops, organisations and the trust itself (private data).",
            required={
                "key": "how the other files name this party (any short word, unique)",
                "kind": "what kind of party",
                "name": "the party's name",
            },
            optional={
                "email": "", "phone": "", "mailing_address": "",
                "household_size": "persons in a household",
                "annual_income": "a household's annual income",
                "notes": "anything else",
            },
            model="leases.Party",
        ),
        Table(
            "party_members.csv",
            "The people in each household or co-op, with their shares.",
            required={
                "party": "a party's key in parties.csv",
                "name": "the person's name",
            },
            optional={
                "share": "their share, from 0 to 1 (a household's add up to 1)",
                "is_contact": "yes for the party's contact",
            },
            model="leases.PartyMember",
        ),
        Table(
            "leases.csv",
            "The ground leases, as they stand today; the resale formulas they name are "
            "JSON files in formulas/ (docs/resale-formulas.md).",
            required={
                "reference": "the lease's reference, e.g. GL-2016-001",
                "holding": "a holding's name in holdings.csv",
                "lessees": "the lessees' party keys, separated by spaces",
                "starts_on": "YYYY-MM-DD",
                "term_years": "e.g. 99",
                "permitted_use": "what the lease permits",
                "fee_monthly": "the monthly lease fee at signing",
                "purchase_price": "what the lessee paid for the improvements",
                "purchase_date": "YYYY-MM-DD",
                "formula": "a file name in formulas/ without .json",
            },
            optional={
                "occupancy_months_per_year": "months a year the owner must live there",
                "arrears": "lease fees owed today",
                "status": "the lease's status today (blank: active)",
                "ended_on": "YYYY-MM-DD, for a terminated or expired lease",
                "end_reason": "why it ended",
                "transfer_on_death": "what happens to the lease when the lessee dies",
                "notes": "anything else",
            },
            model="leases.GroundLease",
        ),
        Table(
            "fee_changes.csv",
            "Changes of a lease's monthly fee after signing.",
            required={
                "lease": "a lease's reference in leases.csv",
                "effective_on": "YYYY-MM-DD",
                "fee_monthly": "the new monthly fee",
            },
            optional={"reason": "why"},
            model="leases.LeaseFeeChange",
        ),
        Table(
            "appraisals.csv",
            "Market appraisals of leased homes.",
            required={
                "lease": "a lease's reference in leases.csv",
                "on": "YYYY-MM-DD",
                "value": "the appraised value",
                "purpose": "why it was appraised",
            },
            optional={"appraiser": "who appraised it"},
            model="leases.Appraisal",
        ),
        Table(
            "capital_improvements.csv",
            "Improvements the trust approved, credited at resale.",
            required={
                "lease": "a lease's reference in leases.csv",
                "description": "what was done",
                "approved_on": "YYYY-MM-DD",
                "cost": "what it cost",
            },
            optional={
                "completed_on": "YYYY-MM-DD",
                "credit": "what the formula credits at resale",
            },
            model="leases.CapitalImprovement",
        ),
        Table(
            "repairs.csv",
            "Repairs to deduct at resale.",
            required={
                "lease": "a lease's reference in leases.csv",
                "description": "the repair",
                "assessed_on": "YYYY-MM-DD",
                "amount": "its cost",
            },
            optional={},
            model="leases.RepairDeduction",
        ),
        Table(
            "monitoring.csv",
            "Monitoring events on leases, open and resolved.",
            required={
                "lease": "a lease's reference in leases.csv",
                "type": "what kind of event",
                "on": "YYYY-MM-DD",
            },
            optional={
                "notes": "what happened",
                "resolved_on": "YYYY-MM-DD",
                "resolution": "how it was resolved",
            },
            model="leases.MonitoringEvent",
        ),
        Table(
            "resales.csv",
            "Sales of leased homes, oldest first: the chain of owners.",
            required={
                "lease": "a lease's reference in leases.csv",
                "seller": "a party's key",
                "buyer": "a party's key",
                "contract_on": "YYYY-MM-DD",
                "formula_price": "the formula's price on the contract date",
                "agreed_price": "the price agreed",
            },
            optional={
                "closed_on": "YYYY-MM-DD (blank while pending)",
                "appraised_value": "the appraisal at resale",
                "buyer_income_pct_ami": "the buyer's income as % of area median income",
            },
            model="leases.Resale",
        ),
        Table(
            "easement_visits.csv",
            "Monitoring visits to the conservation easements in easements.geojson.",
            required={
                "easement": "an easement's key in easements.geojson",
                "on": "YYYY-MM-DD",
                "finding": "what the visit found",
            },
            optional={
                "monitor": "who visited",
                "notes": "what they found",
                "resolved_on": "YYYY-MM-DD, when an issue was put right",
            },
            model="parcels.EasementMonitoringVisit",
        ),
    )
}

# A GeoJSON file of the format (RFC 7946: longitude, latitude on WGS 84), with these properties.
EASEMENTS = Table(
    "easements.geojson",
    "Conservation easements: each feature's outline is the protected area (RFC 7946 GeoJSON, "
    "longitude/latitude).",
    required={
        "key": "how easement_visits.csv names it",
        "name": "the easement's name",
        "purpose": "what the easement protects",
        "public_access": "whether the public may enter",
        "holder": "a party's key (the trust or another organisation)",
        "began_on": "YYYY-MM-DD, when it was recorded",
    },
    optional={
        "grantor": "a party's key (the landowner who granted it)",
        "ended_on": "YYYY-MM-DD (blank: perpetual)",
        "recording_reference": "book/page or instrument number",
        "terms": "what the easement forbids and allows",
        "baseline_on": "YYYY-MM-DD, when the baseline documentation was signed",
    },
    model="parcels.ConservationEasement",
)

FORMULAS_FOLDER = "formulas"


def labelled_choices(table: Table, column: str) -> list[tuple[str, str]]:
    """(value, label) of each choice of a column's model field; [] if it has none."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    if not table.model:
        return []
    try:
        field = apps.get_model(table.model)._meta.get_field(column)
    except FieldDoesNotExist:
        return []
    return [(str(value), str(label)) for value, label in field.choices or ()]


def _spelling(text: str) -> str:
    """A choice as people type it, for comparing: "In default", "in-default", "IN_DEFAULT"."""
    return re.sub(r"[\s_-]+", "_", text.strip().lower())


class ChoiceReader:
    """Reads a table's choice columns as the staff pages show them or as the codes: "In
    default" and "in_default" are both `in_default`; anything else is refused, listing them."""

    def __init__(self, table: Table) -> None:
        self.file = table.file
        self.columns: dict[str, dict[str, str]] = {}
        self.listed: dict[str, str] = {}
        for column in table.columns:
            choices = labelled_choices(table, column)
            if choices:
                self.columns[column] = {
                    **{_spelling(label): value for value, label in choices},
                    **{_spelling(value): value for value, _ in choices},
                }
                self.listed[column] = ", ".join(
                    f"{value} ({label})" if _spelling(label) != _spelling(value) else value
                    for value, label in choices
                )

    def read(self, cells: dict[str, str], where: str) -> dict[str, str]:
        for column, spellings in self.columns.items():
            text = cells.get(column, "")
            if not text:
                continue
            if _spelling(text) not in spellings:
                raise RegistryFileError(
                    f"{where} {column}: '{text}' is not one of: {self.listed[column]}"
                )
            cells[column] = spellings[_spelling(text)]
        return cells


class Row(dict):
    """A CSV row by column; a column the file lacks is a RegistryFileError, not a KeyError."""

    def __init__(self, file: str, cells: dict[str, str]) -> None:
        super().__init__(cells)
        self.file = file

    def __missing__(self, column: str) -> str:
        raise RegistryFileError(f"{self.file}: no column '{column}'")

    def read(self, column: str, parse: Callable, where: str):
        """The cell of `column` (blank if the file has no such column) read by `parse`, whose
        refusal names `where` and the column."""
        return parse(self.get(column, ""), f"{where} {column}")


# Refused rows listed in one message, up to this many; the rest counted.
PROBLEMS_SHOWN = 25


class RowProblems:
    """The refused rows of a file, gathered so that one run lists them all (a folder of 30
    homes with US dates was 30 runs, a row at a time). Used as `with problems:` around each
    row; `refuse()` once the file is read: the files after it are not (they would name what
    this one failed to write), and the caller's transaction writes nothing."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def __enter__(self) -> RowProblems:
        return self

    def __exit__(self, kind, exc, traceback) -> bool:
        if isinstance(exc, RegistryFileError):
            self.found.append(str(exc))
            return True  # the next row
        return False

    def refuse(self) -> None:
        found, self.found = self.found, []
        if len(found) == 1:
            raise RegistryFileError(found[0])
        if found:
            shown = "\n".join(f"  {problem}" for problem in found[:PROBLEMS_SHOWN])
            more = len(found) - PROBLEMS_SHOWN
            raise RegistryFileError(
                f"{len(found)} rows refused (nothing was written; correct them and run again):\n"
                f"{shown}" + (f"\n  and {more} more" if more > 0 else "")
            )


def read_rows(folder: Path, file: str, *, optional: bool = False) -> list[tuple[int, Row]]:
    """The rows of `folder/file` with the row number a spreadsheet shows (the header is 1),
    after checking its header against TABLES; [] for an absent file that is `optional`."""
    path = folder / file
    if not path.exists():
        if optional:
            return []
        raise RegistryFileError(f"{path}: file not found")
    reader = csv.reader(io.StringIO(_text(path), newline=""))
    try:
        header = [name.strip() for name in next(reader, [])]
        _check_header(TABLES[file], header)
        choices = ChoiceReader(TABLES[file])
        problems = RowProblems()
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # a spreadsheet's empty rows, or a blank line at the end
            with problems:
                if len(cells) != len(header):
                    raise RegistryFileError(
                        f"{file} row {number}: {len(cells)} cells where the header has "
                        f"{len(header)} (a comma inside a cell needs the cell in double quotes)"
                    )
                values = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
                rows.append((number, Row(file, choices.read(values, f"{file} row {number}"))))
    except csv.Error as exc:
        raise RegistryFileError(f"{file}: not a CSV file the registry can read ({exc})") from None
    problems.refuse()  # every row's, in one message
    return rows


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # Excel's "CSV UTF-8" begins with a BOM
    except UnicodeDecodeError as exc:
        row = exc.object[: exc.start].count(b"\n") + 1
        line = exc.object.split(b"\n")[row - 1].decode("cp1252", "replace").strip()
        raise RegistryFileError(
            f"{path.name} row {row}: not UTF-8 text ('{line[:60]}': an accented letter saved "
            "in Windows' encoding); in a spreadsheet, save the file as 'CSV UTF-8'"
        ) from None


def _check_header(table: Table, header: list[str]) -> None:
    """Every required column there, and none the format does not know: a misspelt optional
    column ("notse") would otherwise be dropped without a word."""
    missing = [name for name in table.required if name not in header]
    unknown = [name for name in header if name not in table.columns]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"no column {_names(missing)}")
        if unknown:
            problems.append(f"unknown column {_names(unknown)}")
        raise RegistryFileError(
            f"{table.file}: {'; '.join(problems)} (its columns: {', '.join(table.columns)}; "
            "`clt import-registry --template DIR` writes each file's header)"
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise RegistryFileError(f"{table.file}: column {_names(repeated)} appears twice")


def _names(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


class FolderFiles:
    """What reads a folder's files needs (`parcels.registry_import.HoldingFiles`,
    `leases.registry_import.LeaseFiles`): the folder, who writes its records, whether a file
    may be absent, and the refused rows of the file being read."""

    def __init__(self, folder: Path, origin: Origin, *, optional: bool) -> None:
        self.folder = folder
        self.origin = origin
        # A file the folder lacks is read as empty (a trust brings in what it has); the demo
        # ships every file, and a missing one is a mistake there.
        self.optional = optional
        self.problems = RowProblems()

    def rows(self, file: str) -> list[tuple[int, Row]]:
        """A file's rows, once the file before had no refused row (`RowProblems`)."""
        self.problems.refuse()
        rows = read_rows(self.folder, file, optional=self.optional)
        self.origin.reading(file, len(rows))
        return rows

    def features(self, table: Table):
        self.problems.refuse()
        return read_features(self.folder, table, optional=self.optional)


def read_features(folder: Path, table: Table, *, optional: bool = False):
    """(number, properties, geometry) of each feature of a GeoJSON file of the format."""
    path = folder / table.file
    if not path.exists():
        if optional:
            return []
        raise RegistryFileError(f"{path}: file not found")
    try:
        document = json.loads(_text(path))
        features = document["features"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise RegistryFileError(
            f"{table.file}: not a GeoJSON FeatureCollection ({exc})"
        ) from None
    read = []
    choices = ChoiceReader(table)
    problems = RowProblems()
    for number, feature in enumerate(features, start=1):
        with problems:
            properties = (feature or {}).get("properties") or {}
            where = f"{table.file} feature {number}"
            missing = [name for name in table.required if name not in properties]
            if missing:
                raise RegistryFileError(f"{where}: no property {_names(missing)}")
            cells = {name: str(value if value is not None else "").strip()
                     for name, value in properties.items()}  # fmt: skip
            cells = choices.read(cells, where)
            read.append((number, Row(table.file, cells), feature.get("geometry")))
    problems.refuse()
    return read


# --- cells ---------------------------------------------------------------------------------------


def parse_date(value: str, where: str) -> dt.date:
    """An ISO date; `where` names the file, row and column in the error."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RegistryFileError(f"{where}: '{value}' is not a date (YYYY-MM-DD)") from None


def parse_optional_date(value: str, where: str) -> dt.date | None:
    return parse_date(value, where) if value else None


def parse_money(value: str, where: str) -> Decimal | None:
    """A dollar amount, exact, never negative, as a county or a spreadsheet writes it
    ("12500", "$12,500.00"); blank is None."""
    if value in ("", None):
        return None
    if not re.fullmatch(WRITTEN_AMOUNT, value.strip(), flags=re.IGNORECASE):
        if value.strip().lstrip("$").startswith("-"):
            raise RegistryFileError(f"{where}: '{value}' is negative")
        raise RegistryFileError(f"{where}: '{value}' is not an amount of money (e.g. 12500.00)")
    digits = re.sub(r"^(\$|usd)? *", "", value.strip(), flags=re.IGNORECASE).replace(",", "")
    return Decimal(digits)


def parse_whole(value: str, where: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise RegistryFileError(f"{where}: '{value}' is not a whole number") from None


def parse_decimal(value: str, where: str) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise RegistryFileError(f"{where}: '{value}' is not a number") from None
    if not number.is_finite():
        raise RegistryFileError(f"{where}: '{value}' is not a number")
    return number


YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}


def parse_flag(value: str, where: str) -> bool:
    """yes/no, true/false, 1/0 or a mark ("x"); blank is no."""
    if value.strip().lower() in YES:
        return True
    if value.strip().lower() in NO:
        return False
    raise RegistryFileError(f"{where}: '{value}' is neither yes nor no")


def multipolygon(geometry, where: str) -> MultiPolygon:
    """A GeoJSON polygon or multipolygon (longitude, latitude) as a MultiPolygon, refused with
    `where` named if it is no polygon, empty, invalid or not in degrees."""
    try:
        geom = GEOSGeometry(json.dumps(geometry), srid=4326)
    except (GEOSException, ValueError, TypeError):
        raise RegistryFileError(f"{where}: its geometry is not GeoJSON") from None
    if geom.geom_type == "Polygon":
        geom = MultiPolygon(geom, srid=4326)
    if geom.geom_type != "MultiPolygon" or geom.empty:
        raise RegistryFileError(f"{where}: not a polygon (a {geom.geom_type})")
    xmin, ymin, xmax, ymax = geom.extent
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        raise RegistryFileError(
            f"{where}: its coordinates are not longitude and latitude (GeoJSON is in degrees, "
            "RFC 7946); reproject the file to EPSG:4326, e.g. with "
            "`ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson`"
        )
    if not geom.valid:
        raise RegistryFileError(f"{where}: not a valid polygon ({geom.valid_reason})")
    return geom


# --- where each record came from -----------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Who is writing a folder's records, for their history: each event names the action
    (`demo_load`, `registry_import`; the named actions, such as `lease_create`, their own)
    and, under `source`, the file and row ("import leases.csv row 4")."""

    action: str
    source: str  # "demo", "import"
    say: Callable[[str], None] | None = None  # progress, a line per file read
    # Validate each record as the staff pages do (`full_clean`). Only the demo's holdings skip
    # it: every test that loads the demo would pay 0.6 s for its validation queries, and the
    # same files are imported, validated, by `clt import-registry` in its own tests.
    validate: bool = True

    def reading(self, file: str, rows: int) -> None:
        if self.say and rows:
            self.say(f"clt: {file}: {rows:,} rows")

    @contextlib.contextmanager
    def row(self, where: str, columns: dict[str, str] | None = None) -> Iterator[None]:
        """Tag the history written inside with the file and row; a refused row becomes a
        RegistryFileError naming them, and the column for a model field `columns` renames
        (a membership's `began_on` is the holdings' `apns` cell)."""
        try:
            with pghistory.context(source=f"{self.source} {where}"):
                yield
        except ValidationError as exc:
            if columns and hasattr(exc, "error_dict"):
                exc = ValidationError({columns.get(field, field): errors
                                       for field, errors in exc.error_dict.items()})  # fmt: skip
            raise RegistryFileError(f"{where}: {describe_validation_error(exc)}") from exc

    def save(self, record, where: str, columns: dict[str, str] | None = None) -> None:
        """Validate and save one record, its history tagged with the file and row."""
        # The caller's transaction makes the folder all or nothing: no savepoint per record.
        with self.row(where, columns), pghistory.context(action=self.action, user=None):
            if self.validate:
                record.full_clean()
            record.save()


def lookup(known: dict, key: str, what: str, where: str):
    """The record a row names by key (a party's key, a holding's name), or why not."""
    if key not in known:
        raise RegistryFileError(f"{where}: no {what} '{key}'")
    return known[key]


def keys(value: str) -> list[str]:
    """The keys a cell lists, separated by spaces (or commas, as a person might type them)."""
    return [key for key in re.split(r"[\s,;]+", value) if key]
