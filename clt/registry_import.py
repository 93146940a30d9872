"""Bring a trust's own records in, once, from a folder of spreadsheets: `clt import-registry`.

A trust adopting clt has its holdings, households, leases, appraisals and resales in
spreadsheets (or HomeKeeper, exported to them). Typed into the staff pages one by one, 40
homes with their histories are days of work and a source of slips; this reads them from a
folder of CSV tables in the format of `clt.registry_files` (the demo's own format: see
`fixtures/west_jackson/` for a worked example, and `--template` for empty tables with every
column explained).

The county's parcels come first (`clt import-parcels`): holdings name their parcels by APN.
Then the folder is read whole, in one transaction, every record validated as the staff pages
validate it, through the named actions staff use: a refused row names the file, row and column,
and nothing is written. `--dry-run` does all of that and rolls back.

It brings records in once: a party, holding, lease or easement already in the registry is
refused, all of them listed, rather than entered twice. Records already in are edited on the
staff pages, not imported again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models.functions import Lower

from clt.registry_files import (
    EASEMENTS,
    FORMULAS_FOLDER,
    TABLES,
    ChoiceReader,
    Origin,
    RegistryFileError,
    Table,
    read_features,
    read_rows,
)
from leases.registry_import import LeaseFiles, LeaseFilesSummary
from maps.search import ApnKey, apn_key
from parcels.registry_import import HoldingFiles, HoldingFilesSummary, ParcelFinder, apns_named

IMPORT_ACTION = "registry_import"
# Records already in, named up to this many per file; the rest counted.
CONFLICTS_SHOWN = 3


@dataclass(frozen=True)
class RegistryImportSummary:
    holdings: HoldingFilesSummary
    leases: LeaseFilesSummary
    # What came in but looks wrong, for a person to check (`doubts`); nothing refused.
    warnings: tuple[str, ...] = ()

    def __str__(self) -> str:
        land = (
            f"{self.holdings.holdings} holdings, {self.holdings.improvements} improvements, "
            f"{self.holdings.acquisition_events} acquisition events"
        )
        return f"{land}; {self.leases}"


def import_registry(
    folder: Path,
    jurisdiction: str,
    *,
    dry_run: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> RegistryImportSummary:
    """Read `folder` into the registry, all or nothing (nothing at all with `dry_run`)."""
    _check_folder(folder)
    find_parcel = registry_parcels(folder, jurisdiction)
    refuse_records_already_in(folder)
    origin = Origin(action=IMPORT_ACTION, source=f"import {folder.name}", say=say)
    with transaction.atomic():
        holding_files = HoldingFiles(folder, find_parcel, origin, optional=True)
        holdings = holding_files.load()
        lease_files = LeaseFiles(folder, holding_files.holdings, origin, optional=True)
        leases = lease_files.load()
        warnings = doubts(holding_files.holdings.values(), lease_files.parties.values())
        if dry_run:
            transaction.set_rollback(True)
    return RegistryImportSummary(holdings, leases, tuple(warnings))


def doubts(holdings, parties) -> list[str]:
    """What the folder brought in that is allowed but often a slip in a spreadsheet, for a
    person to check: a home offered while a lease is in force on it (right during a resale,
    else a stale column that puts a family's home on the public map), members' shares adding
    up to less than the whole, and two parties or holdings whose names differ only in case
    or spacing (one household typed twice)."""
    from django.db.models import Sum

    from leases.models import GroundLease, PartyMember

    holdings, parties = list(holdings), list(parties)
    offered = [holding for holding in holdings if holding.available]
    leased: dict[int, str] = {}  # an offered holding's lease in force, one query for them all
    in_force = GroundLease.objects.filter(holding__in=offered).in_force().order_by("pk")
    for holding_id, reference in in_force.values_list("holding_id", "reference"):
        leased.setdefault(holding_id, reference)
    found = [
        f"holdings.csv: '{holding}' is offered (available) while lease {leased[holding.pk]} is "
        "in force on it: the public map lists it as available now; right during a resale, else "
        "set available to no on its page"
        for holding in offered if holding.pk in leased
    ]  # fmt: skip
    shares = dict(
        PartyMember.objects.filter(party__in=parties)
        .values("party").annotate(total=Sum("share")).values_list("party", "total")
    )  # fmt: skip
    found.extend(
        f"party_members.csv: {party}'s members' shares add up to "
        f"{shares[party.pk].normalize():f}, not 1"
        for party in parties if party.pk in shares and shares[party.pk] < 1
    )  # fmt: skip
    found.extend(_same_names("parties.csv", "party", [(p.kind, p.name) for p in parties]))
    found.extend(_same_names("holdings.csv", "holding", [("", h.name) for h in holdings]))
    return found


def _same_names(file: str, what: str, names: list[tuple[str, str]]) -> list[str]:
    """Names that differ only in case or spacing ("1002 Rose St", "1002 ROSE ST")."""
    seen: dict[tuple[str, str], str] = {}
    found = []
    for kind, name in names:
        key = (kind, " ".join(name.lower().split()))
        if key in seen and seen[key] != name:
            found.append(f"{file}: {what} '{name}' and '{seen[key]}' differ only in case or "
                         "spacing: one typed twice?")  # fmt: skip
        seen.setdefault(key, name)
    return found


def _check_folder(folder: Path) -> None:
    """A folder holding at least one file of the format, and no file it does not know: a
    "leases (1).csv" or "holding.csv" would otherwise be left out without a word."""
    if not folder.is_dir():
        raise RegistryFileError(f"{folder}: not a folder (give the one that holds the CSV files)")
    known = {*TABLES, EASEMENTS.file, FORMULAS_FOLDER}
    present = {path.name for path in folder.iterdir() if not _ignored(path)}
    unknown = sorted(present - known)
    if unknown:
        raise RegistryFileError(
            f"{folder}: {', '.join(unknown)}: not a file of the registry's format; its files are "
            f"{', '.join([*TABLES, EASEMENTS.file])} and {FORMULAS_FOLDER}/ (rename the file, or "
            "move it out of the folder)"
        )
    if not present:
        raise RegistryFileError(
            f"{folder}: none of the registry's files ({', '.join(TABLES)}, ...); "
            "`clt import-registry --template DIR` writes them, empty"
        )


def _ignored(path: Path) -> bool:
    """Files a folder of spreadsheets carries beside the tables: notes, hidden files, the
    lock files of an open spreadsheet ("~$holdings.xlsx", ".~lock.holdings.csv#")."""
    name = path.name
    return name.startswith((".", "~$")) or name.lower().startswith("readme")


def registry_parcels(folder: Path, jurisdiction: str) -> ParcelFinder:
    """How the folder's APNs find the registry's parcels in `jurisdiction`: fetched in one
    query, each missing one refused naming the row and where it should have come from.

    A spreadsheet often writes an APN as the tax bill does not ("165142004" for the county's
    "165-142-004", or with spaces): an APN not found as written is found by its digits and
    letters (`maps.search.ApnKey`, on the index the map's search uses), when they name one
    parcel and one only."""
    from parcels.models import Parcel

    named = apns_named(folder)
    in_county = Parcel.objects.filter(jurisdiction=jurisdiction)
    parcels = {parcel.apn: parcel for parcel in in_county.filter(apn__in=named)}
    spelt_otherwise = _by_apn_key(in_county, named - parcels.keys())
    county_parcels = in_county.count() if named - parcels.keys() else 0

    def find(apn: str, where: str) -> Parcel:
        if apn in parcels:
            return parcels[apn]
        same_key = spelt_otherwise.get(apn_key(apn), [])
        current = [parcel for parcel in same_key if parcel.retired_on is None]
        if len(same_key) == 1 or len(current) == 1:
            return (current or same_key)[0]
        if same_key:
            raise RegistryFileError(
                f"{where}: APN '{apn}' could be any of "
                f"{', '.join(parcel.apn for parcel in same_key)}; write it as the county does"
            )
        if county_parcels:
            raise RegistryFileError(
                f"{where}: no parcel with APN '{apn}' among {jurisdiction}'s "
                f"{county_parcels:,} parcels; check it against the county's file (or give "
                "another county with -j)"
            )
        raise RegistryFileError(
            f"{where}: no parcel with APN '{apn}': {jurisdiction} has no parcels yet; import "
            "the county's parcels first (`clt import-parcels`), or give the county with -j"
        )

    return find


def _by_apn_key(parcels, apns: set[str]) -> dict[str, list]:
    """The parcels whose APN, without separators, is that of one of `apns`, by that key."""
    keys = {apn_key(apn) for apn in apns} - {""}
    found: dict[str, list] = {}
    if keys:
        for parcel in parcels.alias(key=ApnKey("apn")).filter(key__in=keys).order_by("apn"):
            found.setdefault(apn_key(parcel.apn), []).append(parcel)
    return found


def refuse_records_already_in(folder: Path) -> None:
    """Refuse a folder naming records the registry already has, by file, the first few of
    each named: importing twice would enter each household, holding and lease twice."""
    by_file = [_holdings_in(folder), _parties_in(folder), _leases_in(folder),
               _easements_in(folder), *_lease_records_in(folder)]  # fmt: skip
    total = sum(len(found) for found in by_file)
    if not total:
        return
    lines = []
    for found in by_file:
        lines.extend(f"  {line}" for line in found[:CONFLICTS_SHOWN])
        if len(found) > CONFLICTS_SHOWN:
            lines.append(f"  and {len(found) - CONFLICTS_SHOWN} more in the same file")
    raise RegistryFileError(
        f"{total} of the folder's records are already in the registry (or twice in the "
        "folder); this command brings records in once (edit those already in on the staff "
        "pages, and take their rows out of the folder):\n" + "\n".join(lines)
    )


def _parties_in(folder: Path) -> list[str]:
    from leases.models import Party

    rows = read_rows(folder, "parties.csv", optional=True)
    known = _named_alike(Party.objects.all(), [row["name"] for _, row in rows], kind=True)
    found = []
    for line, row in rows:
        same = known.get((row["kind"], row["name"].lower()))
        if same:
            found.append(f"parties.csv row {line}: {same.kind} '{same.name}' (party {same.pk})")
    return found


def _holdings_in(folder: Path) -> list[str]:
    from parcels.models import Holding

    rows = read_rows(folder, "holdings.csv", optional=True)
    known = _named_alike(Holding.objects.all(), [row["name"] for _, row in rows])
    return [f"holdings.csv row {line}: holding '{same.name}' (holding {same.pk})"
            for line, row in rows if (same := known.get(row["name"].lower()))]  # fmt: skip


def _easements_in(folder: Path) -> list[str]:
    from parcels.models import ConservationEasement

    features = read_features(folder, EASEMENTS, optional=True)
    names = [row["name"] for _, row, _ in features]
    known = _named_alike(ConservationEasement.objects.all(), names)
    return [f"easements.geojson feature {number}: easement '{same.name}'"
            for number, row, _ in features if (same := known.get(row["name"].lower()))]  # fmt: skip


def _named_alike(records, names: list[str], *, kind: bool = False) -> dict:
    """The records named as one of `names` but for case, in one query: by lower-cased name, or
    by (kind, lower-cased name); the first by id where several are."""
    folded = records.annotate(folded=Lower("name")).filter(folded__in={n.lower() for n in names})
    known: dict = {}
    for record in folded.order_by("pk"):
        known.setdefault((record.kind, record.folded) if kind else record.folded, record)
    return known


def _leases_in(folder: Path) -> list[str]:
    from leases.models import GroundLease

    rows = read_rows(folder, "leases.csv", optional=True)
    references = [row["reference"] for _, row in rows]
    known = set(
        GroundLease.objects.filter(reference__in=references).values_list("reference", flat=True)
    )
    return [f"leases.csv row {line}: lease {row['reference']}"
            for line, row in rows if row["reference"] in known]  # fmt: skip


# A later folder adds records to leases already in: the same record twice is refused. Each
# file's record is the same when these columns are (the model's fields of the same names).
SAME_LEASE_RECORD = {
    "fee_changes.csv": ("leases.LeaseFeeChange", ("effective_on",)),
    "appraisals.csv": ("leases.Appraisal", ("on", "purpose")),
    "capital_improvements.csv": ("leases.CapitalImprovement", ("description", "approved_on")),
    "repairs.csv": ("leases.RepairDeduction", ("description", "assessed_on")),
    "monitoring.csv": ("leases.MonitoringEvent", ("type", "on")),
    "resales.csv": ("leases.Resale", ("contract_on",)),
}


def _lease_records_in(folder: Path) -> list[list[str]]:
    """Rows adding to a lease a record it already has, in the registry or in a row above: the
    records of the leases a file names, one query per file."""
    from django.apps import apps

    found = []
    for file, (model, columns) in SAME_LEASE_RECORD.items():
        rows = read_rows(folder, file, optional=True)
        on_record = {
            tuple(map(str, values))  # dates as the files write them, YYYY-MM-DD
            for values in apps.get_model(model).objects.filter(
                lease__reference__in={row["lease"] for _, row in rows}
            ).values_list("lease__reference", *columns)
        } if rows else set()  # fmt: skip
        in_file = []
        seen: dict[tuple, int] = {}  # the same record twice in the file: its first row
        for line, row in rows:
            key = (row["lease"], *(row[c] for c in columns))
            named = f"{file} row {line}: lease {', '.join(key)}"
            if key in seen:
                in_file.append(f"{named} (as row {seen[key]})")
            elif key in on_record:
                in_file.append(named)
            seen.setdefault(key, line)
        found.append(in_file)
    return found


# --- the template --------------------------------------------------------------------------------


def write_template(folder: Path) -> list[Path]:
    """Write each CSV file of the format with its header and no rows, and a README listing
    every column (what it holds, and the values it takes), into `folder` (made if need be; an
    existing file is never replaced)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in (*TABLES, EASEMENTS.file, "README.txt")]
    existing = [path.name for path in paths if path.exists()]
    if existing:
        raise RegistryFileError(
            f"{folder}: {', '.join(existing)} already there; give a new or empty folder"
        )
    for name, table in TABLES.items():
        (folder / name).write_text(",".join(table.columns) + "\n", encoding="utf-8")
    (folder / EASEMENTS.file).write_text(
        '{"type": "FeatureCollection", "features": []}\n', encoding="utf-8"
    )
    (folder / FORMULAS_FOLDER).mkdir(exist_ok=True)
    (folder / "README.txt").write_text(template_readme(), encoding="utf-8")
    return paths


def template_readme() -> str:
    parts = [
        "The registry's import format (clt import-registry FOLDER)\n",
        "Fill in the tables you have, one row per record, and leave out or empty the rest.",
        "Save each as CSV (UTF-8). Dates are YYYY-MM-DD; amounts are dollars (12500.00 or",
        "$12,500.00); yes/no columns take yes or no. Required columns are marked *.",
        "Rows name each other by key: a party's key, a holding's name, a lease's reference.",
        "Holdings name their parcels by APN: import the county's parcels first.",
        "Resale formulas are JSON files in formulas/ (docs/resale-formulas.md); a lease names",
        "one by its file name without .json. Conservation easements are a GeoJSON file,",
        "easements.geojson (longitude/latitude), one feature per easement.",
        "A worked example of every file: fixtures/west_jackson/ in clt's source.\n",
    ]
    for table in (*TABLES.values(), EASEMENTS):
        parts.append(f"{table.file}: {table.about}")
        parts.extend(_column_lines(table))
        parts.append("")
    return "\n".join(parts)


def _column_lines(table: Table) -> list[str]:
    lines = []
    for column in table.columns:
        mark = "*" if column in table.required else " "
        about = table.required.get(column) or table.optional.get(column, "")
        values = ChoiceReader(table).listed.get(column)
        if values:
            about = ": ".join(filter(None, (about, f"one of {values}")))
        lines.append(f"  {mark} {column}" + (f" - {about}" if about else ""))
    return lines
