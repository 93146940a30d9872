"""County parcel file -> staging table -> upsert, in one transaction; returns an ImportRun.

The route, chosen for speed and for an all-or-nothing result:

1. pyogrio reads the file through GDAL in Arrow batches (only the mapped columns, geometry as
   WKB). Each row is hashed (mapped attributes + source WKB + mapping) and the hash looked up
   among those the registry's active parcels were imported from (`parcels.unchanged`): a row
   found there is unchanged, and is not sent at all. The other rows become CSV text in C++
   (pyarrow) and are COPYed whole into a temporary staging table, still in the file's own CRS.
   No geometry is parsed in Python. So re-importing the same county file costs a read and a
   hash per row. The registry's hashes are fetched while the first batches are read.
2. PostgreSQL checks the APNs (blank, too long, repeated: the repeats are found in Arrow while
   reading) and finds which parcel each row sent is. The parcels no row names are found in
   Arrow too, from the registry's APNs and the file's.
3. Only new and changed rows are parsed, transformed to EPSG:4326 (arcs stroked first, in the
   file's CRS), checked and, where invalid, repaired with ST_MakeValid (the parcel keeps the
   reason in `geom_note`); empty or non-areal outlines, blank and repeated APNs are rejected
   into the reject file. Tax codes and amounts are read as `parcels.county_values` explains; an
   amount that cannot be read is listed there too, and the parcel keeps the one it had.
4. Changed parcels are updated, new ones inserted, parcels gone from the file retired
   (`retired_at`, never deleted), retired parcels back in the file restored. Retired parcels
   the trust holds are named in a warning, with the new parcel each looks renumbered as.

Everything from step 1 runs in one transaction tagged `parcel_import` (clt.history), so a
failure or Ctrl-C at any point leaves the registry exactly as it was. The ImportRun is created
outside that transaction, so a failed attempt stays on record with its message; its final state
(succeeded, counts, reject file) is saved inside it, so it is committed with the parcels or not
at all. Ctrl-C during the commit itself is held until the commit returns, then reported as such.

History: updates (changes, retirements, restorations) are recorded by the pghistory trigger
as everywhere else. For brand-new parcels the per-row insert trigger is told to stand aside
(`pgtrigger.ignore`) and the same "insert" events are written by one set-based INSERT ... SELECT
from the rows just inserted, with the same columns and the same tagged context: the history is
identical, but a first import of a million parcels does not pay a PL/pgSQL call per row.
"""

from __future__ import annotations

import codecs
import collections
import concurrent.futures
import contextlib
import csv
import dataclasses
import difflib
import functools
import hashlib
import io
import itertools
import json
import math
import re
import signal
import tempfile
import threading
import tomllib
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pgtrigger
import psycopg
import psycopg.copy
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely
from django.apps import apps
from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db import InternalError, connection, transaction
from django.db.models import OuterRef
from django.utils import timezone
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError
from tqdm import tqdm

from clt.history import recorded
from clt.phases import Phases
from clt.spreadsheets import safe_if_text
from parcels.county_values import (
    PLAIN_AMOUNT,
    WRITTEN_AMOUNT,
    TaxReading,
    TaxTally,
    UnreadValue,
    unread_warnings,
)
from parcels.metric import local_crs_example
from parcels.models import METRIC_SRID, ImportRun, ImportStatus
from parcels.queries import held_memberships
from parcels.unchanged import (
    FileKeys,
    KnownRows,
    apn_keys,
    record_texts,
    value_offsets,
    wkb_kinds,
)
from parcels.vacancy_tally import VacancyTally, tally_vacancy, vacancy_warnings

Log = Callable[[str], None]

# The parcel fields a county file can fill, and the column names counties (and `clt synth`)
# use for them, compared case-insensitively. The first present wins.
FIELD_CANDIDATES: dict[str, tuple[str, ...]] = {
    "apn": ("apn", "parcel_id", "parcelid", "parcel_no", "parcelno", "parcel_num", "pin",
            "ppin", "parno", "parcel", "apn_num", "gpin"),
    "address": ("address", "situs", "situs_addr", "situsaddr", "site_addr", "siteaddr",
                "siteaddress", "prop_addr", "propaddr", "location", "full_addr"),
    "owner_of_record": ("owner_of_record", "owner", "owner_name", "ownername", "owner1",
                        "own_name", "ownname", "taxpayer"),
    "land_use": ("land_use", "landuse", "luc", "use_code", "usecode", "lu_code", "class_code",
                 "prop_class", "propclass"),
    "zoning": ("zoning", "zone", "zoning_code", "zone_code", "zonecode"),
    "assessed_land": ("assessed_land", "land_value", "landval", "land_val", "lnd_val",
                      "true_land", "landvalue"),
    "assessed_improvement": ("assessed_improvement", "improvement_value", "impr_val",
                             "imp_val", "impval", "bldg_val", "bldgval", "improvval",
                             "improvemen"),  # Shapefile names stop at 10 characters
    "vacant": ("vacant", "is_vacant", "vacancy", "vacancy_status"),
    "tax_status": ("tax_status", "taxstatus", "tax_delinquent", "tax_delinq", "delinquent",
                   "tax_delq"),
}  # fmt: skip
MAPPABLE = tuple(FIELD_CANDIDATES)
DEFAULT_VACANT_CODES = ("V", "VC", "VAC", "VACANT")
# Mississippi: land unredeemed two years after a tax sale passes to the State (Miss. Code
# § 27-45-3), whose name then stands as owner of record. Matched whole, so a state agency
# ("STATE OF MISSISSIPPI DEPT OF ...") is not taken for forfeited land.
DEFAULT_FORFEITED_OWNERS = ("STATE OF MISSISSIPPI", "STATE OF MS")
WKT_COLUMNS = ("WKT", "wkt", "geometry", "Geometry", "geom", "the_geom", "shape", "SHAPE")
MAX_APN_LENGTH = 64
BATCH_SIZE = 50_000


class ImportRefused(ValueError):
    """The file cannot be imported as asked; the message says why and what to do instead."""


# How many rows a message names before "…".
ROWS_SHOWN = 10


def count_text(count: int, one: str, many: str | None = None) -> str:
    """A count and its noun: "1 new parcel", "150,000 new parcels", "2 indexes"."""
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def rows_text(numbers) -> str:
    """'row 4', 'rows 3, 7': the file's row numbers, the first ROWS_SHOWN and '…' of
    more."""
    numbers = [int(n) for n in numbers]
    shown = ", ".join(str(n) for n in numbers[:ROWS_SHOWN])
    more = ", …" if len(numbers) > ROWS_SHOWN else ""
    return f"row{'s' if len(numbers) != 1 else ''} {shown}{more}"


class NothingImportable(ImportRefused):
    """Every feature of the file was rejected; `reject_file` lists them with the reasons."""

    def __init__(self, message: str, reject_file: Path):
        super().__init__(message)
        self.reject_file = reject_file


class _DryRun(Exception):
    """Raised after counting, to roll a dry run back."""


# --- the field mapping ---------------------------------------------------------------------


# The version of the rules turning a row into parcel fields (PREPARE_SQL, parcels.county_values),
# part of every row's hash: after a change, the next import re-derives every parcel instead of
# keeping what the old rules made of its unchanged row. 2: a T/F tax column's "F" is current,
# "$12,500" is an amount, arcs are stroked in the file's CRS.
READING_RULES = 2


@dataclass(frozen=True)
class FieldMapping:
    """Which source column fills each parcel field, and which codes mean vacant."""

    columns: Mapping[str, str]
    vacant_codes: tuple[str, ...] = DEFAULT_VACANT_CODES
    forfeited_owners: tuple[str, ...] = DEFAULT_FORFEITED_OWNERS
    # Named by the user (--vacant-codes, the mapping file), not the defaults: a code of theirs
    # that matches no row is a typo to warn of; most default codes match nothing in a county.
    # Not part of the mapping itself (as_dict): the same codes, given or not, mean the same.
    vacant_codes_given: bool = False

    def as_dict(self) -> dict:
        return {
            "columns": dict(self.columns),
            "vacant_codes": list(self.vacant_codes),
            "forfeited_owners": list(self.forfeited_owners),
        }

    def fingerprint(self) -> str:
        """Changes when the mapping does, or the rules reading a row (READING_RULES), so a new
        mapping or new rules read every row again. A row read again that gives its parcel the
        values it has is still unchanged (SAME_VALUES_SQL): a county renaming OWNER to
        OWNER_NAME changes no parcel. (The columns' names stay part of the hash: without them,
        every registry's stored hashes would be invalid after an upgrade, and noting the new
        hash of a million parcels took 103 s, as a renamed column now does once.)"""
        mapping = {**self.as_dict(), "rules": READING_RULES}
        return hashlib.md5(json.dumps(mapping, sort_keys=True).encode()).hexdigest()

    def describe(self) -> str:
        lines = [f"  {target:<22} <- {self.columns.get(target, '(not in file)')}"
                 for target in MAPPABLE]  # fmt: skip
        lines.append(f"  vacant land-use codes  : {', '.join(self.vacant_codes) or '(none)'}")
        lines.append(f"  forfeited when owner is: {', '.join(self.forfeited_owners) or '(never)'}")
        return "\n".join(lines)


