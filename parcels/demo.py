"""Load the demo West Jackson neighbourhood from `fixtures/west_jackson/`.

The files are plain data (GeoJSON and CSV, described in the folder's README); this module only
reads them into the registry, in one transaction, so a failed load leaves nothing behind. The
parcels are the demo's own (a trust's come from its county: `clt import-parcels`); the rest is in
the format a trust brings its records in with (`clt.registry_files`), read by the same code as
`clt import-registry`: the holdings here (`parcels.registry_import`), the parties, leases and
what hangs on them by `leases.demo`, in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import transaction

from clt.registry_files import Origin, RegistryFileError, multipolygon, parse_money
from parcels.models import AcquisitionEvent, Holding, Parcel
from parcels.registry_import import HoldingFiles

if TYPE_CHECKING:
    from leases.registry_import import LeaseFilesSummary

DEMO_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "west_jackson"
DEMO_JURISDICTION = "hinds-ms"


# A demo file is missing or malformed; the message names the file and row.
DemoDataError = RegistryFileError
# Trusted, unlike a trust's folder: see Origin.validate.
DEMO_HOLDINGS_ORIGIN = Origin(action="demo_load", source="demo", validate=False)


@dataclass(frozen=True)
class DemoSummary:
    parcels: int
    holdings: int
    improvements: int
    acquisition_events: int
    leases: LeaseFilesSummary | None = None
    overlays: int = 0

    def __str__(self) -> str:
        land = (
            f"{self.parcels} parcels, {self.holdings} holdings, {self.improvements} improvements, "
            f"{self.acquisition_events} acquisition events, {self.overlays} overlays"
        )
        return f"{land}; {self.leases}" if self.leases else land


def load_demo_neighbourhood(folder: Path = DEMO_DIR) -> DemoSummary:
    """Replace the registry's demo jurisdiction with the files in `folder`; all or nothing."""
    # leases.demo names this module's DemoDataError, so it is imported here, not above.
    from leases.demo import forget_demo_leases, load_demo_leases
    from parcels.demo_overlays import load_demo_overlays  # it names DemoDataError too

    with transaction.atomic():
        # Leases hold on to their holdings (PROTECT): an earlier demo's go first.
        forget_demo_leases(_previous_demo("parcels.geojson"))
        parcels = _load_parcels(folder / "parcels.geojson")
        holding_files = HoldingFiles(folder, _finder(parcels), DEMO_HOLDINGS_ORIGIN, optional=False)
        held = holding_files.load()
        leases = load_demo_leases(folder, holding_files.holdings)
        overlays = load_demo_overlays(folder / "overlays.geojson")
    return DemoSummary(
        len(parcels), held.holdings, held.improvements, held.acquisition_events, leases,
        overlays,
    )


def _finder(parcels: dict[str, Parcel]):
    """The demo's holdings find their parcels among those it just loaded."""

    def find(apn: str, where: str) -> Parcel:
        if apn not in parcels:
            raise DemoDataError(f"{where}: APN '{apn}' is not in parcels.geojson")
        return parcels[apn]

    return find


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
