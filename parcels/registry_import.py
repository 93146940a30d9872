"""Read a registry folder's holdings, their improvements and the acquisition pipeline.

The files and their columns are `clt.registry_files.TABLES` (holdings.csv, improvements.csv,
acquisitions.csv). They name parcels by APN: the parcels themselves come from elsewhere (the
county's file through `clt import-parcels`, or the demo's parcels.geojson), so the reader is
given how to find a parcel (`ParcelFinder`) and says, when it cannot, where the parcel should
have come from. Both `clt import-registry` and the demo (`parcels.demo`) read them, inside the
caller's transaction; each record is validated as the staff pages validate it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from clt.registry_files import (
    FolderFiles,
    Origin,
    RegistryFileError,
    keys,
    lookup,
    parse_date,
    parse_flag,
    parse_money,
    parse_optional_date,
    parse_whole,
    read_rows,
)
from parcels.models import AcquisitionEvent, Holding, HoldingParcel, Improvement, Parcel

# The parcel with this APN, or a RegistryFileError naming `where` and where it should be.
ParcelFinder = Callable[[str, str], Parcel]
# A membership's fields as the holdings file writes them: its parcels are the `apns` cell.
MEMBERSHIP_COLUMNS = {"parcel": "apns", "began_on": "apns", "holding": "apns"}


@dataclass(frozen=True)
class HoldingFilesSummary:
    holdings: int
    improvements: int
    acquisition_events: int


class HoldingFiles(FolderFiles):
    """The holding files of one folder, on parcels `find_parcel` finds, written as `origin`."""

    def __init__(
        self, folder: Path, find_parcel: ParcelFinder, origin: Origin, *, optional: bool
    ) -> None:
        super().__init__(folder, origin, optional=optional)
        self.find_parcel = find_parcel
        self.holdings: dict[str, Holding] = {}

    def load(self) -> HoldingFilesSummary:
        self.holdings = self._holdings()
        summary = HoldingFilesSummary(
            holdings=len(self.holdings),
            improvements=self._improvements(),
            acquisition_events=self._acquisitions(),
        )
        self.problems.refuse()  # the last file's
        return summary

    def _holdings(self) -> dict[str, Holding]:
        holdings: dict[str, Holding] = {}
        for line, row in self.rows("holdings.csv"):
            with self.problems:
                where = f"holdings.csv row {line}"
                if row["name"] in holdings:
                    raise RegistryFileError(f"{where}: holding '{row['name']}' appears twice")
                apns = keys(row["apns"])
                if not apns:
                    raise RegistryFileError(
                        f"{where} apns: no APN; name the holding's parcels, separated by spaces"
                    )
                holding = Holding(
                    name=row["name"],
                    current_use=row["current_use"],
                    acquired_via=row["acquired_via"],
                    acquired_on=row.read("acquired_on", parse_date, where),
                    price=row.read("price", parse_money, where) or Decimal("0"),
                    deed_reference=row.get("deed_reference", ""),
                    available=row.read("available", parse_flag, where),
                    ended_on=row.read("ended_on", parse_optional_date, where),
                    notes=row.get("notes", ""),
                )
                self.origin.save(holding, where)
                for apn in apns:
                    membership = HoldingParcel(
                        holding=holding,
                        parcel=self._parcel(apn, apns, f"{where} apns"),
                        began_on=holding.acquired_on,
                        ended_on=holding.ended_on,
                    )
                    self.origin.save(membership, f"{where} (APN {apn})", MEMBERSHIP_COLUMNS)
                holdings[holding.name] = holding
        return holdings

    def _parcel(self, apn: str, apns: list[str], where: str) -> Parcel:
        """One of a holding's parcels; when it is not found and the cell listed several, say
        that a space separates APNs ("164 103 001" is three)."""
        try:
            return self.find_parcel(apn, where)
        except RegistryFileError as exc:
            if len(apns) < 2:
                raise
            listed = ", ".join(f"'{each}'" for each in apns)
            raise RegistryFileError(
                f"{exc} (the cell lists {len(apns)} APNs, {listed}: spaces separate APNs, so "
                "write an APN with its dashes, as the county does)"
            ) from None

    def _improvements(self) -> int:
        rows = self.rows("improvements.csv")
        for line, row in rows:
            with self.problems:
                where = f"improvements.csv row {line}"
                improvement = Improvement(
                    holding=lookup(self.holdings, row["holding"], "holding", where),
                    kind=row["kind"],
                    description=row["description"],
                    year_built=row.read("year_built", parse_whole, where),
                    dwelling_units=row.read("dwelling_units", parse_whole, where)
                    or 0,
                )
                self.origin.save(improvement, where)
        return len(rows)

    def _acquisitions(self) -> int:
        rows = self.rows("acquisitions.csv")
        for line, row in rows:
            with self.problems:
                where = f"acquisitions.csv row {line}"
                holding = row.get("holding", "")
                event = AcquisitionEvent(
                    parcel=self.find_parcel(row["apn"], f"{where} apn"),
                    stage=row["stage"],
                    on=row.read("on", parse_date, where),
                    reason=row.get("reason", ""),
                    holding=lookup(self.holdings, holding, "holding", where) if holding else None,
                )
                self.origin.save(event, where)
        return len(rows)


def apns_named(folder: Path) -> set[str]:
    """Every APN the folder's holdings and acquisitions name (to fetch them in one query)."""
    named = set()
    for _, row in read_rows(folder, "holdings.csv", optional=True):
        named.update(keys(row["apns"]))
    for _, row in read_rows(folder, "acquisitions.csv", optional=True):
        named.add(row["apn"])
    return named