def read_mapping_file(path: Path) -> dict:
    """A mapping file: TOML or JSON with `fields` (target = column), `vacant_codes` and
    `forfeited_owners`, e.g. ``[fields]\\napn = "PARCELNO"\\n`` and ``vacant_codes = ["V"]``.

    Every value is checked for its type here, so a list where a table belongs (or a string
    where a list belongs) is refused naming the file and the key, not taken apart."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text) if Path(path).suffix.lower() == ".json" else tomllib.loads(text)
    except FileNotFoundError as exc:
        raise ImportRefused(f"--mapping: {path} not found") from exc
    except OSError as exc:  # a folder, a path through a file, no permission...
        raise ImportRefused(
            f"--mapping: {path} cannot be read ({exc.strerror or _short(exc)}); give the path "
            "of a TOML or JSON file"
        ) from exc
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ImportRefused(f"--mapping: {path} is not valid TOML/JSON: {exc}") from exc
    where = f"--mapping: {path}"
    if not isinstance(data, dict):
        raise ImportRefused(
            f"{where}: expected an object with keys fields, vacant_codes, forfeited_owners; "
            f"found {_json_type(data)}"
        )
    unknown = set(data) - set(MAPPING_FILE_KEYS)
    if unknown:
        hints = _mapping_key_hints(unknown)
        raise ImportRefused(f"{where}: unknown keys {sorted(unknown)}{hints}")
    fields = data.get("fields", {})
    if not isinstance(fields, dict):
        raise ImportRefused(
            f'{where}: fields must be a table of parcel field = column (e.g. {{"apn": '
            f'"PARCELNO"}}), not {_json_type(fields)}'
        )
    for target, column in fields.items():
        if column is not None and not isinstance(column, str):
            raise ImportRefused(
                f"{where}: fields.{target} must be a column name (text), not {_json_type(column)}"
            )
    for key in ("vacant_codes", "forfeited_owners"):
        values = data.get(key, [])
        if not isinstance(values, list):
            raise ImportRefused(
                f'{where}: {key} must be a list of text (e.g. ["V", "VAC"]), '
                f"not {_json_type(values)}"
            )
        wrong = next((v for v in values if not isinstance(v, str)), ...)
        if wrong is not ...:
            raise ImportRefused(
                f"{where}: {key} must hold text only; {json.dumps(wrong)} is "
                f'{_json_type(wrong)} (write it in quotes: "{wrong}")'
            )
    return data


MAPPING_FILE_KEYS = ("fields", "vacant_codes", "forfeited_owners")


def _mapping_key_hints(unknown: set[str]) -> str:
    """What each unknown key of a mapping file was likely meant to be, in parentheses: a known
    key it looks like ('vacant_code'), or a parcel field written outside [fields]."""
    hints = []
    for key in sorted(unknown):
        if key in FIELD_CANDIDATES:
            hints.append(f"'{key}' is a parcel field: put it under [fields]")
        elif close := difflib.get_close_matches(key, MAPPING_FILE_KEYS, n=1, cutoff=0.6):
            named = f" for '{key}'" if len(unknown) > 1 else ""
            hints.append(f"did you mean '{close[0]}'{named}?")
    return f" ({'; '.join(hints)})" if hints else ""


def _json_type(value) -> str:
    """How a mapping file's value reads, for messages: 'a list', 'the number 5'..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {json.dumps(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def resolve_mapping(
    source_columns: list[str],
    *,
    fields: Mapping[str, str] | None = None,
    vacant_codes: tuple[str, ...] | None = None,
    mapping_file: Path | None = None,
) -> FieldMapping:
    """The mapping for a file: defaults by column name, then the mapping file, then `fields`.

    A column named in a mapping that the file does not have is an error, named, with where
    it was named (the mapping file's key, or the --field flag).
    """
    chosen: dict[str, str] = {}
    by_lower = {c.lower(): c for c in source_columns}
    for target, candidates in FIELD_CANDIDATES.items():
        for candidate in candidates:
            if candidate in by_lower:
                chosen[target] = by_lower[candidate]
                break
    file_data = read_mapping_file(mapping_file) if mapping_file else {}
    # Each explicit choice with where it was made, so an error points at the right place.
    explicit = {
        target: (column, f"--mapping: {mapping_file}: fields.{target} = {json.dumps(column)}")
        for target, column in file_data.get("fields", {}).items()
    }
    explicit |= {
        target: (column, f"--field {target}={column}") for target, column in (fields or {}).items()
    }
    for target, (column, named) in explicit.items():
        if target not in FIELD_CANDIDATES:
            close = difflib.get_close_matches(str(target), MAPPABLE, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ImportRefused(
                f"{named}: '{target}' is not a parcel field (one of {', '.join(MAPPABLE)}){hint}"
            )
        if column in ("", None):
            chosen.pop(target, None)  # `--field zoning=` unmaps a default
            continue
        if column not in source_columns:
            match = by_lower.get(str(column).lower())
            if match is None:
                raise ImportRefused(
                    f"{named}: the file has no column '{column}' "
                    f"(its columns: {', '.join(source_columns)})"
                )
            column = match
        chosen[target] = column
    if "apn" not in chosen:
        raise ImportRefused(
            "no APN column found (looked for "
            f"{', '.join(FIELD_CANDIDATES['apn'])}); name it with --field apn=COLUMN "
            f"(the file's columns: {', '.join(source_columns)})"
        )
    # An empty list given (`vacant_codes = []`, `--vacant-codes ""`) means no code is vacant.
    codes = vacant_codes if vacant_codes is not None else file_data.get("vacant_codes")
    given = codes is not None
    codes = DEFAULT_VACANT_CODES if codes is None else codes
    owners = file_data.get("forfeited_owners", DEFAULT_FORFEITED_OWNERS)
    return FieldMapping(
        columns=chosen,
        vacant_codes=tuple(str(c).strip() for c in codes),
        forfeited_owners=tuple(str(o).strip().upper() for o in owners),
        vacant_codes_given=given,
    )


# --- the source file -----------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A readable vector layer: where GDAL finds it and what it declares."""

    path: Path
    gdal_path: str
    layer: str | None
    columns: list[str]
    geometry_type: str | None
    features: int
    crs: str | None
    bounds: tuple[float, float, float, float] | None
    open_options: dict = field(default_factory=dict)
    # The encoding its text is read in when chosen here, not declared by the file: a shapefile
    # naming none (`_text_encoding`), or --encoding. GDAL recodes it (open option ENCODING).
    encoding: str | None = None
    # Which of its file's datasets or layers this is when the file holds several ('' when it
    # holds one): two layers of a GeoPackage, or two counties' S_FLD_HAZ_AR.shp in one zip, are
    # two maps of one file name (`part_of_file`).
    part: str = ""


def open_source(
    path: Path | str, layer: str | None = None, encoding: str | None = None
) -> Source:
    """Find the layer in `path` (Shapefile, zipped too, GeoPackage, GeoJSON, FileGDB, CSV+WKT);
    `layer` chooses among a file's layers, or among the datasets in a zip; `encoding` is a
    shapefile's text encoding, when its .cpg is missing or wrong."""
    path = Path(path)
    gdal_path, options, layer = _gdal_path(path, layer)
    layer = layer or _default_layer(gdal_path, options, path)
    chosen_encoding = _text_encoding(path, gdal_path, layer, encoding)
    if chosen_encoding:
        options = {**options, "ENCODING": chosen_encoding}
    try:
        with quiet_invalid_wkt():  # the bounds are read from every row's geometry
            info = pyogrio.read_info(
                gdal_path, layer=layer, force_feature_count=True, force_total_bounds=True,
                **options,
            )  # fmt: skip
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise _no_such_layer(path, gdal_path, layer) or _gdal_cannot_read(path, layer, exc) from exc
    if info.get("geometry_type") is None:
        names = list(dict.fromkeys(c.lower() for c in WKT_COLUMNS))  # GDAL ignores the case
        hint = (
            f" (a CSV needs its outlines as WKT, in a column named {', '.join(names[:-1])} or "
            f"{names[-1]}, in any case)"
        )
        csv = "GEOM_POSSIBLE_NAMES" in options
        raise ImportRefused(f"{path}: the layer has no geometry{hint if csv else ''}")
    bounds = info.get("total_bounds")
    bounds = tuple(float(b) for b in bounds) if bounds is not None else None
    if bounds is not None and not np.all(np.isfinite(bounds)):
        bounds = None
    return Source(
        path=path,
        gdal_path=gdal_path,
        layer=layer,
        columns=[str(c) for c in info["fields"]],
        geometry_type=info["geometry_type"],
        features=int(info["features"]),
        crs=info.get("crs"),
        bounds=bounds,
        open_options=options,
        encoding=chosen_encoding,
        part=part_of_file(path, gdal_path, options, layer),
    )


def part_of_file(path: Path, gdal_path: str, options: dict, layer: str | None) -> str:
    """What of `path` GDAL reads at `gdal_path` when the file holds several datasets or layers,
    named as --layer names it: the zip's member ('hinds/S_FLD_HAZ_AR.shp'), the layer
    ('floodway'), or both ('nfhl.gpkg:floodway'); '' when the file holds one."""
    parts = []
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            found = _zip_datasets(archive)
        if len(found) > 1:
            member = gdal_path.removeprefix(f"/vsizip/{path.resolve()}/")
            parts.append(_zip_layer_names(found)[member])
    if layer is not None and not options:  # a GeoJSON or CSV (read with options) holds one
        with quiet_invalid_wkt():
            if len(pyogrio.list_layers(gdal_path)) > 1:
                parts.append(layer)
    return ":".join(parts)


def _check_has_attributes(source: Source) -> None:
    """Refuse a layer with no attribute columns at all: there is no APN to read. For a
    shapefile that is its .dbf gone or unreadable, which GDAL reads as no columns, quietly."""
    if source.columns:
        return
    if source.gdal_path.lower().endswith(".shp"):
        raise ImportRefused(
            f"{source.path.name}: the .dbf (attribute table) is missing or unreadable, so there "
            "is no APN to read; put the shapefile's .dbf next to its .shp (or in the zip), "
            "then import again"
        )
    raise ImportRefused(
        f"{source.path.name}: the layer has no attribute columns, so there is no APN to read"
    )


def _text_encoding(
    path: Path, gdal_path: str, layer: str | None, given: str | None
) -> str | None:
    """The encoding to read a shapefile's text in when the file does not say (no .cpg, no code
    page in its .dbf), or as --encoding says; None to read the text as GDAL does.

    GDAL leaves text of an undeclared encoding as the bytes it is: pyogrio's data frames (the
    overlays' route) decode it as ISO-8859-1, while its Arrow batches (the parcel import's)
    hand the bytes on as if they were UTF-8, and PostgreSQL refuses them. So both read it alike
    here: as UTF-8 when all of it is valid UTF-8 (as it was read before: its rows keep their
    hashes), else as CP1252 or ISO-8859-1 by its bytes (`_undeclared_encoding`). Either way
    GDAL recodes it, in C: no row is decoded in Python. Finding out costs a read of the
    attributes (1 s per 300,000 rows here), for a shapefile naming no encoding only. Other
    formats are UTF-8 by definition (GeoJSON, GeoPackage), or read as such (CSV).
    """
    shapefile = gdal_path.lower().endswith(".shp")
    if given:
        _check_encoding_name(given)
        if not shapefile:
            raise ImportRefused(
                f"--encoding {given}: only a shapefile's text can be read in a chosen "
                f"encoding; {path.name}'s must be UTF-8 (save it as UTF-8 and import it again)"
            )
        return given
    if not shapefile:
        return None
    try:
        with quiet_invalid_wkt():
            declared = pyogrio.read_info(gdal_path, layer=layer)["encoding"]
        if declared == "UTF-8":  # declared, so GDAL recodes it (or it is UTF-8 already)
            return None
        return _undeclared_encoding(gdal_path, layer, declared)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return None  # the read that follows says what is wrong with the file


# Bytes 0x80-0x9F are control characters in ISO-8859-1 (C1), which no real text holds, and
# letters and punctuation in Windows' CP1252 (’ – “ ” € Š ...), all but five it leaves unused.
C1_BYTES = np.zeros(256, dtype=bool)
C1_BYTES[0x80:0xA0] = True
NOT_IN_CP1252 = np.zeros(256, dtype=bool)
NOT_IN_CP1252[[0x81, 0x8D, 0x8F, 0x90, 0x9D]] = True


def _undeclared_encoding(gdal_path: str, layer: str | None, fallback: str) -> str:
    """The encoding a shapefile naming none has its text in, by its bytes: UTF-8 when all of it
    is valid UTF-8; else CP1252 when it holds bytes 0x80-0x9F, all of them CP1252's (a Windows
    export: ISO-8859-1 would read "O’Neal" as "O\x92Neal"); else `fallback` (pyogrio's
    ISO-8859-1), which reads text without those bytes as CP1252 does, so its rows keep their
    hashes. One read of the attributes, checked in C (Arrow, numpy)."""
    utf8, c1, cp1252 = True, False, True
    with quiet_invalid_wkt(), pyogrio.raw.open_arrow(
        gdal_path, layer=layer, read_geometry=False, batch_size=BATCH_SIZE, use_pyarrow=True,
    ) as (_, reader):  # fmt: skip
        for batch in reader:
            for column in batch.columns:
                if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
                    continue
                utf8 = utf8 and _first_invalid_utf8(column) is None
                text = _text_bytes(column)
                c1 = c1 or bool(C1_BYTES[text].any())
                cp1252 = cp1252 and not NOT_IN_CP1252[text].any()
            if not utf8 and not cp1252:
                return fallback
    if utf8:
        return "UTF-8"
    return "CP1252" if c1 else fallback


def _text_bytes(array: pa.Array) -> np.ndarray:
    """The bytes of a string array's values, all together, as they are (not copied)."""
    _, offsets, data = array.buffers()
    if offsets is None or data is None:
        return np.empty(0, dtype=np.uint8)
    kind = np.int64 if pa.types.is_large_string(array.type) else np.int32
    ends = np.frombuffer(offsets, dtype=kind, count=array.offset + len(array) + 1)
    return np.frombuffer(data, dtype=np.uint8)[ends[array.offset] : ends[-1]]


def _check_encoding_name(name: str) -> None:
    try:
        codecs.lookup(name)
    except LookupError:
        raise ImportRefused(
            f"--encoding {name}: not the name of an encoding (e.g. CP1252, LATIN1, UTF-8)"
        ) from None


def first_text_not_utf8(
    gdal_path: str, layer: str | None, options: dict, columns: list[str] | None = None
) -> tuple[int, str] | None:
    """(row, column) of the layer's first text that is not valid UTF-8, in the bytes GDAL hands
    on (Arrow checks them, in C++); None when all of it is valid."""
    rows = 0
    with quiet_invalid_wkt(), pyogrio.raw.open_arrow(
        gdal_path, layer=layer, columns=columns, read_geometry=False, batch_size=BATCH_SIZE,
        use_pyarrow=True, **options,
    ) as (_, reader):  # fmt: skip
        for batch in reader:
            invalid = [
                (at, name)
                for name, column in zip(batch.schema.names, batch.columns, strict=True)
                if pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
                for at in [_first_invalid_utf8(column)]
                if at is not None
            ]
            if invalid:
                at, name = min(invalid, key=lambda found: found[0])
                return rows + at + 1, name
            rows += batch.num_rows
    return None


def _first_invalid_utf8(array: pa.Array) -> int | None:
    """Where the first value of a string array that is not valid UTF-8 is, or None."""
    try:
        array.validate(full=True)
        return None
    except pa.ArrowInvalid:
        pass
    for at, value in enumerate(array.cast(pa.binary()).to_pylist()):  # a failing batch only
        try:
            if value is not None:
                value.decode("utf-8")
        except UnicodeDecodeError:
            return at
    return None


def _gdal_cannot_read(path: Path, layer: str | None, exc: Exception) -> ImportRefused:
    """The refusal of a file GDAL cannot open or read; for a layer of a geometry type that
    pyogrio does not read (a GeoPackage's generic "Unknown ZM", code 3000), with the command
    that converts it to polygons."""
    unsupported = re.search(r"Geometry type is not supported: (\d+)", str(exc))
    if unsupported is None:
        return ImportRefused(f"{path}: GDAL cannot read it ({_short(exc)})")
    code = int(unsupported[1])
    dimensions = {0: "", 1: " Z", 2: " M", 3: " ZM"}.get(code // 1000)
    base = WKB_TYPE_NAMES.get(code % 1000, "Unknown")  # 0: any type, "Unknown" in GDAL
    kind = "unknown" if dimensions is None else f"{base}{dimensions}"
    converted = f"{path.stem}-polygons.gpkg"
    return ImportRefused(
        f"{path}: its geometry type ({kind}, GDAL's code {code}) cannot be read; convert its "
        f"outlines to polygons, e.g. ogr2ogr -nlt MULTIPOLYGON -dim XY {converted} "
        f"{path.name}{f' {layer}' if layer else ''}, then import {converted}"
    )


def _gdal_path(path: Path, layer: str | None = None) -> tuple[str, dict, str | None]:
    """The path GDAL should open (zips through /vsizip/), its open options, and the layer to
    read there (`layer`, unless it chose the dataset in a zip: `_zip_member`)."""
    if not path.exists():
        raise ImportRefused(f"{path}: file not found")
    if path.is_dir():
        if path.suffix.lower() == ".gdb":
            return str(path), {}, layer
        raise ImportRefused(f"{path} is a folder; give the file (or the .gdb folder) itself")
    if path.stat().st_size == 0:
        raise ImportRefused(f"{path} is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix == ".zip":
        member, layer = _zip_member(path, layer)
        geojson = member.lower().endswith(GEOJSON_SUFFIXES)
        return member, _geojson_options() if geojson else {}, layer
    if suffix in (".csv", ".txt"):
        return str(path), _csv_options(), layer
    if suffix in GEOJSON_SUFFIXES:
        return str(path), _geojson_options(), layer
    if suffix == ".shp":
        with path.open("rb") as f:
            _check_shp_length(f.read(100), path.stat().st_size, path.name)
    return str(path), {}, layer


def _check_shp_length(header: bytes, size: int, name: str) -> None:
    """A .shp header records the file's length; GDAL reads a cut-off file as features with no
    geometry, so a short file is refused here, before anything is read."""
    if len(header) < 100 or header[:4] != b"\x00\x00\x27\x0a":
        raise ImportRefused(f"{name}: not a shapefile (bad header)")
    expected = int.from_bytes(header[24:28], "big") * 2  # 16-bit words
    if expected != size:
        raise ImportRefused(
            f"{name} is truncated or corrupt: its header says {expected:,} bytes, "
            f"the file has {size:,}"
        )


def _csv_options() -> dict:
    return {"GEOM_POSSIBLE_NAMES": ",".join(WKT_COLUMNS), "KEEP_GEOM_COLUMNS": "NO"}


@contextlib.contextmanager
def quiet_invalid_wkt() -> Iterator[None]:
    """Silence GDAL's "Ignoring invalid WKT" and "Non closed ring detected" warnings while a
    file is read: the row is reported by number instead (`missing_geometry_reasons`,
    `outline_reason`), in the reject file or the refusal. Silence too pyogrio's note that it
    reads measured (M) geometries without their measure: the import drops M as it drops Z."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Ignoring invalid WKT", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message="Non closed ring", category=RuntimeWarning)
        warnings.filterwarnings(
            "ignore", message=r"Measured \(M\) geometry types are not supported",
            category=UserWarning,
        )  # fmt: skip
        yield


def missing_geometry_reasons(source: Source, fids: list[int]) -> dict[int, str]:
    """Why each feature of `fids` has no geometry, where the file can tell: in a CSV, a WKT
    cell holding text that GDAL could not parse is "invalid WKT" (an empty one says nothing)."""
    if not fids or "GEOM_POSSIBLE_NAMES" not in source.open_options:
        return {}
    try:
        table = pyogrio.read_dataframe(
            source.gdal_path, layer=source.layer, fids=sorted(set(fids)), read_geometry=False,
            fid_as_index=True, **{**source.open_options, "KEEP_GEOM_COLUMNS": "YES"},
        )  # fmt: skip
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError):
        return {}
    column = next((c for c in WKT_COLUMNS if c in table.columns), None)
    if column is None:
        return {}
    return {
        int(fid): "invalid WKT"
        for fid, text in table[column].items()
        if isinstance(text, str) and text.strip()
    }


GEOJSON_SUFFIXES = (".geojson", ".json")


def _geojson_options() -> dict:
    # GeoJSON has no field types: GDAL guesses them from the values, and reads an APN such as
    # "165-12-01" as a date (0165-12-01). Text stays text, exactly as the county wrote it.
    return {"DATE_AS_STRING": "YES"}


DATASET_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb")


# What macOS and Windows add to a zip beside the data: macOS's resource forks (the
# `__MACOSX/` folder, AppleDouble `._name` files) and folder settings.
ZIP_JUNK_FOLDERS = ("__MACOSX",)
ZIP_JUNK_FILES = (".ds_store", "thumbs.db", "desktop.ini")
# A .json that is GeoJSON says so near its start (or lists its features there); any other
# .json in a zip is a sidecar: this app's own Shapefile downloads carry a provenance.json.
GEOJSON_START = re.compile(rb'"type"\s*:\s*"(?:FeatureCollection|Feature)"|"features"\s*:\s*\[')
GEOJSON_SNIFF_BYTES = 65_536


def _zip_member(path: Path, layer: str | None = None) -> tuple[str, str | None]:
    """/vsizip/ path of the dataset inside a zip (in a sub-folder or not), and the layer to
    read in it: `layer` itself, or, when it chose that dataset among several, the
    shapefile's own layer name (None for another kind: its default layer is read)."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ImportRefused(f"{path}: not a readable zip archive (truncated or corrupt?)") from exc
    with archive:
        found = _zip_datasets(archive)
        member = _zip_dataset(path, found, layer)
        if len(found) > 1 or layer == member:  # `layer` named the member, not a layer in it
            layer = PurePosixPath(member).stem if member.lower().endswith(".shp") else None
        if member.lower().endswith(".shp"):
            try:
                with archive.open(member) as shp:
                    header = shp.read(100)
            except (zlib.error, zipfile.BadZipFile, EOFError, OSError) as exc:
                raise ImportRefused(
                    f"{path}: the zip's member {member} is corrupt ({_short(exc)}); "
                    "download or zip the file again"
                ) from exc
            _check_shp_length(header, archive.getinfo(member).file_size, member)
    return f"/vsizip/{path.resolve()}/{member}", layer


def _zip_datasets(archive: zipfile.ZipFile) -> list[str]:
    """The datasets a zip holds (a .gdb folder counts as one), leaving out what is not data:
    the junk macOS and Windows add (`_is_zip_junk`) and .json files that are not GeoJSON."""
    names = [name for name in archive.namelist() if not _is_zip_junk(name)]
    datasets = {
        name for name in names
        if name.lower().endswith(DATASET_SUFFIXES)
        and (not name.lower().endswith(".json") or _is_geojson(archive, name))
    }  # fmt: skip
    gdbs = {n[: n.lower().index(".gdb/") + 4] for n in names if ".gdb/" in n.lower()}
    return sorted(datasets | gdbs)


def _is_zip_junk(name: str) -> bool:
    """Whether a zip member is what macOS's "Compress" or Windows adds, not data."""
    parts = name.split("/")
    base = parts[-1] or (parts[-2] if len(parts) > 1 else "")
    return (
        any(part in ZIP_JUNK_FOLDERS for part in parts)
        or base.startswith("._")
        or base.lower() in ZIP_JUNK_FILES
    )


def _is_geojson(archive: zipfile.ZipFile, name: str) -> bool:
    """Whether a zip's .json member is GeoJSON, by its start (a sidecar such as the
    provenance.json of a download is not). A member that cannot be read counts, so that
    reading it fails naming it."""
    try:
        with archive.open(name) as member:
            start = member.read(GEOJSON_SNIFF_BYTES)
    except (zlib.error, zipfile.BadZipFile, EOFError, OSError, NotImplementedError):
        return True
    return GEOJSON_START.search(start) is not None


def _zip_dataset(path: Path, found: list[str], layer: str | None) -> str:
    """The member of `found` to read: the only one, or the one `layer` names (by its layer
    name, a shapefile's name without .shp, or by its path in the zip)."""
    if len(found) == 1:
        return found[0]
    kinds = ", ".join([*DATASET_SUFFIXES, ".gdb"])
    if not found:
        raise ImportRefused(
            f"{path}: no dataset ({kinds}) in the zip; zip the file itself (a shapefile with "
            "its .shx, .dbf and .prj)"
        )
    names = _zip_layer_names(found)
    if layer:
        exact = [m for m in found if layer in (m, names[m])]
        folded = [m for m in found if layer.casefold() in (m.casefold(), names[m].casefold())]
        chosen = exact or folded
        if len(chosen) == 1:
            return chosen[0]
    choices = " or ".join(f"--layer {names[m]}" for m in found)
    said = f"--layer {layer} names none of them; " if layer else ""
    raise ImportRefused(
        f"{path}: {len(found)} datasets ({kinds}) in the zip: {', '.join(found)}; "
        f"{said}choose one with --layer NAME ({choices})"
    )


def _zip_layer_names(found: list[str]) -> dict[str, str]:
    """Each member's name for --layer: its file name without the suffix (a shapefile's layer
    name), or its whole path in the zip where two share that name."""
    stems = {member: PurePosixPath(member).stem for member in found}
    twice = {stem for stem in stems.values() if list(stems.values()).count(stem) > 1}
    return {member: member if stem in twice else stem for member, stem in stems.items()}


def _default_layer(gdal_path: str, options: dict, path: Path) -> str | None:
    try:
        with quiet_invalid_wkt():  # and pyogrio's note on measured (M) layers
            layers = pyogrio.list_layers(gdal_path, **options) if not options else None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise _gdal_cannot_read(path, None, exc) from exc
    if layers is None or len(layers) <= 1:
        return None
    names = [str(name) for name, _ in layers]
    spatial = [str(name) for name, kind in layers if kind is not None]
    if "parcels" in names:
        return "parcels"
    if len(spatial) == 1:
        return spatial[0]
    raise ImportRefused(f"{path} has several layers {_layers_to_choose(names)}")


def _layers_to_choose(names: list[str]) -> str:
    return f"({', '.join(names)}); choose one with --layer"


def _no_such_layer(path: Path, gdal_path: str, layer: str | None) -> ImportRefused | None:
    """The refusal of a --layer the file does not hold, naming the layers it does; None when it
    holds it (GDAL finds a layer in any case), or when they cannot be listed: then GDAL's own
    reason says what is wrong."""
    if layer is None:
        return None
    try:
        with quiet_invalid_wkt():
            names = [str(name) for name, _ in pyogrio.list_layers(gdal_path)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return None
    if layer.casefold() in (name.casefold() for name in names):
        return None
    return ImportRefused(
        f"{path} has no layer named {layer!r} (--layer); it has {count_text(len(names), 'layer')} "
        f"{_layers_to_choose(names)}"
    )


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


# --- CRS -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceCrs:
    srid: int
    label: str  # as recorded on the ImportRun
    # Set when some features lie far from the rest: the lon/lat box every feature's centre
    # must lie in (west > east when it crosses the antimeridian: ask `contains`), and that box
    # in words for the rows rejected outside it.
    keep_within: tuple[float, float, float, float] | None = None
    outside_text: str = ""

    def contains(self, lon: float | np.ndarray, lat: float | np.ndarray) -> bool | np.ndarray:
        """Whether each point (lon/lat degrees; numbers, or numpy arrays of them) lies where a
        feature read in this CRS may lie: in `keep_within`, across the antimeridian too. All
        of them do when it is None: the whole file lies there."""
        if self.keep_within is None:
            return np.ones(np.shape(lon), dtype=bool) if np.ndim(lon) else True
        return in_lon_lat_box(self.keep_within, lon, lat)


def in_lon_lat_box(
    box: tuple[float, ...], lon: float | np.ndarray, lat: float | np.ndarray
) -> bool | np.ndarray:
    """Whether each point lies in the lon/lat `box` (west, south, east, north). A box whose west
    is greater than its east crosses the antimeridian, as EPSG writes an area of use that does
    (NAD83's, EPSG:4269, from 167.65 to -40.73: the Aleutians to Greenland) and GeoJSON a bbox
    (RFC 7946, 5.2): it holds the longitudes from west to 180 and from -180 to east."""
    west, south, east, north = box
    along = ((west <= lon) & (lon <= east)) if west <= east else ((west <= lon) | (lon <= east))
    return along & (south <= lat) & (lat <= north)


def _looks_like_degrees(bounds: tuple[float, float, float, float] | None) -> bool:
    if bounds is None:
        return True  # nothing to contradict the declaration (an empty layer)
    minx, miny, maxx, maxy = bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def source_crs(source: Source, srid: int | None = None) -> SourceCrs:
    """The EPSG code the file's coordinates are in: --srid, else the file's own declaration,
    once it is checked to put the file where this registry keeps land (`_check_lands_here`).

    Never guesses projected units: a file with no CRS whose coordinates are not degrees, or one
    that declares degrees while holding feet or metres, is refused with a --srid hint.
    """
    found = _declared_or_given_crs(source, srid)
    _check_srid_known(found.srid)  # PostGIS must know it to transform, whatever PROJ does
    return _check_lands_here(source, found)


def _check_lands_here(source: Source, crs: SourceCrs) -> SourceCrs:
    """Refuse a file whose coordinates, read in `crs`, fall outside the area the registry
    measures in (its metric CRS's, widened by 5°), or outside where `crs` is used. State-plane
    feet declared as Web Mercator metres put a Jackson county file in Africa; degrees declared
    as state-plane feet put it next to the false origin. Either is a wrong CRS, and must not
    be imported.

    The whole file's bounding box decides when it lies inside that area (the usual case, at
    no cost). Otherwise one stray feature must not condemn the file: its place is the median
    of its features' centres, read for that, and when that lies inside, `crs` comes back with
    the area (`keep_within`) for the features outside it to be rejected one by one.
    """
    if source.bounds is None or not source.features:
        return crs
    area, outside_text = _allowed_area(crs)
    if _box_within(_bounds_in_degrees(source.bounds, crs.srid), area):
        return crs
    lon, lat = _median_centre_in_degrees(source, crs.srid)
    if math.isfinite(lon) and math.isfinite(lat) and _box_within((lon, lat, lon, lat), area):
        return dataclasses.replace(crs, keep_within=area, outside_text=outside_text)
    raise _wrong_place(source, crs, lon, lat)


def _wrong_place(source: Source, crs: SourceCrs, lon: float, lat: float) -> ImportRefused:
    """The refusal of a file whose features, read in `crs`, lie mostly at (`lon`, `lat`)."""
    from parcels.queries import in_metric_domain, metric_domain_text

    if math.isfinite(lon) and math.isfinite(lat) and in_metric_domain(lon, lat):
        used = _outside_where_used(crs.srid, lon, lat)
        return ImportRefused(
            f"{source.path.name}: read as {crs.label}, its features lie at lon {lon:.2f}, lat "
            f"{lat:.2f}, outside where that CRS is used ({used}): a neighbouring zone's CRS, "
            "most likely (a state's East zone for its West). Give the real one with --srid, "
            f"e.g. --srid {_srid_example()}"
        )
    place = f"lie at lon {lon:.2f}, lat {lat:.2f}" if math.isfinite(lon) else "are nowhere"
    return ImportRefused(
        f"{source.path.name}: read as {crs.label}, its features {place}, outside the "
        f"area this registry keeps land in ({metric_domain_text()}). The CRS is wrong (or the "
        f"file is another region's): give the real one with --srid, e.g. --srid {_srid_example()}"
        " (a trust elsewhere sets CLT_METRIC_SRID: README, A trust elsewhere)"
    )


def _srid_example() -> str:
    """ "2255 for NAD83 / Mississippi West in US feet", or the trust's own (parcels.metric)."""
    srid, name = local_crs_example()
    return f"{srid} for {name}"


# How far outside the area where its CRS is used a feature may lie, in degrees (a state-plane
# zone is a few degrees wide, so a file labelled with the next zone lands hundreds of km out).
AREA_OF_USE_MARGIN = 1.0


def _allowed_area(crs: SourceCrs) -> tuple[tuple[float, float, float, float], str]:
    """The lon/lat box a feature read in `crs` may lie in: the registry's metric area, cut to
    where the CRS is used (widened by a degree); and the box in words, for a reject reason."""
    from parcels.queries import METRIC_DOMAIN, metric_domain_text

    declared = CRS.from_epsg(crs.srid)
    used = _used_area(declared)
    registry = f"the area this registry keeps land in ({metric_domain_text()})"
    # A CRS of the world, or of a continent (NAD83's): the registry's area binds.
    if used is None or _box_within(METRIC_DOMAIN, used):
        return METRIC_DOMAIN, registry
    area = declared.area_of_use
    return _box_overlap(METRIC_DOMAIN, used), (
        f"where EPSG:{crs.srid} ({declared.name}) is used: longitude {area.west:g} to "
        f"{area.east:g}, latitude {area.south:g} to {area.north:g}"
    )


def _used_area(crs: CRS) -> tuple[float, float, float, float] | None:
    """Where `crs` is used (its EPSG area of use), widened by AREA_OF_USE_MARGIN, as a lon/lat
    box whose longitudes lie in -180..180 (west > east: across the antimeridian); None for a
    CRS with no stated area."""
    area = crs.area_of_use
    if area is None:
        return None
    south, north = area.south - AREA_OF_USE_MARGIN, area.north + AREA_OF_USE_MARGIN
    if _degrees_east(area.west, area.east) + 2 * AREA_OF_USE_MARGIN >= 360:
        return -180.0, south, 180.0, north
    return (_longitude(area.west - AREA_OF_USE_MARGIN), south,
            _longitude(area.east + AREA_OF_USE_MARGIN), north)  # fmt: skip


def _box_within(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    """Whether the lon/lat box `inner` lies in `outer`; either may cross the antimeridian
    (west > east: `in_lon_lat_box`)."""
    if not all(math.isfinite(v) for v in inner):
        return False
    if not outer[1] <= inner[1] <= inner[3] <= outer[3]:
        return False
    outer_east = _degrees_east(outer[0], outer[2])
    inner_west = (inner[0] - outer[0]) % 360  # where `inner` starts, in degrees east of `outer`
    return outer_east >= 360 or inner_west + _degrees_east(inner[0], inner[2]) <= outer_east


def _box_overlap(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, ...]:
    """The lon/lat box where boxes `a` and `b` overlap (either may cross the antimeridian); NaNs,
    a box nothing lies in, where they do not. Should they overlap in two separate places (each
    box wider than the gap the other leaves, a metric CRS over more than half the globe), `a`."""
    south, north = max(a[1], b[1]), min(a[3], b[3])
    a_east, b_east = _degrees_east(a[0], a[2]), _degrees_east(b[0], b[2])
    if b_east >= 360:
        return a[0], south, a[2], north
    if a_east >= 360:
        return b[0], south, b[2], north
    b_west = (b[0] - a[0]) % 360  # where `b` starts and ends, in degrees east of a's west
    b_end = b_west + b_east
    pieces = []
    if b_west <= a_east:  # `b` starts inside `a`
        pieces.append((b[0], a[2] if a_east <= b_end else b[2]))
    if b_end >= 360:  # `b` runs on round the globe, into `a` from its west
        pieces.append((a[0], a[2] if a_east <= b_end - 360 else b[2]))
    if not pieces or south > north:
        return (math.nan,) * 4
    if len(pieces) > 1:
        return a[0], south, a[2], north
    (west, east), *_ = pieces
    return _longitude(west), south, _longitude(east), north


def _degrees_east(west: float, east: float) -> float:
    """How many degrees of longitude lie from `west` eastward to `east` (across the antimeridian
    when west > east)."""
    return east - west if west <= east else east - west + 360


def _longitude(degrees: float) -> float:
    """`degrees` of longitude as -180..180 (190 is -170)."""
    return degrees if -180 <= degrees <= 180 else (degrees + 180) % 360 - 180


def _bounds_in_degrees(bounds: tuple[float, ...], srid: int) -> tuple[float, ...]:
    """The lon/lat box around `bounds` read in EPSG:`srid` (its edges followed, not only its
    corners); NaNs when PROJ cannot place it."""
    try:
        to_degrees = Transformer.from_crs(srid, 4326, always_xy=True)
        return tuple(to_degrees.transform_bounds(*bounds, densify_pts=21))
    except (CRSError, ProjError):
        return (math.nan,) * 4


def _median_centre_in_degrees(source: Source, srid: int) -> tuple[float, float]:
    """Where most of the file lies: the median of its features' bounding-box centres, in
    lon/lat; NaNs when there is no outline to read or PROJ cannot place it. Reads every
    outline, so it is asked only when the file's bounding box is not where it should be."""
    bounds = shapely.bounds(shapely.from_wkb(read_outlines(source), on_invalid="ignore"))
    x = (bounds[:, 0] + bounds[:, 2]) / 2
    y = (bounds[:, 1] + bounds[:, 3]) / 2
    usable = np.isfinite(x) & np.isfinite(y)
    if not usable.any():
        return math.nan, math.nan
    try:
        to_degrees = Transformer.from_crs(srid, 4326, always_xy=True)
        lon, lat = to_degrees.transform(float(np.median(x[usable])), float(np.median(y[usable])))
    except (CRSError, ProjError):
        return math.nan, math.nan
    return float(lon), float(lat)


def read_outlines(source: Source) -> np.ndarray:
    """Every feature's outline as WKB (None where it has none), without its attributes: read
    again, only on the paths that must look at each outline (a file in an odd place, an
    outline GEOS refused)."""
    try:
        with quiet_invalid_wkt():
            _, _, wkbs, _ = pyogrio.raw.read(
                source.gdal_path, layer=source.layer, columns=[], **source.open_options
            )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise ImportRefused(f"{source.path.name}: GDAL cannot read it ({_short(exc)})") from exc
    return wkbs


def _outside_where_used(srid: int, lon: float, lat: float) -> str | None:
    """Where EPSG:`srid` is used, in words, if the point lies more than a degree outside it;
    None inside it, or for a CRS with no stated area (a state-plane zone is a few degrees
    wide, so a file labelled with the next zone lands hundreds of km outside it)."""
    crs = CRS.from_epsg(srid)
    used = _used_area(crs)
    if used is None or in_lon_lat_box(used, lon, lat):
        return None
    area = crs.area_of_use
    return (
        f"{area.name}: longitude {area.west:g} to {area.east:g}, latitude {area.south:g} "
        f"to {area.north:g}"
    )


def _declared_or_given_crs(source: Source, srid: int | None) -> SourceCrs:
    where = f"{source.path.name}"
    example = f"e.g. --srid {_srid_example()}"
    if srid is not None:
        try:
            crs = CRS.from_epsg(srid)
        except CRSError as exc:
            raise ImportRefused(f"--srid {srid}: not an EPSG code PROJ knows") from exc
        if crs.is_geographic and not _looks_like_degrees(source.bounds):
            raise ImportRefused(
                f"--srid {srid}: {crs.name} is in degrees but {where}'s coordinates "
                f"({_bounds_text(source.bounds)}) are not"
            )
        return SourceCrs(srid, f"EPSG:{srid} (--srid; file declared {source.crs or 'none'})")
    if not source.crs:
        if _looks_like_degrees(source.bounds):
            return SourceCrs(4326, "EPSG:4326 (none declared; coordinates are degrees)")
        raise ImportRefused(
            f"{where} declares no coordinate system and its coordinates "
            f"({_bounds_text(source.bounds)}) are not longitude/latitude degrees; they look "
            f"like projected units (state-plane feet or metres). Say which CRS they are in with "
            f"--srid ({example})."
        )
    try:
        crs = CRS.from_user_input(source.crs)
    except CRSError as exc:
        raise ImportRefused(f"{where}: its CRS cannot be read ({exc}); give --srid") from exc
    if crs.is_geographic and not _looks_like_degrees(source.bounds):
        raise ImportRefused(
            f"{where} declares {crs.name} (degrees) but its coordinates "
            f"({_bounds_text(source.bounds)}) are not degrees: the declared CRS is wrong. "
            f"Give the real one with --srid ({example})."
        )
    epsg = crs.to_epsg() or crs.to_epsg(min_confidence=25)
    if epsg is None:
        raise ImportRefused(f"{where}: CRS '{crs.name}' has no EPSG code; give it with --srid")
    return SourceCrs(epsg, f"EPSG:{epsg} ({crs.name})")


def _bounds_text(bounds) -> str:
    if bounds is None:
        return "unknown"
    return f"x {bounds[0]:,.1f} to {bounds[2]:,.1f}, y {bounds[1]:,.1f} to {bounds[3]:,.1f}"


# --- the import ----------------------------------------------------------------------------

STAGE_COLUMNS = ("row_no", "fid", *MAPPABLE, "wkb", "key", "hash")


def import_parcels(
    path: Path | str,
    *,
    jurisdiction: str = "hinds-ms",
    srid: int | None = None,
    fields: Mapping[str, str] | None = None,
    vacant_codes: tuple[str, ...] | None = None,
    mapping_file: Path | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
    reject_dir: Path | None = None,
    allow_mass_retire: bool = False,
    user=None,
    progress: bool = False,
    log: Log = lambda message: None,
    _after_staging: Callable[[], None] | None = None,
) -> ImportRun:
    """Import a county parcel file for `jurisdiction`; all or nothing. Returns its ImportRun.

    Raises ImportRefused (nothing changed, the run recorded as failed) when the file or the
    mapping cannot be used. The run's final state (succeeded, counts, reject file) is saved in
    the import's own transaction, so it is committed with the parcels or not at all; Ctrl-C
    during the commit raises ImportCommittedInterrupt once the commit has returned.
    `log` gets the status lines, the warnings and, last, the jurisdiction's vacancy counts
    after the import; with `progress`, also a bar while reading and a line as each later step
    starts and ends (`clt.phases`). `_after_staging` is a test hook called once the file is
    staged.
    """
    path = Path(path)
    source = open_source(path, layer, encoding)
    crs = source_crs(source, srid)
    _check_has_attributes(source)
    mapping = resolve_mapping(
        source.columns, fields=fields, vacant_codes=vacant_codes, mapping_file=mapping_file
    )
    reject_folder = _writable_reject_folder(reject_dir)
    with one_import_at_a_time(jurisdiction, log), concurrent.futures.ThreadPoolExecutor(1) as pool:
        checksum = pool.submit(_sha256, path)  # hashlib frees the GIL: overlaps the read
        run = ImportRun.objects.create(
            jurisdiction=jurisdiction, source_file=str(path), source_layer=source.layer or "",
            source_sha256="", source_crs=crs.label, source_srid=crs.srid,
            mapping=mapping.as_dict(), user=user if getattr(user, "pk", None) else None,
        )  # fmt: skip
        log(f"clt: import {run.pk}: {path.name}, {source.features:,} features, {crs.label}")
        if source.encoding not in (None, "UTF-8") and not encoding:
            other = "CP850" if source.encoding == "CP1252" else "CP1252"
            log(f"clt: {path.name} names no encoding (no .cpg): its text is read as "
                f"{source.encoding}; if names look wrong, give --encoding (e.g. {other})")
        log(mapping.describe())
        phases = Phases(log if progress else None)
        held_interrupt = _HeldInterrupt()
        try:
            with recorded("parcel_import", user, import_run=run.pk):
                fingerprint = f"{mapping.fingerprint()}:{crs.srid}"
                staged = _stage(source, mapping, fingerprint, jurisdiction, progress)
                if _after_staging:
                    _after_staging()
                if tax_reading := staged.tax_reading(mapping).describe():
                    log(tax_reading)
                outcome = _process(staged, run, source, crs, mapping, jurisdiction, phases)
                _refuse_if_nothing_imports(run, outcome, source, reject_folder)
                _check_retirement(outcome, len(staged.registry), source, allow_mass_retire,
                                  dry_run, log)  # fmt: skip
                outcome.held_retiring = _held_retirements(outcome.retiring, jurisdiction)
                outcome.vacancy_warnings = vacancy_warnings(
                    outcome.vacancy, codes=mapping.vacant_codes,
                    codes_given=mapping.vacant_codes_given,
                    land_use_column=mapping.columns.get("land_use"), dry_run=dry_run,
                )  # fmt: skip
                if dry_run:
                    raise _DryRun
                _write(run, crs, jurisdiction, source, outcome, phases)
                _finish(run, outcome, source, reject_folder, checksum, ImportStatus.SUCCEEDED)
                held_interrupt.start()  # from here, Ctrl-C waits for the commit to return
                committed = phases.begin("committing")
            committed()
        except _DryRun:
            _finish(run, outcome, source, reject_folder, checksum, ImportStatus.DRY_RUN)
        except BaseException as exc:  # noqa: BLE001 - recorded, then re-raised unchanged
            held_interrupt.stop()
            _record_failure(run, exc, checksum)
            raise
        held_interrupt.stop()
    if held_interrupt.received:
        raise ImportCommittedInterrupt(run)
    if outcome.vacancy is not None:
        log(outcome.vacancy.summary(jurisdiction, dry_run=dry_run))
    return run


def _refuse_if_nothing_imports(
    run: ImportRun, outcome: Outcome, source: Source, reject_folder: Path
) -> None:
    """Refuse a file of which every feature was rejected (a WKT column of garbage, the wrong
    CRS for every row): imported, it would change nothing but retire every parcel it does not
    name, that is, all of them. The reject file is written and kept, to say why."""
    if outcome.new or outcome.changed or outcome.unchanged or not outcome.rejected:
        return
    reject_file = _write_reject_file(run, source, outcome.problems, reject_folder)
    raise NothingImportable(
        f"{source.path.name}: no feature could be imported: all {outcome.rejected:,} were "
        f"rejected; the reason for each is in {reject_file}. Fix the file (or the mapping) "
        "and import it again. Nothing was changed",
        reject_file,
    )


# A county's next file retires the parcels split, merged or renumbered since the last: a few
# in a hundred. A file that would retire more than this share of the jurisdiction's parcels is
# far more likely a partial extract (one district, a filtered export) than a county remade.
MASS_RETIREMENT_SHARE = 0.2
MASS_RETIREMENT_MIN = 100


def _check_retirement(
    outcome: Outcome, active: int, source: Source, allowed: bool, dry_run: bool, log: Log
) -> None:
    """Refuse an import that would retire a large share of the registry's parcels, unless
    asked for (`--allow-mass-retire`); a dry run says so and goes on to count."""
    retiring = outcome.retired
    if allowed or retiring <= max(MASS_RETIREMENT_MIN, MASS_RETIREMENT_SHARE * active):
        return
    said = (
        f"{source.path.name} would retire {retiring:,} of the {active:,} parcels on record "
        f"({retiring / active:.0%}): the file does not name them. Is it the whole county? If "
        "it is, import again with --allow-mass-retire; if not, import the whole county's file"
    )
    if dry_run:
        log(f"clt: warning: {said}")
        return
    raise ImportRefused(said + ". Nothing was imported")


# --- trust land the file no longer names ---------------------------------------------------

# A county renumbers a lot by giving the same outline a new APN (redrawn a little, perhaps); a
# split or a merge leaves the old and the new parcel sharing much less of either's area.
RENUMBERED_SHARE = 0.9


@dataclass(frozen=True)
class HeldRetirement:
    """A parcel the import retires that a current holding of the trust still holds."""

    apn: str
    address: str
    holding: str
    leases: tuple[str, ...]  # references of the leases in force on the parcel
    renumbered_as: str | None  # the parcel new in the file that is the same land, if one is

    def line(self) -> str:
        """The parcel, who holds it, and what staff should do about it, in one line."""
        held = f"held by '{self.holding}'"
        if self.leases:
            held += f", {_leases_text(self.leases)} in force"
        parcel = ", ".join(part for part in (self.apn, self.address) if part)
        if self.renumbered_as:
            lease = f" and {_leases_text(self.leases)}" if self.leases else ""
            return (
                f"{parcel} ({held}) looks renumbered as {self.renumbered_as}: move the "
                f"holding{lease} to the new parcel"
            )
        return (
            f"{parcel} ({held}): no parcel new in this file covers it; ask the county what "
            "became of it"
        )


def _leases_text(references: tuple[str, ...]) -> str:
    return f"lease{'s' if len(references) > 1 else ''} {', '.join(references)}"


def _held_retirement_warning(held: list[HeldRetirement], *, dry_run: bool = False) -> str:
    """The warning block for trust land the import retires ("" if none): a heading, then a
    line per parcel. Kept on the run's record and printed by `clt import-parcels`."""
    if not held:
        return ""
    many = len(held) > 1
    count = f"{len(held)} parcel{'s' if many else ''} the trust holds"
    them, their = ("them", "their holdings") if many else ("it", "its holding")
    retired = (
        f"this import would retire {them}, and {their} would still point at {them}"
        if dry_run
        else f"this import retired {them}, and {their} still point{'' if many else 's'} at {them}"
    )
    heading = f"warning: the county's file no longer names {count}; {retired}:"
    return "\n".join([heading, *(f"  {each.line()}" for each in held)])


def _held_retirements(retiring: list[str], jurisdiction: str) -> list[HeldRetirement]:
    """The parcels about to be retired that the trust holds today, each with the leases in
    force on it and, if there is one, the parcel new in this file that is the same land.

    They are retired all the same: the county's file is the county's truth, and the holding
    stays a legal fact. But the holding then points at an APN the county no longer has, and a
    renumbered lot, in no holding, is offered by the finder as land to acquire: staff must be
    told. The trust holds few parcels, so its held ones are read in one query and matched with
    the retiring APNs here; only those few are then compared with the new outlines.
    """
    if not retiring:
        return []
    from leases.models import GroundLease  # leases.models imports parcels.models

    leases = GroundLease.objects.in_force().filter(parcels=OuterRef("parcel"))
    held = list(
        held_memberships()
        .filter(parcel__jurisdiction=jurisdiction, parcel__retired_at__isnull=True)
        .annotate(references=ArraySubquery(leases.order_by("reference").values("reference")))
        .order_by("parcel__apn")
        .values_list("parcel_id", "parcel__apn", "parcel__address", "holding__name", "references")
    )
    if held:
        gone = set(retiring)
        held = [row for row in held if row[1] in gone]
    if not held:
        return []
    renumbered = _renumbered([row[0] for row in held])
    return [
        HeldRetirement(apn, address, holding, tuple(references), renumbered.get(parcel_id))
        for parcel_id, apn, address, holding, references in held
    ]


# For each retiring held parcel, the parcel new in this file (`parcel_ready`, in EPSG:4326)
# sharing the most land with it, if that is most of both; areas in metres (the metric CRS, as
# `Parcel.geom_m`). The bounding-box test finds its few neighbours on NEW_OUTLINES_INDEX.
RENUMBERED_SQL = """
SELECT held.id, best.apn
FROM parcels_parcel held
CROSS JOIN LATERAL (
    SELECT r.apn
    FROM parcel_ready r
    CROSS JOIN LATERAL (SELECT ST_Transform(r.geom, %(metric_srid)s) AS geom_m OFFSET 0) fresh
    CROSS JOIN LATERAL (
        SELECT ST_Area(ST_Intersection(held.geom_m, fresh.geom_m)) AS shared_m2,
               ST_Area(fresh.geom_m) AS fresh_m2
        OFFSET 0
    ) overlap
    WHERE r.geom && held.geom AND r.parcel_id IS NULL AND r.reject IS NULL
      AND overlap.shared_m2 >= %(share)s * ST_Area(held.geom_m)
      AND overlap.shared_m2 >= %(share)s * overlap.fresh_m2
    ORDER BY overlap.shared_m2 DESC, r.apn
    LIMIT 1
) best
WHERE held.id = ANY(%(ids)s) AND held.geom_m IS NOT NULL
"""

# Without it each held parcel would be compared with every new row: measured for a county
# renumbering all its parcels (1M new rows), 100 of them the trust's, 26 s; with it, 1.8 s to
# build and 40 ms to match. A usual re-import has a few hundred new rows: milliseconds.
NEW_OUTLINES_INDEX = (
    "CREATE INDEX ON parcel_ready USING gist (geom) WHERE parcel_id IS NULL AND reject IS NULL"
)


def _renumbered(parcel_ids: list[int]) -> dict[int, str]:
    """parcel id -> APN of the parcel new in this file that covers at least RENUMBERED_SHARE
    of its area, and of whose area it covers as much: the same land under a new number.

    A hint, not part of the import: should GEOS fail on an odd outline, the savepoint keeps the
    county's import going, and the warning just finds no renumbering.
    """
    params = {"ids": parcel_ids, "metric_srid": METRIC_SRID, "share": RENUMBERED_SHARE}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(NEW_OUTLINES_INDEX)
            cursor.execute(RENUMBERED_SQL, params)
            return dict(cursor.fetchall())
    except InternalError:  # GEOS raises its topology errors as XX000
        return {}


class ImportCommittedInterrupt(KeyboardInterrupt):
    """Ctrl-C arrived while the import was committing: it was held until the commit returned,
    so the import is in the registry, complete; `run` says what it did."""

    def __init__(self, run: ImportRun):
        super().__init__(f"interrupted during the commit; import {run.pk} was committed")
        self.run = run


class _HeldInterrupt:
    """Holds back SIGINT (Ctrl-C) from `start` to `stop`, remembering whether it came.

    Only in the main thread (the only one Python delivers signals to, and the only one that may
    set a handler); elsewhere it holds nothing back.
    """

    def __init__(self) -> None:
        self.received = False
        self._previous = None

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGINT)
        if previous is None:  # set outside Python: it could not be put back
            return
        self._previous = previous
        signal.signal(signal.SIGINT, self._hold)

    def _hold(self, signum, frame) -> None:
        self.received = True

    def stop(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def _finish(
    run: ImportRun,
    outcome: Outcome,
    source: Source,
    reject_folder: Path,
    checksum: concurrent.futures.Future[str],
    status: str,
) -> None:
    """Save the run's final state: status, counts, checksum, reject file, end time, and the
    warnings as its message: trust land retired (`_held_retirement_warning`), then vacancy
    (`vacancy_warnings`: a vacant code matching no row, many vacant parcels turned not vacant),
    then amounts not read (`unread_warnings`).

    For a real import this runs inside the import's transaction, so the run says "succeeded"
    exactly when its parcels are committed; a reject file written for a transaction that then
    fails is removed by `_record_failure`."""
    _apply_counts(run, outcome)
    if outcome.problems:
        run.reject_file = str(_write_reject_file(run, source, outcome.problems, reject_folder))
    # A succeeded run has no failure to tell: its message keeps the warnings staff must act on.
    held = _held_retirement_warning(outcome.held_retiring, dry_run=status == ImportStatus.DRY_RUN)
    warnings = [held, *outcome.vacancy_warnings, *unread_warnings(outcome.unread)]
    run.message = "\n".join(filter(None, warnings))
    run.status = status
    run.source_sha256 = checksum.result()
    run.finished_at = timezone.now()
    run.save()


def _record_failure(
    run: ImportRun, exc: BaseException, checksum: concurrent.futures.Future[str]
) -> None:
    """Record the run as failed, as the rolled-back transaction left it (no counts, no reject
    file: the file written for the failed transaction is removed)."""
    if run.reject_file:
        Path(run.reject_file).unlink(missing_ok=True)
    run.refresh_from_db()
    if isinstance(exc, NothingImportable):  # the reasons why, kept for the user to read
        run.reject_file = str(exc.reject_file)
    run.status = ImportStatus.FAILED
    run.message = _failure_message(exc)
    run.source_sha256 = checksum.result()
    run.finished_at = timezone.now()
    run.save()


def _writable_reject_folder(reject_dir: Path | None) -> Path:
    """The folder for the reject file, made if need be and checked writable before the import
    starts (after the commit it would be too late to say so)."""
    folder = Path(reject_dir or settings.BASE_DIR / ".clt" / "imports")
    named = f"--rejects-dir {folder}" if reject_dir else f"the reject folder {folder}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ImportRefused(f"{named}: cannot write there ({exc.strerror or exc})") from exc
    return folder


@contextlib.contextmanager
def one_import_at_a_time(jurisdiction: str, log: Log) -> Iterator[None]:
    """Hold the jurisdiction's import lock; runs still marked running without it were killed.

    A session-level advisory lock, so it is held by this process's connection and released by
    PostgreSQL when that connection ends, however the process ends (even `kill -9`). Whoever
    holds it next knows every "running" run of that jurisdiction died, and says so on record:
    their transaction was rolled back with the connection, so nothing of theirs is in the
    registry. `client_connection_check_interval` makes the server notice a dead client within a
    second even in the middle of a long statement, so the lock does not outlive it for long.
    """
    key = zlib.crc32(f"clt-import:{jurisdiction}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SET client_connection_check_interval = '1s'")
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cursor.fetchone()[0]:
            log(f"clt: waiting for another import of {jurisdiction} to finish...")
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        killed = ImportRun.objects.filter(jurisdiction=jurisdiction, status=ImportStatus.RUNNING)
        for run in killed:
            log(f"clt: import {run.pk} was interrupted before it finished; nothing of it was kept")
        killed.update(
            status=ImportStatus.FAILED,
            message="interrupted (the process ended before it finished); nothing was changed",
            finished_at=timezone.now(),
        )
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted; nothing was changed"
    return f"{type(exc).__name__}: {_short(exc)}; nothing was changed"


def _check_srid_known(srid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", [srid])
        if cursor.fetchone() is None:
            raise ImportRefused(f"EPSG:{srid} is not in PostGIS's spatial_ref_sys")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with file.open("rb") as f:
            while chunk := f.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


# --- 1. stage: file -> COPY -> temporary table in the source CRS ---------------------------


@dataclass
class Staged:
    """What reading the file found, before PostgreSQL compares anything, and the registry as
    it was read to compare the rows with."""

    rows: int = 0
    # WKB geometry type code -> [rows of that type, first such row]
    kinds: dict[int, list[int]] = field(default_factory=dict)
    keys: FileKeys = field(default_factory=FileKeys)
    fids: list[np.ndarray] = field(default_factory=list)  # per batch, in file order
    registry: KnownRows | None = None
    tax: TaxTally = field(default_factory=TaxTally)  # the tax-status column's values

    def tax_reading(self, mapping: FieldMapping) -> TaxReading:
        """How the tax-status column is read, from its values over the whole file."""
        return TaxReading(mapping.columns.get("tax_status"), self.tax)

    @property
    def known(self) -> int:
        """Rows whose hash and APN an active parcel already has: not staged."""
        return self.keys.known

    @functools.cached_property
    def _repeated(self) -> tuple[np.ndarray, list[str], np.ndarray]:
        return self.keys.repeated(self.registry)

    def repeated_keys(self) -> list[tuple[str, int, str]]:
        """(key, first row, all its rows) of each APN the file holds more than once."""
        rows: dict[str, list[int]] = {}
        for index, key in zip(*self._repeated[:2], strict=True):
            rows.setdefault(key, []).append(int(index) + 1)
        return [(key, at[0], ", ".join(map(str, at))) for key, at in rows.items()]

    @functools.cached_property
    def known_repeats(self) -> tuple[list[int], list[int], list[str]]:
        """Row numbers, fids and keys of the unchanged rows that repeat an earlier row's APN:
        the file's first row of an APN wins, so these are rejected although unchanged. Asked
        once staging is done (they are staged), then again for the counts."""
        where, keys, unchanged = self._repeated
        if len(where) == 0:
            return [], [], []
        later = np.ones(len(where), dtype=bool)
        later[np.unique(keys, return_index=True)[1]] = False  # where is in file order
        chosen = later & unchanged
        rows = where[chosen]
        fids = np.concatenate(self.fids)[rows].tolist()
        return (rows + 1).tolist(), fids, [k for k, pick in zip(keys, chosen, strict=True) if pick]

    def tally_kinds(self, kinds: np.ndarray, first_row: int) -> None:
        values, first, counts = np.unique(kinds, return_index=True, return_counts=True)
        for kind, at, count in zip(values.tolist(), first.tolist(), counts.tolist(), strict=True):
            if kind >= 0:
                self.kinds.setdefault(kind, [0, first_row + at + 1])[0] += count


def _stage(
    source: Source, mapping: FieldMapping, fingerprint: str, jurisdiction: str, progress: bool
) -> Staged:
    """COPY the rows of the file the registry does not hold exactly so into the temporary
    table parcel_stage; return what reading found, with the registry as it was read.

    The registry is read in a helper thread, on the import's own connection and transaction,
    while the first batches are read and hashed; the COPY starts once it has arrived. Unchanged
    rows are not sent, except those a repeated APN rejects (row number, fid and key only). The
    key (the trimmed APN) is made once, in Arrow, for the repeats found there and the SQL alike.
    """
    staged = Staged()
    with connection.cursor() as cursor, concurrent.futures.ThreadPoolExecutor(1) as pool:
        cursor.execute("DROP TABLE IF EXISTS pg_temp.parcel_stage")
        cursor.execute(
            "CREATE TEMP TABLE parcel_stage (row_no integer, fid bigint, "
            + ", ".join(f"{name} text" for name in MAPPABLE)
            + ", wkb bytea, key text, hash text) ON COMMIT DROP"
        )
        registry = pool.submit(KnownRows, cursor.cursor.connection, jurisdiction)
        columns = ", ".join(STAGE_COLUMNS)
        with tqdm(
            total=source.features, unit=" parcels", unit_scale=True,
            disable=not progress, desc="reading", leave=False,
        ) as bar:  # fmt: skip
            chunks = _csv_batches(source, mapping, fingerprint, registry, staged)
            # The first chunk comes once the registry has arrived: only then may the COPY
            # take the connection.
            first = next(chunks)
            try:
                # A writer thread sends each chunk while the next is read and hashed; its
                # queue holds at most 1,024 pieces of 128 kB, so memory stays bounded.
                with cursor.cursor.copy(
                    f"COPY parcel_stage ({columns}) FROM STDIN (FORMAT csv)",
                    writer=psycopg.copy.QueuedLibpqWriter(cursor.cursor),
                ) as copy:
                    for csv_bytes, rows in itertools.chain([first], chunks):
                        if csv_bytes:
                            copy.write(memoryview(csv_bytes))  # sliced without copies
                        bar.update(rows)
            except psycopg.errors.CharacterNotInRepertoire as exc:  # raised as the COPY ends
                raise _not_utf8(source, mapping, exc, staged) from None
        row_nos, fids, keys = staged.known_repeats
        if row_nos:  # pghistory's wrapper breaks executemany: unnest
            cursor.execute(
                "INSERT INTO parcel_stage (row_no, fid, key) "
                "SELECT * FROM unnest(%s::int[], %s::bigint[], %s::text[])",
                [row_nos, fids, keys],
            )
        cursor.execute("ANALYZE parcel_stage")
    return staged


def _not_utf8(
    source: Source, mapping: FieldMapping, exc: psycopg.Error, staged: Staged
) -> ImportRefused:
    """The file's text is in another encoding than it says (GeoJSON must be UTF-8), naming
    the first row and column holding such text, read again to find them.

    Should that read find none, PostgreSQL's line of the COPY names the row: it counts only
    the rows sent (not the unchanged), so the file's row is found among those (`FileKeys`)."""
    wanted = list(dict.fromkeys(mapping.columns.values()))
    try:
        found = first_text_not_utf8(source.gdal_path, source.layer, source.open_options, wanted)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        found = None
    if found:
        where = f" in row {found[0]} (column {found[1]})"
    else:
        line = re.search(r"line (\d+)", exc.diag.context or "")
        sent = np.concatenate([np.zeros(0, np.int64), *staged.keys.other_rows])
        at = int(line[1]) - 1 if line else -1
        where = f" in row {int(sent[at]) + 1}" if 0 <= at < len(sent) else ""
    fix = (
        "Give the encoding it is in with --encoding (e.g. --encoding CP1252), or save it as "
        "UTF-8, and import it again"
        if source.gdal_path.lower().endswith(".shp")
        else "Save the file as UTF-8 and import it again"
    )
    return ImportRefused(
        f"{Path(source.path).name}: the text{where} is not UTF-8 "
        f"({exc.diag.message_primary}). {fix}"
    )


# Batches read and hashed before the registry has arrived are held, at most this many.
MAX_WAITING_BATCHES = 4


@dataclass
class _Hashed:
    """One batch read and hashed, waiting for the registry to say which rows it holds."""

    first_row: int
    fids: pa.Array
    texts: dict[str, pa.Array]
    wkbs: pa.Array
    keys: pa.Array
    digests: list[bytes]


def _csv_batches(
    source: Source,
    mapping: FieldMapping,
    fingerprint: str,
    registry: concurrent.futures.Future[KnownRows],
    staged: Staged,
) -> Iterator[tuple[bytes, int]]:
    """The rows to stage as CSV text for COPY, and how many rows of the file that is, one Arrow
    batch at a time (memory stays flat). Nothing comes before the registry has arrived."""
    waiting: collections.deque[_Hashed] = collections.deque()

    def staged_waiting() -> Iterator[tuple[bytes, int]]:
        staged.registry = registry.result()
        while waiting:
            yield _stage_csv(waiting.popleft(), staged)

    for hashed in _hashed_batches(source, mapping, fingerprint, staged):
        waiting.append(hashed)
        if registry.done() or len(waiting) >= MAX_WAITING_BATCHES:
            yield from staged_waiting()
    yield from staged_waiting()


def _hashed_batches(
    source: Source, mapping: FieldMapping, fingerprint: str, staged: Staged
) -> Iterator[_Hashed]:
    wanted = list(dict.fromkeys(mapping.columns.values()))
    try:
        with quiet_invalid_wkt(), pyogrio.raw.open_arrow(
            source.gdal_path, layer=source.layer, columns=wanted,
            return_fids=True, batch_size=BATCH_SIZE, use_pyarrow=True,
            datetime_as_string=True, **source.open_options,
        ) as (meta, reader):  # fmt: skip
            geometry_name = meta.get("geometry_name") or "wkb_geometry"
            fid_name = meta.get("fid_column") or "OGC_FID"
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                hashed = _hash_batch(batch, geometry_name, fid_name, mapping, fingerprint, staged,
                                     where=source.path.name)  # fmt: skip
                staged.rows += batch.num_rows
                yield hashed
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise ImportRefused(
            f"{source.path.name}: reading failed after {staged.rows:,} features "
            f"({_short(exc)}); the file looks truncated or corrupt"
        ) from exc
    except pyogrio.errors.GeometryError as exc:
        raise ImportRefused(f"{source.path.name}: unreadable geometry ({_short(exc)})") from exc
    if staged.rows == 0:
        raise ImportRefused(f"{source.path.name}: the layer has no features")
    if source.features >= 0 and staged.rows != source.features:
        # A shapefile whose .dbf is cut short: GDAL counts the features in the .shx, then
        # quietly stops reading where the .dbf ends. Imported, the rest would be retired.
        raise ImportRefused(
            f"{source.path.name}: GDAL reports {source.features:,} features but "
            f"{staged.rows:,} could be read; the file (for a shapefile, its .dbf) looks "
            "truncated or corrupt. Nothing was imported"
        )


def _hash_batch(
    batch: pa.RecordBatch,
    geometry_name: str,
    fid_name: str,
    mapping: FieldMapping,
    fingerprint: str,
    staged: Staged,
    *,
    where: str,
) -> _Hashed:
    n = batch.num_rows
    texts = {
        target: _as_text(batch.column(column)) if column else pa.nulls(n, type=pa.string())
        for target in MAPPABLE
        for column in [mapping.columns.get(target)]
    }
    apn_column = mapping.columns["apn"]
    if pa.types.is_floating(batch.column(apn_column).type):
        texts["apn"] = _float_apn_text(batch.column(apn_column), apn_column, staged.rows, where)
    wkbs = batch.column(geometry_name)
    staged.tally_kinds(wkb_kinds(wkbs), staged.rows)
    if "tax_status" in mapping.columns:
        staged.tax.add(texts["tax_status"])
    keys = apn_keys(texts["apn"])
    fids = batch.column(fid_name)
    # A copy: a slice of the batch as GDAL made it would keep the whole batch alive.
    staged.fids.append(fids.to_numpy(zero_copy_only=False).astype(np.int64, copy=True))
    digests = KnownRows.digests(record_texts(list(texts.values()), fingerprint), wkbs)
    return _Hashed(staged.rows, fids, texts, wkbs, keys, digests)


def _stage_csv(hashed: _Hashed, staged: Staged) -> tuple[bytes, int]:
    """One batch's rows the registry does not hold exactly so, as CSV (with their hashes)."""
    known, at = staged.registry.holds(hashed.digests, hashed.keys)
    staged.keys.add(hashed.first_row, hashed.keys, known, at)
    n = len(known)
    if known.all():
        return b"", n
    new = pa.array(~known)
    hashes = [d.hex() for d, skip in zip(hashed.digests, known.tolist(), strict=True) if not skip]
    row_no = pa.array(np.arange(hashed.first_row + 1, hashed.first_row + n + 1, dtype=np.int64))
    table = pa.table({
        "row_no": row_no.filter(new), "fid": hashed.fids.filter(new),
        **{target: text.filter(new) for target, text in hashed.texts.items()},
        "wkb": _hex_bytea(hashed.wkbs.filter(new)),
        "key": hashed.keys.filter(new),
        "hash": pa.array(hashes, pa.string()),
    })  # fmt: skip
    out = io.BytesIO()
    pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return out.getvalue(), n


def _as_text(array: pa.Array) -> pa.Array:
    if isinstance(array.type, pa.ExtensionType):  # GDAL's arrow.json: an object, as JSON text
        array = array.storage
    if _is_list(array.type) and not pa.types.is_nested(array.type.value_type):
        # A GeoJSON list (two owners, say): its values in one cell, as a county would write them
        return pc.binary_join(pc.cast(array, pa.list_(pa.string())), LIST_SEPARATOR)
    if pa.types.is_nested(array.type):  # lists of lists, objects: JSON text, a value at a time
        return pa.array(
            [None if v is None else json.dumps(v, ensure_ascii=False, default=str)
             for v in array.to_pylist()],
            pa.string(),
        )  # fmt: skip
    if pa.types.is_floating(array.type):
        # 12.0 -> "12.0": keep one decimal form so the hash does not depend on the writer
        return pc.cast(array, pa.string())
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return pc.cast(array, pa.string())
    if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
        return pc.cast(array, pa.string(), safe=False)
    return pc.cast(array, pa.string())


LIST_SEPARATOR = "; "


def _is_list(kind: pa.DataType) -> bool:
    is_list = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list)
    return any(test(kind) for test in is_list)


# Above 2**53 a float no longer holds every integer: two PINs may read as one number.
FLOAT_EXACT_INTEGERS = 2**53


def _float_apn_text(array: pa.Array, column: str, first_row: int, where: str) -> pa.Array:
    """APNs a file keeps as floating-point numbers, written as the integers they stand for
    ("123456789012055", not "1.23456789012055e+14").

    Refused when a value is not such an integer (it has decimals, or lies beyond where a float
    holds integers exactly), naming the column and the row: the APN the county wrote is lost.
    """
    values = array.to_numpy(zero_copy_only=False).astype(np.float64)  # NaN where NULL
    present = ~np.isnan(values)
    inexact = present & ((np.floor(values) != values) | (np.abs(values) >= FLOAT_EXACT_INTEGERS))
    if inexact.any():
        at = int(np.flatnonzero(inexact)[0])
        raise ImportRefused(
            f"{where}: the APN column '{column}' holds floating-point numbers, and row "
            f"{first_row + at + 1}'s ({float(values[at])!r}) is not a whole number a float keeps "
            "exactly: APNs stored as numbers lose digits. Export the file with the APN column "
            "as text, then import it again"
        )
    whole = pa.array(np.where(present, values, 0).astype(np.int64), mask=~present)
    return pc.cast(whole, pa.string())


def _hex_bytea(array: pa.Array) -> pa.Array:
    """WKB as PostgreSQL bytea hex input ('\\x0106...'), built from the Arrow buffers at once."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_large_binary(array.type):
        array = array.cast(pa.binary())
    validity, _, data_buffer = array.buffers()
    offsets = value_offsets(array)
    data = memoryview(data_buffer)[offsets[0] : offsets[-1]] if data_buffer else b""
    hex_digits = np.frombuffer(bytes(data).hex().encode(), dtype=np.uint8)
    # Each value becomes "\x" + two hex digits per byte: place the prefixes, then the digits.
    lengths = np.diff(offsets) * 2 + 2
    new_offsets = np.zeros(len(array) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    starts = new_offsets[:-1]
    out = np.empty(int(new_offsets[-1]), dtype=np.uint8)
    is_digit = np.ones(len(out), dtype=bool)
    is_digit[starts] = is_digit[starts + 1] = False
    out[starts], out[starts + 1] = ord("\\"), ord("x")
    out[is_digit] = hex_digits
    return pa.LargeStringArray.from_buffers(
        len(array), pa.py_buffer(new_offsets), pa.py_buffer(out), validity
    )  # fmt: skip


# --- 2-3. compare, check and repair inside PostGIS ---------------------------------------


@dataclass
class Outcome:
    features_read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    # of those, rows with a new hash giving the same values (SAME_VALUES_SQL): their hash is kept
    same_values: int = 0
    retired: int = 0
    repaired: int = 0
    rejected: int = 0
    # (row, fid, apn, outcome, reason) for each rejected or repaired feature, and each amount
    # not read, in file order
    problems: list[tuple[int, int | None, str | None, str, str]] = field(default_factory=list)
    unread: list[UnreadValue] = field(default_factory=list)  # cells that are not amounts
    retiring: list[str] = field(default_factory=list)  # APNs of the parcels no row names
    held_retiring: list[HeldRetirement] = field(default_factory=list)  # of those, trust land
    vacancy: VacancyTally | None = None  # the jurisdiction's, before and after
    vacancy_warnings: list[str] = field(default_factory=list)


def _apply_counts(run: ImportRun, outcome: Outcome) -> None:
    for name in ("features_read", "new", "changed", "unchanged", "retired", "repaired",
                 "rejected"):  # fmt: skip
        setattr(run, name, getattr(outcome, name))


# ISO WKB geometry type codes (the two low bytes, modulo the Z/M thousands: wkb_kinds).
AREAL_WKB_TYPES = (3, 6, 7, 10, 12, 15, 16, 17)  # polygons, collections, surfaces, TINs
CURVED_WKB_TYPES = (7, 10, 12)  # those that may hold arcs: collections, curve polygons, surfaces
WKB_TYPE_NAMES = {1: "Point", 2: "LineString", 3: "Polygon", 4: "MultiPoint",
                  5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection",
                  8: "CircularString", 9: "CompoundCurve", 10: "CurvePolygon",
                  11: "MultiCurve", 12: "MultiSurface", 13: "Curve", 14: "Surface",
                  15: "PolyhedralSurface", 16: "TIN", 17: "Triangle"}  # fmt: skip


def _process(
    staged: Staged,
    run: ImportRun,
    source: Source,
    crs: SourceCrs,
    mapping: FieldMapping,
    jurisdiction: str,
    phases: Phases,
) -> Outcome:
    _refuse_mixed_geometry_types(staged, source)
    outcome = Outcome(features_read=staged.rows)
    with connection.cursor() as cursor:
        # Hash joins of a whole county against the registry need room, and true statistics.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # Memoize would hash every outline as a cache key, for rows that never repeat; JIT
        # cannot see into PostGIS's C functions and only adds its compile time.
        cursor.execute("SET LOCAL enable_memoize = off")
        cursor.execute("SET LOCAL jit = off")
        _analyze_if_stale(cursor)
        comparing = phases.begin(
            f"comparing with the registry ({staged.known:,} rows unchanged by their hash)"
        )
        cursor.execute("DROP TABLE IF EXISTS pg_temp.parcel_repeats")
        cursor.execute("CREATE TEMP TABLE parcel_repeats (key text PRIMARY KEY, first_row integer,"
                       " rows text) ON COMMIT DROP")  # fmt: skip
        repeats = staged.repeated_keys()  # pghistory's wrapper breaks executemany: unnest
        cursor.execute(
            "INSERT INTO parcel_repeats SELECT * FROM unnest(%s::text[], %s::int[], %s::text[])",
            [list(column) for column in zip(*repeats, strict=True)] if repeats else [[], [], []],
        )
        cursor.execute(CLASSIFY_SQL, {"jurisdiction": jurisdiction, "max_apn": MAX_APN_LENGTH})
        outcome.unchanged = staged.known - len(staged.known_repeats[0])
        outcome.retiring = staged.keys.gone(staged.registry)
        outcome.retired = len(outcome.retiring)
        comparing()
        sent = staged.rows - outcome.unchanged
        with phases(f"checking and transforming {count_text(sent, 'new or changed outline')}"):
            _prepare(cursor, _prepare_params(mapping, crs, staged, run))
            if crs.keep_within:
                _reject_far_off(cursor, crs)
        outcome.same_values = _set_aside_same_values(cursor)
        outcome.unchanged += outcome.same_values
        cursor.execute(
            """SELECT count(*) FILTER (WHERE reject IS NULL AND parcel_id IS NULL),
                      count(*) FILTER (WHERE reject IS NULL AND parcel_id IS NOT NULL),
                      count(*) FILTER (WHERE reject IS NULL AND geom_note <> '')
               FROM parcel_ready"""
        )
        outcome.new, outcome.changed, outcome.repaired = cursor.fetchone()
        cursor.execute(PROBLEMS_SQL)
        problems, outcome.unread = _problems_and_unread(cursor.fetchall(), mapping)
        outcome.problems = _explain_missing_geometry(source, problems)
        outcome.problems = _reword_repeats_of_rejected(outcome.problems, repeats)
        outcome.rejected = sum(1 for p in outcome.problems if p[3] == "rejected")
        # A file all unchanged changes no parcel's vacancy: the count, a scan of every parcel
        # of the jurisdiction, would be most of an unchanged re-import's time budget (#4's
        # ≤ 0.3× ogr2ogr). Codes the user gave are still checked against the file.
        if sent or outcome.retiring or mapping.vacant_codes_given:
            with phases("counting vacant, occupied and unknown parcels"):
                outcome.vacancy = tally_vacancy(cursor, jurisdiction, outcome.retiring)
    return outcome


def _prepare(cursor, params: dict) -> None:
    """Run PREPARE_SQL; rows whose outline PostGIS cannot even parse are rejected, not fatal.

    ST_GeomFromWKB raises, failing the whole statement, on an outline GDAL reads but PostGIS
    refuses (a ring left open, a ring of fewer than four points). Testing each row first would
    cost the normal path a subtransaction per row, so the statement runs in a savepoint; only
    when it fails are the offending rows found (`_unparsable_outlines`), their outline set
    aside and the statement run again, and then they are rejected with the reason.
    """
    try:
        with transaction.atomic():
            cursor.execute(PREPARE_SQL, params)
        return
    except InternalError as exc:  # PostGIS raises its parse errors as XX000
        failure = exc
    unparsable = _unparsable_outlines(cursor, params["srid"])
    if not unparsable:
        raise failure
    rows, reasons = [list(column) for column in zip(*unparsable, strict=True)]
    cursor.execute("UPDATE parcel_stage SET wkb = NULL WHERE row_no = ANY(%s)", [rows])
    cursor.execute(PREPARE_SQL, params)
    cursor.execute(
        """UPDATE parcel_ready r SET reject = u.reason
           FROM unnest(%s::int[], %s::text[]) AS u(row_no, reason)
           WHERE r.row_no = u.row_no AND r.reject = 'no geometry'""",
        [rows, reasons],
    )


def _set_aside_same_values(cursor) -> int:
    """Take the rows that change nothing but their hash out of `parcel_ready` (SAME_VALUES_SQL);
    how many."""
    cursor.execute(SAME_VALUES_SQL)
    cursor.execute("SELECT count(*) FROM parcel_same")
    return cursor.fetchone()[0]


def _reject_far_off(cursor, crs: SourceCrs) -> None:
    """Reject the rows whose outline lies outside the area `crs` allows: a stray feature far
    from the rest of the file (at the CRS's false origin, say). Run only for a file whose
    bounding box reaches outside that area (`_check_lands_here`). The area may cross the
    antimeridian (west > east), as `SourceCrs.contains` reads it: no envelope can say that."""
    cursor.execute(
        """UPDATE parcel_ready r
           SET reject = format('lies at lon %%s, lat %%s, outside %%s',
                               round(ST_X(c)::numeric, 2), round(ST_Y(c)::numeric, 2),
                               %(outside)s)
           FROM (SELECT row_no, ST_Centroid(geom) AS c FROM parcel_ready
                 WHERE reject IS NULL) centre
           WHERE r.row_no = centre.row_no
             AND NOT coalesce(
                 ST_Y(c) BETWEEN %(south)s AND %(north)s
                 AND (ST_X(c) BETWEEN %(west)s AND %(east)s
                      OR %(west)s > %(east)s AND (ST_X(c) >= %(west)s OR ST_X(c) <= %(east)s)),
                 false)""",
        {**dict(zip(("west", "south", "east", "north"), crs.keep_within, strict=True)),
         "outside": crs.outside_text},
    )  # fmt: skip


# Why PostGIS cannot read an outline, or NULL. A subtransaction per call (the EXCEPTION
# clause), so it is created and run only once PREPARE_SQL has failed. Stroking an outline with
# no arcs copies it, and one with arcs is stroked as PREPARE_SQL would.
OUTLINE_PROBLEM_SQL = """
CREATE OR REPLACE FUNCTION pg_temp.outline_problem(wkb bytea, srid integer) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ST_Transform(ST_CurveToLine(ST_Force2D(ST_GeomFromWKB(wkb, srid))), 4326);
    RETURN NULL;
EXCEPTION WHEN internal_error OR data_exception THEN
    RETURN SQLERRM;
END $$
"""

# The outline of each row to be checked that PostGIS cannot read, with PostGIS's reason.
UNPARSABLE_SQL = """
SELECT row_no, problem
FROM (SELECT s.row_no, pg_temp.outline_problem(s.wkb, %(srid)s) AS problem
      FROM parcel_rows r JOIN parcel_stage s USING (row_no)
      WHERE r.key_reject IS NULL AND s.wkb IS NOT NULL) checked
WHERE problem IS NOT NULL ORDER BY row_no
"""


def _unparsable_outlines(cursor, srid: int) -> list[tuple[int, str]]:
    """(row, reason) of each staged outline PostGIS cannot parse or transform."""
    cursor.execute(OUTLINE_PROBLEM_SQL)
    cursor.execute(UNPARSABLE_SQL, {"srid": srid})
    return [(row_no, outline_reason(problem)) for row_no, problem in cursor.fetchall()]


def outline_reason(message: str) -> str:
    """A reject reason for an outline that PostGIS or GEOS refused to read, from their message."""
    lowered = message.lower()
    if "closed" in lowered:
        return "ring not closed (its last point must repeat its first)"
    if "four points" in lowered or "must be 0 or >= 4" in lowered or "more points" in lowered:
        return "too few points in a ring (a ring needs four, the last repeating the first)"
    return f"unreadable outline ({_short(Exception(message))})"


def _reword_repeats_of_rejected(
    problems: list[tuple], repeats: list[tuple[str, int, str]]
) -> list[tuple]:
    """The problems, with the later rows of a repeated APN whose first row was rejected too
    told so: "the first is kept" would be untrue, as no row of that APN is imported."""
    rejected = {row_no: reason for row_no, _, _, kind, reason in problems if kind == "rejected"}
    fallen = {key: (first, rows) for key, first, rows in repeats if first in rejected}
    if not fallen:
        return problems
    reworded = []
    for row_no, fid, apn, kind, reason in problems:
        if apn in fallen and row_no != fallen[apn][0]:
            first, rows = fallen[apn]
            reason = (
                f"APN '{apn}' appears more than once (rows {rows}); the first, row {first}, is "
                f"rejected too ({rejected[first]}), so none of them is imported"
            )
        reworded.append((row_no, fid, apn, kind, reason))
    return reworded


def _explain_missing_geometry(source: Source, problems: list[tuple]) -> list[tuple]:
    """The problems, with "no geometry" made "invalid WKT" where a CSV's WKT cell held text."""
    fids = [fid for _, fid, _, _, reason in problems if reason == "no geometry"]
    reasons = missing_geometry_reasons(source, fids)
    return [
        (row_no, fid, apn, kind, reasons.get(fid, reason) if reason == "no geometry" else reason)
        for row_no, fid, apn, kind, reason in problems
    ]


def _analyze_if_stale(cursor) -> None:
    """ANALYZE the parcels table when a bulk write has left its statistics behind (the
    planner would otherwise nest-loop a million rows against a table it thinks is empty)."""
    # Rows counted live against the planner's estimate, not changes since the last ANALYZE: an
    # import ANALYZEs inside its own transaction, and its inserts are counted as changes only
    # when it commits, after that ANALYZE, so every re-import would ANALYZE again for nothing.
    cursor.execute(
        """SELECT coalesce(s.n_live_tup, 0), c.reltuples
           FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
           WHERE c.oid = 'parcels_parcel'::regclass"""
    )
    live, estimated = cursor.fetchone()
    if estimated < 0 or abs(live - estimated) > 0.1 * estimated + 500:
        cursor.execute("ANALYZE parcels_parcel")


def _refuse_mixed_geometry_types(staged: Staged, source: Source) -> None:
    """Polygons mixed with points or lines mean this is not (only) a parcel layer: refuse."""
    kinds = [(kind, count, first) for kind, (count, first) in sorted(staged.kinds.items())]
    foreign = [(k, n, row) for k, n, row in kinds if k not in AREAL_WKB_TYPES]
    if not foreign:
        return
    tally = ", ".join(f"{WKB_TYPE_NAMES.get(k, k)} ×{n:,}" for k, n, _ in kinds)
    first = min(foreign, key=lambda f: f[2])
    if len(foreign) == len(kinds):
        raise ImportRefused(f"{source.path.name} holds no polygons ({tally}): not a parcel layer")
    raise ImportRefused(
        f"{source.path.name}: mixed geometry types ({tally}); row {first[2]} is a "
        f"{WKB_TYPE_NAMES.get(first[0], first[0])}. A parcel layer holds only polygons: export "
        "the polygon layer alone, then import again"
    )


# Each row sent (new, changed, or unchanged but repeating an earlier row's APN) with its key
# (the trimmed APN), its rejection if its key is unusable, and then which parcel it is.
CLASSIFY_SQL = """
DROP TABLE IF EXISTS pg_temp.parcel_rows;
CREATE TEMP TABLE parcel_rows ON COMMIT DROP AS
SELECT k.*, p.id AS parcel_id
FROM (SELECT s.row_no, s.key, s.hash,
             CASE WHEN s.key IS NULL THEN 'blank APN'
                  WHEN length(s.key) > %(max_apn)s
                      THEN 'APN longer than ' || %(max_apn)s || ' characters'
                  WHEN r.first_row <> s.row_no
                      THEN 'APN ''' || s.key || ''' appears more than once (rows ' || r.rows
                           || '); the first is kept'
             END AS key_reject
      FROM parcel_stage s LEFT JOIN parcel_repeats r ON r.key = s.key) k
LEFT JOIN parcels_parcel p
       ON p.jurisdiction = %(jurisdiction)s AND p.apn = k.key AND k.key_reject IS NULL;
ANALYZE parcel_rows;
"""

# New and changed rows only: parse, make areal, transform, check, repair; derive the fields.
PREPARE_SQL = """
DROP TABLE IF EXISTS pg_temp.parcel_ready;
CREATE TEMP TABLE parcel_ready ON COMMIT DROP AS
-- Most rows are valid polygons: parse and transform once, test validity once; the rare rows
-- (collections, curves, invalid rings) take the slower branches of the CASEs below. Each step
-- is a LATERAL subquery fenced with OFFSET 0 so it runs once per row, not at every reference.
WITH mended AS (
    SELECT r.row_no, r.key, r.hash, r.key_reject, r.parcel_id, s.fid, s.wkb, s.address,
           s.owner_of_record, s.land_use, s.zoning, s.assessed_land, s.assessed_improvement,
           s.vacant, s.tax_status, a.g0, a.land, a.improvement, b.g1, b.valid,
           CASE WHEN b.valid IS NOT FALSE THEN NULL ELSE ST_IsValidReason(b.g1) END
               AS invalid_reason,
           CASE WHEN b.valid IS NOT FALSE THEN b.g1
                ELSE ST_CollectionExtract(ST_MakeValid(b.g1), 3) END AS g3
    FROM parcel_rows r JOIN parcel_stage s USING (row_no)
    -- Arcs are stroked in the file's CRS, before the transform: a circle in feet is no circle
    -- in degrees. Only a file holding curved types strokes (has_curves); for the others the
    -- CASE folds away when the statement is planned.
    -- An amount is read by the first test that matches: plain digits (most rows), then as a
    -- spreadsheet writes it ("$12,500.00"); NULL if neither, empty or not an amount (below).
    CROSS JOIN LATERAL (
        SELECT CASE WHEN r.key_reject IS NULL AND s.wkb IS NOT NULL
                    THEN ST_Transform(
                        CASE WHEN %(has_curves)s
                             THEN ST_CurveToLine(ST_Force2D(ST_GeomFromWKB(s.wkb, %(srid)s)),
                                                 %(stroke_tolerance)s, 1, 1)
                             ELSE ST_Force2D(ST_GeomFromWKB(s.wkb, %(srid)s)) END, 4326)
               END AS g0,
               CASE WHEN btrim(s.assessed_land) ~ %(plain_amount)s
                        THEN round(btrim(s.assessed_land)::numeric, 2)
                    WHEN btrim(s.assessed_land) ~* %(written_amount)s
                        THEN round(regexp_replace(s.assessed_land, '[^0-9.]', '', 'g')::numeric, 2)
               END AS land,
               CASE WHEN btrim(s.assessed_improvement) ~ %(plain_amount)s
                        THEN round(btrim(s.assessed_improvement)::numeric, 2)
                    WHEN btrim(s.assessed_improvement) ~* %(written_amount)s
                        THEN round(regexp_replace(s.assessed_improvement, '[^0-9.]', '', 'g')
                                   ::numeric, 2)
               END AS improvement
        OFFSET 0
    ) a
    CROSS JOIN LATERAL (
        SELECT g1, CASE WHEN g1 IS NULL THEN NULL ELSE ST_IsValid(g1) END AS valid
        FROM (SELECT CASE WHEN a.g0 IS NULL OR ST_IsEmpty(a.g0) THEN NULL
                          WHEN GeometryType(a.g0) IN ('POLYGON', 'MULTIPOLYGON') THEN a.g0
                          ELSE ST_CollectionExtract(a.g0, 3) END AS g1 OFFSET 0) areal
        OFFSET 0
    ) b
)
SELECT row_no, fid, key AS apn, hash, parcel_id,
       CASE WHEN key_reject IS NOT NULL THEN key_reject
            WHEN wkb IS NULL THEN 'no geometry'
            WHEN g0 IS NULL OR ST_IsEmpty(g0) THEN 'empty geometry'
            WHEN g1 IS NULL OR ST_IsEmpty(g1)
                THEN 'not a polygon (' || initcap(GeometryType(g0)) || ')'
            WHEN g3 IS NULL OR ST_IsEmpty(g3) OR ST_Area(g3) = 0
                THEN 'no area left after repair: ' || coalesce(invalid_reason, 'zero area')
       END AS reject,
       CASE WHEN invalid_reason IS NOT NULL
            THEN left('repaired on import ' || %(run)s || ': ' || invalid_reason, 300)
            ELSE '' END AS geom_note,
       ST_Multi(g3)::geometry(MultiPolygon, 4326) AS geom,
       left(coalesce(btrim(address), ''), 200) AS address,
       left(coalesce(btrim(owner_of_record), ''), 200) AS owner_of_record,
       left(coalesce(btrim(land_use), ''), 32) AS land_use,
       left(coalesce(btrim(zoning), ''), 32) AS zoning,
       -- A cell neither empty nor an amount keeps the parcel's value on record (UnreadValue).
       -- Amounts read (most rows) pass the first NULL test and go no further.
       CASE WHEN land IS NOT NULL THEN land
            WHEN coalesce(btrim(assessed_land), '') = '' THEN NULL
            ELSE (SELECT p.assessed_land FROM parcels_parcel p WHERE p.id = mended.parcel_id)
       END AS assessed_land,
       CASE WHEN land IS NULL AND btrim(assessed_land) <> '' THEN btrim(assessed_land) END
           AS unread_land,
       CASE WHEN improvement IS NOT NULL THEN improvement
            WHEN coalesce(btrim(assessed_improvement), '') = '' THEN NULL
            ELSE (SELECT p.assessed_improvement FROM parcels_parcel p
                  WHERE p.id = mended.parcel_id)
       END AS assessed_improvement,
       CASE WHEN improvement IS NULL AND btrim(assessed_improvement) <> ''
            THEN btrim(assessed_improvement) END AS unread_improvement,
       CASE WHEN lower(btrim(vacant)) IN ('1', '1.0', 'y', 'yes', 't', 'true', 'v', 'vacant')
                 OR upper(btrim(land_use)) = ANY(%(vacant_codes)s) THEN 'vacant'
            WHEN lower(btrim(vacant)) IN ('0', '0.0', 'n', 'no', 'f', 'false', 'occupied',
                                          'improved')
                 OR (%(has_land_use)s AND NOT %(has_vacant)s AND btrim(land_use) <> '')
                THEN 'occupied'
            ELSE 'unknown' END AS vacancy_status,
       -- Which codes mean what is decided for the whole column (county_values.TaxReading).
       CASE WHEN upper(btrim(owner_of_record)) = ANY(%(forfeited_owners)s)
                 OR lower(btrim(tax_status)) = ANY(%(forfeited_codes)s)
                THEN 'forfeited'
            WHEN lower(btrim(tax_status)) = ANY(%(delinquent_codes)s)
                THEN 'delinquent'
            ELSE 'current' END AS tax_status
FROM mended;
ANALYZE parcel_ready;
"""

# Each row rejected or repaired, and each amount not read in a row imported, in file order; for
# an amount, its field, its text and the value the parcel keeps (`_problems_and_unread`).
PROBLEMS_SQL = """
SELECT r.row_no, r.fid, r.apn, p.kind, p.reason, p.field, p.text, p.kept
FROM parcel_ready r
CROSS JOIN LATERAL (VALUES
    (CASE WHEN r.reject IS NOT NULL THEN 'rejected' ELSE 'repaired' END,
     coalesce(r.reject, nullif(r.geom_note, '')), NULL, NULL, NULL::numeric, 0),
    ('value not read', NULL, 'assessed_land', r.unread_land, r.assessed_land, 1),
    ('value not read', NULL, 'assessed_improvement', r.unread_improvement,
     r.assessed_improvement, 2)
) AS p(kind, reason, field, text, kept, at)
WHERE (r.reject IS NOT NULL OR r.geom_note <> '' OR r.unread_land IS NOT NULL
       OR r.unread_improvement IS NOT NULL)
  AND (p.reason IS NOT NULL OR (p.text IS NOT NULL AND r.reject IS NULL))
ORDER BY r.row_no, p.at
"""


def _problems_and_unread(
    rows: list[tuple], mapping: FieldMapping
) -> tuple[list[tuple], list[UnreadValue]]:
    """PROBLEMS_SQL's rows as the reject file's (row, fid, apn, outcome, reason), and the
    amounts not read among them."""
    problems, unread = [], []
    for row_no, fid, apn, kind, reason, target, text, kept in rows:
        if target is not None:
            value = UnreadValue(row_no, target, mapping.columns[target], text, kept)
            unread.append(value)
            reason = value.reason()
        problems.append((row_no, fid, apn, kind, reason))
    return problems, unread


def _prepare_params(
    mapping: FieldMapping, crs: SourceCrs, staged: Staged, run: ImportRun
) -> dict:
    tax = staged.tax_reading(mapping)
    return {
        "srid": crs.srid,
        "run": run.pk,
        "has_curves": any(kind in staged.kinds for kind in CURVED_WKB_TYPES),
        "stroke_tolerance": _stroke_tolerance(crs.srid),
        "plain_amount": PLAIN_AMOUNT,
        "written_amount": WRITTEN_AMOUNT,
        "vacant_codes": [c.upper() for c in mapping.vacant_codes],
        "forfeited_owners": list(mapping.forfeited_owners),
        "forfeited_codes": tax.forfeited_codes,
        "delinquent_codes": tax.delinquent_codes,
        "has_land_use": "land_use" in mapping.columns,
        "has_vacant": "vacant" in mapping.columns,
    }


# Arcs (a cul-de-sac's bulb, a lot on a road's curve) are stroked into chords straying at most
# this far from the arc. ST_CurveToLine's default, 32 chords per quarter circle, strays in
# proportion to the radius: 5 mm on a 50 ft bulb but 9 cm on a 1,000 ft road curve. A
# centimetre everywhere is finer than a county's drafting, at some 20 to 50 points an arc.
STROKE_TOLERANCE_M = 0.01
EARTH_RADIUS_M = 6_378_137  # for a CRS in degrees: metres per radian, at the equator


def _stroke_tolerance(srid: int) -> float:
    """STROKE_TOLERANCE_M in the units of EPSG:`srid`'s coordinates (feet, metres, degrees)."""
    crs = CRS.from_epsg(srid)
    if not crs.axis_info:
        return STROKE_TOLERANCE_M
    per_unit = crs.axis_info[0].unit_conversion_factor  # metres, or radians, per unit
    return STROKE_TOLERANCE_M / (per_unit * EARTH_RADIUS_M if crs.is_geographic else per_unit)


# --- 4. write -----------------------------------------------------------------------------

WRITTEN_FIELDS = (
    "geom", "geom_note", "address", "owner_of_record", "land_use", "zoning", "assessed_land",
    "assessed_improvement", "vacancy_status", "tax_status",
)  # fmt: skip


# Rows whose hash the registry does not hold, but which give an active parcel exactly the values
# it has: the row was read differently, not changed (a county renamed a column, or the rules
# reading a row, READING_RULES, changed and made the same of it). Counted unchanged, written
# nowhere but their new hash (no history event: `import_hash` is not tracked), and taken out of
# `parcel_ready`, so neither the update nor the reject file sees them. A repair note names the
# run that made it: only whether there is one is compared; the outline, as bytes. Every field
# the update writes (WRITTEN_FIELDS) is compared, so a field added there is never kept stale.
_COMPARED = {
    "geom": "ST_AsBinary(r.geom) = ST_AsBinary(p.geom)",
    "geom_note": "(r.geom_note = '') = (p.geom_note = '')",
}
_SAME = "\n  AND ".join(
    _COMPARED.get(field, f"r.{field} IS NOT DISTINCT FROM p.{field}") for field in WRITTEN_FIELDS
)
SAME_VALUES_SQL = f"""
DROP TABLE IF EXISTS pg_temp.parcel_same;
CREATE TEMP TABLE parcel_same ON COMMIT DROP AS
SELECT r.row_no, r.parcel_id, r.hash
FROM parcel_ready r JOIN parcels_parcel p ON p.id = r.parcel_id
WHERE r.reject IS NULL AND p.retired_at IS NULL
  -- An amount not read is kept from the parcel, and must still be warned of (UnreadValue).
  AND r.unread_land IS NULL AND r.unread_improvement IS NULL
  AND {_SAME};
DELETE FROM parcel_ready r USING parcel_same s WHERE r.row_no = s.row_no;
"""


def _write(
    run: ImportRun,
    crs: SourceCrs,
    jurisdiction: str,
    source: Source,
    outcome: Outcome,
    phases: Phases,
) -> None:
    """Update, retire, insert, record history, rebuild: a few big statements, each announced
    (`phases`), as no progress bar can see inside one."""
    params = {
        "run": run.pk,
        "jurisdiction": jurisdiction,
        "srid": crs.srid,
        "source_file": source.path.name[:300],
        "vacancy_source": f"county file {source.path.name}"[:100],
        "today": timezone.localdate(),
    }
    assignments = ", ".join(f"{name} = r.{name}" for name in WRITTEN_FIELDS)
    changed, new = outcome.changed, outcome.new
    with connection.cursor() as cursor:
        writing = f"writing {count_text(changed, 'changed parcel')}, with history"
        with phases(writing, when=changed > 0):
            cursor.execute(
                f"""UPDATE parcels_parcel p SET {assignments}, import_hash = r.hash,
                        import_run_id = %(run)s, source_srid = %(srid)s,
                        source_file = %(source_file)s, vacancy_source = %(vacancy_source)s,
                        vacancy_as_of = %(today)s, retired_at = NULL, updated_at = now()
                    FROM parcel_ready r
                    WHERE r.parcel_id = p.id AND r.reject IS NULL""",
                params,
            )
        if outcome.same_values:
            same = count_text(outcome.same_values, "unchanged parcel")
            with phases(f"noting the new row hash of {same} (the same values, in rows written "
                        "differently)"):
                cursor.execute(
                    """UPDATE parcels_parcel p SET import_hash = s.hash
                       FROM parcel_same s WHERE p.id = s.parcel_id"""
                )
        if outcome.retiring:
            with phases(f"retiring {count_text(len(outcome.retiring), 'parcel')} the file omits"):
                cursor.execute(
                    """UPDATE parcels_parcel p SET retired_at = now(), import_run_id = %(run)s,
                           updated_at = now()
                       FROM unnest(%(retiring)s::text[]) AS gone(apn)
                       WHERE p.jurisdiction = %(jurisdiction)s AND p.apn = gone.apn
                         AND p.retired_at IS NULL""",
                    {**params, "retiring": outcome.retiring},
                )
            outcome.retired = cursor.rowcount  # the list is the registry as first read
        with phases(f"writing {count_text(new, 'new parcel')}", when=new > 0):
            rebuild = _prepare_bulk_load(cursor, new)
            cursor.execute("SELECT coalesce(max(id), 0) FROM parcels_parcel")
            (last_id,) = cursor.fetchone()  # every id the insert takes is above it
            # pgtrigger's statement wrapper takes positional parameters only; the savepoint lets
            # its clean-up statement run, and the real error surface, if the insert fails.
            with pgtrigger.ignore("parcels.Parcel:insert_insert"), transaction.atomic():
                cursor.execute(_insert_sql(), [params[k] for k in INSERT_PARAMS])
        with phases(f"recording the history of {count_text(new, 'new parcel')}", when=new > 0):
            cursor.execute(_insert_events_sql(), {"run": run.pk, "after_id": last_id})
        if rebuild:
            with phases(f"rebuilding {count_text(len(rebuild) - 1, 'index', 'indexes')}"):
                # CREATE INDEX refuses to run with deferred constraint checks queued on the table.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for definition in rebuild:
                    cursor.execute(definition)
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        if outcome.new + outcome.changed + outcome.retired > 0.1 * outcome.features_read + 500:
            with phases("updating the planner's statistics of the parcels"):
                cursor.execute("ANALYZE parcels_parcel")
        cursor.execute(
            "DROP TABLE parcel_ready, parcel_rows, parcel_repeats, parcel_stage, parcel_same"
        )


BULK_LOAD_MIN_ROWS = 50_000


def _prepare_bulk_load(cursor, new_rows: int) -> list[str]:
    """For a load that at least doubles the tables: drop their secondary indexes and set the
    per-row insert trigger aside; return the statements that put both back.

    Building an index once over sorted rows (PostgreSQL 15 + PostGIS 3 sort geometries on a
    Hilbert curve for GiST) is several times faster than a million one-at-a-time insertions.
    DROP INDEX already locks the table until commit, so disabling the insert-history trigger
    (whose events `_insert_sql` writes in one statement anyway) costs readers nothing more.
    All inside the import's transaction: a failure restores indexes and trigger with the rest.
    Unique indexes stay: they are the constraints the upsert relies on.
    """
    if new_rows < BULK_LOAD_MIN_ROWS:
        return []
    cursor.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
           WHERE t.oid IN ('parcels_parcel'::regclass, 'parcels_parcelevent'::regclass)
             AND NOT i.indisunique AND NOT i.indisprimary
             AND greatest(t.reltuples, 0) < %s""",
        [new_rows],
    )
    indexes = cursor.fetchall()
    if not indexes:
        return []
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")  # names from pg_index, never from the user
    ((model, trigger),) = pgtrigger.registered("parcels.Parcel:insert_insert")
    table, pgid = model._meta.db_table, trigger.get_pgid(model)
    cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{pgid}"')
    return [definition for _, definition in indexes] + [
        f'ALTER TABLE "{table}" ENABLE TRIGGER "{pgid}"'
    ]


INSERT_PARAMS = ("jurisdiction", "run", "srid", "source_file", "vacancy_source", "today")


def _insert_sql() -> str:
    """INSERT the new parcels (their history events follow: `_insert_events_sql`).

    In the order of `parcel_ready`, which is the file's as it was staged; an ORDER BY would
    guarantee it, at the price of an on-disk sort of every new row with its outline (2 s at 1M
    rows), for ids that nothing reads an order from.
    """
    written = ", ".join(WRITTEN_FIELDS)
    return f"""
        INSERT INTO parcels_parcel (jurisdiction, apn, {written}, import_hash, import_run_id,
            source_srid, source_file, vacancy_source, vacancy_as_of, created_at, updated_at)
        SELECT %s, r.apn, {", ".join(f"r.{f}" for f in WRITTEN_FIELDS)},
               r.hash, %s, %s, %s, %s, %s, now(), now()
        FROM parcel_ready r WHERE r.parcel_id IS NULL AND r.reject IS NULL
    """


def _insert_events_sql() -> str:
    """The history "insert" events of the parcels this run inserted, as the trigger set aside
    would have written them, read back from the table in one statement.

    The new parcels are the ones with this run's id above the largest id before the insert
    (changed and retired parcels carry the run's id too, with older ids). Reading them back
    costs less than `INSERT ... RETURNING *` into the events: that keeps every new row, outline
    and all, in a tuple store that spills to disk (13.3 s against 11.6 s at 1M rows).
    The event columns are read from the event model, so they match the trigger's own.
    """
    event_model = apps.get_model("parcels", "ParcelEvent")
    tracked = [
        f.column for f in event_model._meta.concrete_fields
        if not f.name.startswith("pgh_") and f.column != "id"
    ]  # fmt: skip
    event_columns = ", ".join(f'"{c}"' for c in ["id", *tracked])
    event_values = ", ".join(f'p."{c}"' for c in ["id", *tracked])
    return f"""
        WITH context AS (SELECT _pgh_attach_context() AS id)
        INSERT INTO parcels_parcelevent ({event_columns}, pgh_context_id, pgh_created_at,
                                         pgh_label, pgh_obj_id)
        SELECT {event_values}, context.id, now(), 'insert', p.id
        FROM parcels_parcel p, context
        WHERE p.id > %(after_id)s AND p.import_run_id = %(run)s
    """


# --- the reject file ----------------------------------------------------------------------


def _write_reject_file(
    run: ImportRun, source: Source, problems: list[tuple], reject_folder: Path
) -> Path:
    """CSV of every rejected (and repaired) feature: row, APN, outcome, reason, and the
    feature's original attributes as the file has them (`_file_column_headers`), each text cell
    safe to open in a spreadsheet (`safe_if_text`: a county's "=1+1" is not run)."""
    target = reject_folder / f"import-{run.pk}-{source.path.stem}-rejects.csv"
    originals = _original_attributes(source, [p[1] for p in problems])
    try:
        with target.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([*REJECT_COLUMNS, *_file_column_headers(source.columns)])
            for row_no, fid, apn, kind, reason in problems:
                attributes = originals.get(fid, {})
                cells = (attributes.get(c, "") for c in source.columns)
                row = [row_no, apn or "", kind, reason, *cells]
                writer.writerow([safe_if_text(cell) for cell in row])
    except BaseException:
        target.unlink(missing_ok=True)  # a half-written list of rejects is no list
        raise
    return target


REJECT_COLUMNS = ("row", "APN", "outcome", "reason")


def _file_column_headers(columns: list[str]) -> list[str]:
    """The file's column names as the reject file's header gives them: as they are, but for a
    name the import's own columns already use, in any case (a county's "APN"), which is marked
    as the file's ("APN (in file)"), so that no header is there twice."""
    taken = {name.casefold() for name in REJECT_COLUMNS}
    return [f"{name} (in file)" if name.casefold() in taken else name for name in columns]


def _original_attributes(source: Source, fids: list[int | None]) -> dict[int, dict]:
    """The attributes of the features `fids`, by fid, as cells for the reject file (lists and
    objects as `_as_text` writes them: pandas cannot hold GDAL's list fields)."""
    wanted = sorted({int(f) for f in fids if f is not None})
    if not wanted or not source.columns:
        return {}
    try:
        with quiet_invalid_wkt():  # GeoJSON parses every outline, even when not asked for
            meta, table = pyogrio.raw.read_arrow(
                source.gdal_path, layer=source.layer, fids=wanted, read_geometry=False,
                return_fids=True, datetime_as_string=True, **source.open_options,
            )  # fmt: skip
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError):
        return {}  # a driver without random access: the file still names row and APN
    read = table.column(meta.get("fid_column") or "OGC_FID").to_pylist()
    cells = {
        name: _cells(table.column(name).combine_chunks())
        for name in source.columns
        if name in table.column_names
    }
    return {int(fid): {name: values[at] for name, values in cells.items()}
            for at, fid in enumerate(read)}  # fmt: skip


def _cells(array: pa.Array) -> list:
    """A column's values for csv.writer: NULL as an empty cell, lists and objects as text."""
    if isinstance(array.type, pa.ExtensionType) or pa.types.is_nested(array.type):
        array = _as_text(array)
    return ["" if value is None else value for value in array.to_pylist()]
