"""Load the demo neighbourhood's parties, ground leases and their records from fixtures/.

The files (`fixtures/west_jackson/`: parties.csv, party_members.csv, leases.csv, formulas/,
fee_changes.csv, appraisals.csv, capital_improvements.csv, repairs.csv, monitoring.csv,
resales.csv, easements.geojson, easement_visits.csv; and the index tables in `fixtures/indexes/`)
are plain data, described in the folder's README. They are read inside the demo's one
transaction (`parcels.demo`); the conservation easements here, not with the parcels, because
their holders and grantors are parties.

Every write goes through the named action that staff would use (`lease_create`, `fee_change`,
`monitoring_record`, `monitoring_resolve`, `resale_record`, `lease_terminate`), so the history
of each record says which action wrote it and, under `source`, which demo file and row. Records
with no named action yet (parties, appraisals, improvements, repairs) are written under the
action `demo_load`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pghistory
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet

from clt.clitools import describe_validation_error
from clt.history import recorded
from leases.actions import (
    fee_change,
    lease_create,
    lease_terminate,
    monitoring_record,
    monitoring_resolve,
    resale_record,
)
from leases.indexes import IndexFileError, load_index_folder
from leases.models import (
    ENDED_STATUSES,
    Appraisal,
    CapitalImprovement,
    GroundLease,
    LeaseStatus,
    Party,
    PartyMember,
    RepairDeduction,
    Resale,
)
from parcels.demo import DemoDataError, multipolygon, parse_date, parse_money, read_rows
from parcels.models import ConservationEasement, EasementMonitoringVisit, Holding

DEMO_ACTION = "demo_load"


@dataclass(frozen=True)
class LeaseDemoSummary:
    parties: int
    leases: int
    fee_changes: int
    monitoring_events: int
    appraisals: int
    capital_improvements: int
    repairs: int
    resales: int
    index_series: int
    easements: int = 0
    easement_visits: int = 0

    def __str__(self) -> str:
        return (
            f"{self.parties} parties, {self.leases} leases, {self.fee_changes} fee changes, "
            f"{self.monitoring_events} monitoring events, {self.appraisals} appraisals, "
            f"{self.capital_improvements} capital improvements, {self.repairs} repairs, "
            f"{self.resales} resales, {self.index_series} index series, "
            f"{self.easements} conservation easements ({self.easement_visits} visits)"
        )


def load_demo_leases(folder: Path, holdings: dict[str, Holding]) -> LeaseDemoSummary:
    """Load the lease files in `folder` onto the demo's `holdings` (by name); the caller holds
    the transaction, so a bad row leaves nothing behind."""
    try:
        index_series = len(load_index_folder())
    except IndexFileError as exc:
        raise DemoDataError(f"fixtures/indexes/{exc}") from exc
    offered = [holding for holding in holdings.values() if holding.available]
    parties = _load_parties(folder / "parties.csv")
    _load_members(folder / "party_members.csv", parties)
    formulas = _load_formulas(folder / "formulas")
    leases, endings = _load_leases(folder / "leases.csv", holdings, parties, formulas)
    summary = LeaseDemoSummary(
        parties=len(parties),
        leases=len(leases),
        fee_changes=_load_fee_changes(folder / "fee_changes.csv", leases),
        appraisals=_load_appraisals(folder / "appraisals.csv", leases),
        capital_improvements=_load_improvements(folder / "capital_improvements.csv", leases),
        repairs=_load_repairs(folder / "repairs.csv", leases),
        monitoring_events=_load_monitoring(folder / "monitoring.csv", leases),
        resales=_load_resales(folder / "resales.csv", leases, parties),
        index_series=index_series,
        **_load_easements(folder, parties),
    )
    for where, lease, ended_on, reason in endings:  # last: a lease ends after its resale
        with _row(where):
            lease_terminate(lease=lease, on=ended_on, reason=reason)
    _list_again(offered)
    return summary


def _list_again(offered: list[Holding]) -> None:
    """Offer again the homes holdings.csv lists as available today that a lease replayed here
    took off the list when it was signed (`lease_create`): that lease has since ended, and the
    trust offered the home again."""
    with recorded(DEMO_ACTION), pghistory.context(source="demo holdings.csv available"):
        for holding in offered:
            if not holding.available:
                holding.available = True
                holding.save(update_fields=["available"])


def forget_demo_leases(demo_parcels: QuerySet) -> None:
    """Remove the leases on the demo's holdings, with their records and their parties (an
    explicit `load-demo --force`); leases elsewhere and parties they share are kept."""
    easement_parties = _forget_demo_easements(demo_parcels)
    lease_ids = list(
        GroundLease.objects.filter(holding__parcels__in=demo_parcels)
        .values_list("pk", flat=True)
        .distinct()
    )
    if not lease_ids:
        return
    leases = GroundLease.objects.filter(pk__in=lease_ids)
    resales = Resale.objects.filter(lease__in=leases)
    party_ids = {
        *easement_parties,
        *leases.values_list("lessees", flat=True),
        *resales.values_list("seller", flat=True),
        *resales.values_list("buyer", flat=True),
    }
    with recorded("demo_forget"):
        resales.delete()
        leases.delete()  # cascades to fees, monitoring, appraisals, improvements, repairs
        Party.objects.filter(pk__in=party_ids).filter(
            Q(leases__isnull=True), Q(sales__isnull=True), Q(purchases__isnull=True),
            Q(easements_held__isnull=True), Q(easements_granted__isnull=True),
        ).delete()


def _forget_demo_easements(demo_parcels: QuerySet) -> set[int]:
    """Remove the conservation easements over the demo's parcels (with their visits); the ids
    of their holders and grantors, for `forget_demo_leases` to remove with the others."""
    over_demo = Exists(demo_parcels.filter(geom__intersects=OuterRef("geom")))
    easements = ConservationEasement.objects.filter(over_demo)
    parties = {
        *easements.values_list("holder", flat=True),
        *easements.exclude(grantor=None).values_list("grantor", flat=True),
    }
    with recorded("demo_forget"):
        easements.delete()
    return parties


def _save(record, where: str) -> None:
    """Validate and save one record of the demo, its history tagged with the file and row."""
    with _row(where), recorded(DEMO_ACTION):
        record.full_clean()
        record.save()


# --- one file each -------------------------------------------------------------------------------


@contextlib.contextmanager
def _row(where: str) -> Iterator[None]:
    """Tag the history written inside with the demo file and row; turn a refused row into a
    DemoDataError naming them."""
    try:
        with pghistory.context(source=f"demo {where}"):
            yield
    except ValidationError as exc:
        raise DemoDataError(f"{where}: {describe_validation_error(exc)}") from exc


def _load_parties(path: Path) -> dict[str, Party]:
    parties: dict[str, Party] = {}
    for line, row in read_rows(path):
        where = f"{path.name} row {line}"
        if row["key"] in parties:
            raise DemoDataError(f"{where}: party key '{row['key']}' appears twice")
        party = Party(
            kind=row["kind"],
            name=row["name"],
            email=row["email"],
            phone=row["phone"],
            mailing_address=row["mailing_address"],
            household_size=_whole(row["household_size"], f"{where} household_size"),
            annual_income=parse_money(row["annual_income"], f"{where} annual_income"),
            notes=row["notes"],
        )
        _save(party, where)
        parties[row["key"]] = party
    return parties


def _load_members(path: Path, parties: dict[str, Party]) -> int:
    rows = read_rows(path)
    for line, row in rows:
        where = f"{path.name} row {line}"
        member = PartyMember(
            party=_lookup(parties, row["party"], "party", where),
            name=row["name"],
            share=_decimal(row["share"], f"{where} share"),
            is_contact=_flag(row["is_contact"]),
        )
        _save(member, where)
    return len(rows)


def _load_formulas(folder: Path) -> dict[str, dict]:
    """Each formula's JSON form, by file name without `.json`."""
    if not folder.is_dir():
        raise DemoDataError(f"{folder}: folder not found")
    formulas = {}
    for path in sorted(folder.glob("*.json")):
        try:
            formulas[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DemoDataError(f"formulas/{path.name}: not valid JSON ({exc})") from exc
    return formulas


def _load_leases(
    path: Path,
    holdings: dict[str, Holding],
    parties: dict[str, Party],
    formulas: dict[str, dict],
) -> tuple[dict[str, GroundLease], list[tuple]]:
    """The leases, by reference, and the endings to record once everything else is in."""
    leases: dict[str, GroundLease] = {}
    endings = []
    for line, row in read_rows(path):
        where = f"{path.name} row {line}"
        status = row["status"]
        ended = status in ENDED_STATUSES
        with _row(where):
            lease = lease_create(
                lessees=[_lookup(parties, key, "party", where) for key in row["lessees"].split()],
                reference=row["reference"],
                holding=_lookup(holdings, row["holding"], "holding", where),
                starts_on=parse_date(row["starts_on"], f"{where} starts_on"),
                term_years=_whole(row["term_years"], f"{where} term_years"),
                permitted_use=row["permitted_use"],
                occupancy_months_per_year=_whole(
                    row["occupancy_months_per_year"], f"{where} occupancy_months_per_year"
                ),
                fee_monthly=parse_money(row["fee_monthly"], f"{where} fee_monthly"),
                arrears=parse_money(row["arrears"], f"{where} arrears") or Decimal("0"),
                purchase_price=parse_money(row["purchase_price"], f"{where} purchase_price"),
                purchase_date=parse_date(row["purchase_date"], f"{where} purchase_date"),
                resale_formula=_lookup(formulas, row["formula"], "formula", where),
                status=LeaseStatus.ACTIVE if ended else status,
                transfer_on_death=row["transfer_on_death"],
                notes=row["notes"],
            )
        if ended:
            ended_on = parse_date(row["ended_on"], f"{where} ended_on")
            endings.append((where, lease, ended_on, row["end_reason"]))
        leases[lease.reference] = lease
    return leases, endings


def _load_fee_changes(path: Path, leases: dict[str, GroundLease]) -> int:
    rows = read_rows(path)
    for line, row in rows:
        where = f"{path.name} row {line}"
        with _row(where):
            fee_change(
                lease=_lookup(leases, row["lease"], "lease", where),
                fee_monthly=parse_money(row["fee_monthly"], f"{where} fee_monthly"),
                effective_on=parse_date(row["effective_on"], f"{where} effective_on"),
                reason=row["reason"],
            )
    return len(rows)


def _load_appraisals(path: Path, leases: dict[str, GroundLease]) -> int:
    rows = read_rows(path)
    for line, row in rows:
        where = f"{path.name} row {line}"
        appraisal = Appraisal(
            lease=_lookup(leases, row["lease"], "lease", where),
            on=parse_date(row["on"], f"{where} on"),
            value=parse_money(row["value"], f"{where} value"),
            purpose=row["purpose"],
            appraiser=row["appraiser"],
        )
        _save(appraisal, where)
    return len(rows)


def _load_improvements(path: Path, leases: dict[str, GroundLease]) -> int:
    rows = read_rows(path)
    for line, row in rows:
        where = f"{path.name} row {line}"
        improvement = CapitalImprovement(
            lease=_lookup(leases, row["lease"], "lease", where),
            description=row["description"],
            approved_on=parse_date(row["approved_on"], f"{where} approved_on"),
            completed_on=parse_date(row["completed_on"], f"{where} completed_on")
            if row["completed_on"]
            else None,
            cost=parse_money(row["cost"], f"{where} cost"),
            credit=parse_money(row["credit"], f"{where} credit"),
        )
        _save(improvement, where)
    return len(rows)


def _load_repairs(path: Path, leases: dict[str, GroundLease]) -> int:
    rows = read_rows(path)
    for line, row in rows:
        where = f"{path.name} row {line}"
        repair = RepairDeduction(
            lease=_lookup(leases, row["lease"], "lease", where),
            description=row["description"],
            assessed_on=parse_date(row["assessed_on"], f"{where} assessed_on"),
            amount=parse_money(row["amount"], f"{where} amount"),
        )
        _save(repair, where)
    return len(rows)


def _load_monitoring(path: Path, leases: dict[str, GroundLease]) -> int:
    rows = read_rows(path)
    for line, row in rows:
        where = f"{path.name} row {line}"
        lease = _lookup(leases, row["lease"], "lease", where)
        with _row(where):
            event = monitoring_record(
                lease=lease, type=row["type"], on=parse_date(row["on"], f"{where} on"),
                notes=row["notes"],
            )  # fmt: skip
        if row["resolved_on"]:
            with _row(where):
                monitoring_resolve(
                    event=event,
                    on=parse_date(row["resolved_on"], f"{where} resolved_on"),
                    notes=row["resolution"],
                )
    return len(rows)


def _load_resales(path: Path, leases: dict[str, GroundLease], parties: dict[str, Party]) -> int:
    rows = read_rows(path)
    for line, row in rows:
        where = f"{path.name} row {line}"
        with _row(where):
            resale_record(
                lease=_lookup(leases, row["lease"], "lease", where),
                seller=_lookup(parties, row["seller"], "party", where),
                buyer=_lookup(parties, row["buyer"], "party", where),
                contract_on=parse_date(row["contract_on"], f"{where} contract_on"),
                closed_on=parse_date(row["closed_on"], f"{where} closed_on")
                if row["closed_on"]
                else None,
                formula_price=parse_money(row["formula_price"], f"{where} formula_price"),
                agreed_price=parse_money(row["agreed_price"], f"{where} agreed_price"),
                appraised_value=parse_money(row["appraised_value"], f"{where} appraised_value"),
                buyer_income_pct_ami=_decimal(
                    row["buyer_income_pct_ami"], f"{where} buyer_income_pct_ami"
                ),
            )
    return len(rows)


# --- cells ---------------------------------------------------------------------------------------


def _load_easements(folder: Path, parties: dict[str, Party]) -> dict[str, int]:
    """The conservation easements (easements.geojson) and their monitoring visits
    (easement_visits.csv): counts for the summary."""
    path = folder / "easements.geojson"
    if not path.exists():
        raise DemoDataError(f"{path}: file not found")
    easements: dict[str, ConservationEasement] = {}
    for number, feature in enumerate(json.loads(path.read_text("utf-8"))["features"], 1):
        row = feature["properties"]
        where = f"{path.name} feature {number} ({row.get('key')})"
        easement = ConservationEasement(
            name=row["name"],
            purpose=row["purpose"],
            public_access=row["public_access"],
            holder=_lookup(parties, row["holder"], "party", where),
            grantor=_lookup(parties, row["grantor"], "party", where) if row["grantor"] else None,
            began_on=parse_date(row["began_on"], f"{where} began_on"),
            ended_on=parse_date(row["ended_on"], f"{where} ended_on") if row["ended_on"] else None,
            recording_reference=row["recording_reference"],
            terms=row["terms"],
            baseline_on=parse_date(row["baseline_on"], f"{where} baseline_on"),
            geom=multipolygon(feature["geometry"], where),
        )
        _save(easement, where)
        easements[row["key"]] = easement
    return {
        "easements": len(easements),
        "easement_visits": _load_easement_visits(folder / "easement_visits.csv", easements),
    }


def _load_easement_visits(path: Path, easements: dict[str, ConservationEasement]) -> int:
    rows = read_rows(path)
    for line, row in rows:
        where = f"{path.name} row {line}"
        resolved = row["resolved_on"]
        visit = EasementMonitoringVisit(
            easement=_lookup(easements, row["easement"], "easement", where),
            on=parse_date(row["on"], f"{where} on"),
            monitor=row["monitor"],
            finding=row["finding"],
            notes=row["notes"],
            resolved_on=parse_date(resolved, f"{where} resolved_on") if resolved else None,
        )
        _save(visit, where)
    return len(rows)


def _lookup(known: dict, key: str, what: str, where: str):
    if key not in known:
        raise DemoDataError(f"{where}: no {what} '{key}'")
    return known[key]


def _whole(value: str, where: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise DemoDataError(f"{where}: '{value}' is not a whole number") from None


def _decimal(value: str, where: str) -> Decimal | None:
    if not value:
        return None
    try:
        return Decimal(value)
    except ArithmeticError:
        raise DemoDataError(f"{where}: '{value}' is not a number") from None


def _flag(value: str) -> bool:
    return value.strip().lower() == "true"
