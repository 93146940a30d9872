"""Load the demo West Jackson neighbourhood from `fixtures/west_jackson/`.

The files are plain data (GeoJSON and CSV, described in the folder's README); this module only
reads them into the registry, in one transaction, so a failed load leaves nothing behind. The
parcels and holdings are read here; the parties, leases and what hangs on them by
`leases.demo`, in the same transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction

from parcels.models import (
    AcquisitionEvent,
    Holding,
    HoldingParcel,
    Improvement,
    Parcel,
)

if TYPE_CHECKING:
    from leases.demo import LeaseDemoSummary

DEMO_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "west_jackson"
DEMO_JURISDICTION = "hinds-ms"


class DemoDataError(ValueError):
    """A demo file is missing or malformed; the message names the file and row."""


@dataclass(frozen=True)
class DemoSummary:
    parcels: int
    holdings: int
    improvements: int
    acquisition_events: int
    leases: LeaseDemoSummary | None = None

    def __str__(self) -> str:
        land = (
            f"{self.parcels} parcels, {self.holdings} holdings, {self.improvements} improvements, "
            f"{self.acquisition_events} acquisition events"
        )
        return f"{land}; {self.leases}" if self.leases else land


def load_demo_neighbourhood(folder: Path = DEMO_DIR) -> DemoSummary:
    """Replace the registry's demo jurisdiction with the files in `folder`; all or nothing."""
    # leases.demo reads its files with this module's helpers, so it is imported here, not above.
    from leases.demo import forget_demo_leases, load_demo_leases

    with transaction.atomic():
        # Leases hold on to their holdings (PROTECT): an earlier demo's go first.
        forget_demo_leases(_previous_demo("parcels.geojson"))
        parcels = _load_parcels(folder / "parcels.geojson")
        holdings = _load_holdings(folder / "holdings.csv", parcels)
        improvements = _load_improvements(folder / "improvements.csv", holdings)
        events = _load_acquisitions(folder / "acquisitions.csv", parcels, holdings)
        leases = load_demo_leases(folder, holdings)
    return DemoSummary(len(parcels), len(holdings), improvements, events, leases)


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """A demo CSV's rows with their line numbers (the header is line 1), for error messages."""
    if not path.exists():
        raise DemoDataError(f"{path}: file not found")
    with path.open(newline="", encoding="utf-8") as f:
        return list(enumerate(csv.DictReader(f), start=2))  # row 1 is the header


def parse_money(value: str, where: str) -> Decimal | None:
    """A dollar amount from a demo file: exact, never negative; blank is None."""
    if value in ("", None):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise DemoDataError(f"{where}: '{value}' is not an amount of money") from exc
    if amount < 0:
        raise DemoDataError(f"{where}: '{value}' is negative")
    return amount


def multipolygon(geometry: dict, where: str) -> MultiPolygon:
    """A demo file's polygon or multipolygon (EPSG:4326) as a MultiPolygon, refused with
    `where` named if it is empty or invalid."""
    geom = GEOSGeometry(json.dumps(geometry), srid=4326)
    if geom.geom_type == "Polygon":
        geom = MultiPolygon(geom, srid=4326)
    if geom.geom_type != "MultiPolygon" or geom.empty or not geom.valid:
        raise DemoDataError(f"{where}: not a valid, non-empty polygon ({geom.valid_reason})")
    return geom


def _load_parcels(path: Path) -> dict[str, Parcel]:
    if not path.exists():
        raise DemoDataError(f"{path}: file not found")
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    _forget_previous_demo(path.name)
    parcels = []
    for number, feature in enumerate(features, start=1):
        props = feature["properties"]
        where = f"{path.name} feature {number} (APN {props.get('apn')})"
        parcels.append(
            Parcel(
                jurisdiction=DEMO_JURISDICTION,
                apn=props["apn"],
                geom=multipolygon(feature["geometry"], where),
                address=props.get("address", ""),
                owner_of_record=props.get("owner_of_record", ""),
                land_use=props.get("land_use", ""),
                zoning=props.get("zoning", ""),
                assessed_land=parse_money(str(props.get("assessed_land", "")), where),
                assessed_improvement=parse_money(str(props.get("assessed_improvement", "")), where),
                vacancy_status=props.get("vacancy_status", "unknown"),
                vacancy_source="county land use (demo)",
                tax_status=props.get("tax_status", "current"),
                source_srid=4326,
                source_file=path.name,
            )
        )
    Parcel.objects.bulk_create(parcels)
    return {p.apn: p for p in Parcel.objects.filter(jurisdiction=DEMO_JURISDICTION)}


def _previous_demo(source_file: str):
    """The parcels an earlier load of the demo wrote."""
    return Parcel.objects.filter(jurisdiction=DEMO_JURISDICTION, source_file=source_file)


def _forget_previous_demo(source_file: str) -> None:
    """Remove an earlier load of the demo (an explicit `load-demo --force`), children first."""
    demo = _previous_demo(source_file)
    AcquisitionEvent.objects.filter(parcel__in=demo).delete()
    Holding.objects.filter(parcels__in=demo).delete()  # cascades to memberships, improvements
    demo.delete()


def parse_date(value: str, where: str) -> dt.date:
    """An ISO date from a demo file; `where` names the file, row and column in the error."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise DemoDataError(f"{where}: '{value}' is not a date (YYYY-MM-DD)") from exc


def _load_holdings(path: Path, parcels: dict[str, Parcel]) -> dict[str, Holding]:
    holdings: dict[str, Holding] = {}
    for line, row in read_rows(path):
        where = f"{path.name} row {line}"
        acquired_on = parse_date(row["acquired_on"], f"{where} acquired_on")
        holding = Holding.objects.create(
            name=row["name"],
            current_use=row["current_use"],
            acquired_via=row["acquired_via"],
            acquired_on=acquired_on,
            price=parse_money(row["price"], f"{where} price") or Decimal("0"),
            deed_reference=row["deed_reference"],
            available=row["available"].strip().lower() == "true",
        )
        for apn in row["apns"].split():
            if apn not in parcels:
                raise DemoDataError(f"{where}: APN '{apn}' is not in parcels.geojson")
            HoldingParcel.objects.create(
                holding=holding, parcel=parcels[apn], began_on=acquired_on
            )
        holdings[holding.name] = holding
    return holdings


def _load_improvements(path: Path, holdings: dict[str, Holding]) -> int:
    rows = read_rows(path)
    for line, row in rows:
        if row["holding"] not in holdings:
            raise DemoDataError(f"{path.name} row {line}: no holding named '{row['holding']}'")
        Improvement.objects.create(
            holding=holdings[row["holding"]],
            kind=row["kind"],
            description=row["description"],
            year_built=int(row["year_built"]) if row["year_built"] else None,
            dwelling_units=int(row["dwelling_units"] or 0),
        )
    return len(rows)


def _load_acquisitions(
    path: Path, parcels: dict[str, Parcel], holdings: dict[str, Holding]
) -> int:
    rows = read_rows(path)
    for line, row in rows:
        where = f"{path.name} row {line}"
        if row["apn"] not in parcels:
            raise DemoDataError(f"{where}: APN '{row['apn']}' is not in parcels.geojson")
        AcquisitionEvent.objects.create(
            parcel=parcels[row["apn"]],
            stage=row["stage"],
            on=parse_date(row["on"], f"{where} on"),
            reason=row.get("reason", ""),
        )
    return len(rows)
