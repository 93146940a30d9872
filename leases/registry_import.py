"""Read a registry folder's parties, ground leases and what hangs on them into the registry.

The files and their columns are `clt.registry_files.TABLES`: parties.csv, party_members.csv,
leases.csv with formulas/*.json, fee_changes.csv, appraisals.csv, capital_improvements.csv,
repairs.csv, monitoring.csv, resales.csv, and the conservation easements (easements.geojson,
easement_visits.csv), read here because their holders and grantors are parties. Both
`clt import-registry` and the demo (`leases.demo`) read them, inside the caller's transaction.

Every write goes through the named action staff would use (`lease_create`, `fee_change`,
`monitoring_record`, `monitoring_resolve`, `resale_record`), so each record's
history says which action wrote it and, under `source`, which file and row. Records with no named
action (parties, appraisals, improvements, repairs, easements) are written under the origin's
action (`registry_import`, `demo_load`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pghistory
from django.core.exceptions import ValidationError

from clt.dates import refuse_after_today
from clt.history import recorded
from clt.registry_files import (
    EASEMENTS,
    FORMULAS_FOLDER,
    FolderFiles,
    Origin,
    RegistryFileError,
    keys,
    lookup,
    multipolygon,
    parse_date,
    parse_decimal,
    parse_flag,
    parse_money,
    parse_optional_date,
    parse_whole,
)
from leases.actions import (
    check_closing_day,
    closing_date_error,
    closing_seller_error,
    contract_date_error,
    fee_change,
    lease_create,
    monitoring_record,
    monitoring_resolve,
    resale_record,
)
from leases.models import (
    ENDED_STATUSES,
    Appraisal,
    CapitalImprovement,
    GroundLease,
    LeaseStatus,
    Party,
    PartyKind,
    PartyMember,
    RepairDeduction,
    Resale,
)
from leases.pricing import NOT_ON_RECORD, max_resale_price
from leases.resale import FormulaError
from parcels.models import ConservationEasement, EasementMonitoringVisit, Holding


@dataclass(frozen=True)
class LeaseFilesSummary:
    parties: int
    leases: int
    fee_changes: int
    monitoring_events: int
    appraisals: int
    capital_improvements: int
    repairs: int
    resales: int
    index_series: int = 0  # the demo's index tables (a trust loads its own: `clt load-index`)
    easements: int = 0
    easement_visits: int = 0

    def __str__(self) -> str:
        indexes = f"{self.index_series} index series, " if self.index_series else ""
        return (
            f"{self.parties} parties, {self.leases} leases, {self.fee_changes} fee changes, "
            f"{self.monitoring_events} monitoring events, {self.appraisals} appraisals, "
            f"{self.capital_improvements} capital improvements, {self.repairs} repairs, "
            f"{self.resales} resales, {indexes}"
            f"{self.easements} conservation easements ({self.easement_visits} visits)"
        )


class LeaseFiles(FolderFiles):
    """The lease files of one folder, read onto `holdings` (by name), written as `origin`."""

    def __init__(
        self, folder: Path, holdings: dict[str, Holding], origin: Origin, *, optional: bool
    ) -> None:
        super().__init__(folder, origin, optional=optional)
        self.holdings = holdings
        self.parties: dict[str, Party] = {}
        self.leases: dict[str, GroundLease] = {}
        self.holdings_in_registry: dict[str, list[Holding]] = {}

    def load(self, index_series: int = 0) -> LeaseFilesSummary:
        offered = [holding for holding in self.holdings.values() if holding.available]
        self.parties = self._parties()
        self._members()
        formulas = self._formulas()
        self.leases = self._leases(formulas)
        leases_read = len(self.leases)  # before rows below add leases already in the registry
        summary = LeaseFilesSummary(
            parties=len(self.parties),
            leases=leases_read,
            fee_changes=self._fee_changes(),
            appraisals=self._appraisals(),
            capital_improvements=self._capital_improvements(),
            repairs=self._repairs(),
            monitoring_events=self._monitoring(),
            resales=self._resales(),
            index_series=index_series,
            **self._easements(),
        )
        self.problems.refuse()  # the last file's
        self._list_again(offered)
        return summary

    def party(self, key: str, where: str) -> Party:
        """The party a row names by its key in parties.csv (keys live only in the folder: a
        party already in the registry is named by no key)."""
        if key not in self.parties:
            raise RegistryFileError(
                f"{where}: no party '{key}' in parties.csv (a folder names parties by the keys "
                "of its own parties.csv; one already in the registry cannot be named)"
            )
        return self.parties[key]

    def lease(self, reference: str, where: str) -> GroundLease:
        """The lease a row names: one of the folder's, or one already in the registry (a later
        folder adds fee changes, appraisals or monitoring events to leases brought in before)."""
        if reference not in self.leases:
            known = GroundLease.objects.filter(reference=reference).first()
            if known is None:
                raise RegistryFileError(
                    f"{where}: no lease '{reference}' in leases.csv or in the registry"
                )
            self.leases[reference] = known
        return self.leases[reference]

    def holding(self, name: str, where: str) -> Holding:
        """The holding a row names: one of the folder's, or the one holding of that name
        already in the registry."""
        if name in self.holdings:
            return self.holdings[name]
        if name not in self.holdings_in_registry:  # asked once per name, not per row
            self.holdings_in_registry[name] = list(Holding.objects.filter(name=name)[:2])
        known = self.holdings_in_registry[name]
        if len(known) != 1:
            found = "none" if not known else "two or more"
            raise RegistryFileError(
                f"{where}: no holding '{name}' in holdings.csv, and {found} of that name in the "
                "registry"
            )
        return known[0]

    # --- one file each ---------------------------------------------------------------------------

    def _parties(self) -> dict[str, Party]:
        parties: dict[str, Party] = {}
        for line, row in self.rows("parties.csv"):
            with self.problems:
                where = f"parties.csv row {line}"
                if row["key"] in parties:
                    raise RegistryFileError(f"{where}: party key '{row['key']}' appears twice")
                party = Party(
                    kind=row["kind"],
                    name=row["name"],
                    email=row.get("email", ""),
                    phone=row.get("phone", ""),
                    mailing_address=row.get("mailing_address", ""),
                    household_size=row.read("household_size", parse_whole, where),
                    annual_income=row.read("annual_income", parse_money, where),
                    notes=row.get("notes", ""),
                )
                self.origin.save(party, where)
                parties[row["key"]] = party
        return parties

    def _members(self) -> int:
        rows = self.rows("party_members.csv")
        shares: dict[str, Decimal] = {}
        for line, row in rows:
            with self.problems:
                where = f"party_members.csv row {line}"
                share = row.read("share", parse_decimal, where)
                member = PartyMember(
                    party=self.party(row["party"], f"{where} party"),
                    name=row["name"],
                    is_contact=row.read("is_contact", parse_flag, where),
                    **_given(share=share),  # blank: the model's 1, the whole interest
                )
                self.origin.save(member, where)
                shares[row["party"]] = shares.get(row["party"], Decimal(0)) + member.share
                if shares[row["party"]] > 1:
                    raise RegistryFileError(
                        f"{where} share: {row['party']}'s members' shares add up to "
                        f"{shares[row['party']].normalize():f} by this row; each is a fraction of "
                        "the party's interest, so together they are at most 1 (two equal members "
                        "hold 0.5 each; a blank share is 1)"
                    )
        return len(rows)

    def _formulas(self) -> dict[str, dict]:
        """Each formula's JSON form, by file name without `.json`."""
        folder = self.folder / FORMULAS_FOLDER
        if not folder.is_dir():
            if self.optional:
                return {}
            raise RegistryFileError(f"{folder}: folder not found")
        formulas = {}
        for path in sorted(folder.glob("*.json")):
            try:
                formulas[path.stem] = json.loads(path.read_text(encoding="utf-8-sig"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise RegistryFileError(f"formulas/{path.name}: not valid JSON ({exc})") from exc
        return formulas

    def _leases(self, formulas: dict[str, dict]) -> dict[str, GroundLease]:
        """The leases, by reference, each as it stands today: an ended one is written with its
        status and end date, so the next lease on the same home, which starts after it ended,
        is not refused as overlapping it (the records after it in the folder, its fee changes
        and resales, are within its dates)."""
        leases: dict[str, GroundLease] = {}
        for line, row in self.rows("leases.csv"):
            with self.problems:
                where = f"leases.csv row {line}"
                if row["reference"] in leases:
                    raise RegistryFileError(f"{where}: lease '{row['reference']}' appears twice")
                status = row.get("status", "") or LeaseStatus.ACTIVE
                ended_on = row.read("ended_on", parse_optional_date, where)
                with self.origin.row(where):
                    if status in ENDED_STATUSES:
                        refuse_after_today(
                            "ended_on", ended_on,
                            "a lease is recorded as ended once it has ended (until then it is "
                            "active, and its end is recorded on the day)",
                        )  # fmt: skip
                    lease = lease_create(
                        lessees=[self.party(key, f"{where} lessees")
                                 for key in keys(row["lessees"])],
                        reference=row["reference"],
                        holding=self.holding(row["holding"], f"{where} holding"),
                        starts_on=row.read("starts_on", parse_date, where),
                        term_years=row.read("term_years", parse_whole, where),
                        permitted_use=row["permitted_use"],
                        fee_monthly=row.read("fee_monthly", parse_money, where),
                        purchase_price=row.read("purchase_price", parse_money, where),
                        purchase_date=row.read("purchase_date", parse_date, where),
                        resale_formula=self._formula(formulas, row["formula"], where),
                        status=status,
                        ended_on=ended_on,
                        end_reason=row.get("end_reason", ""),
                        notes=row.get("notes", ""),
                        **_given(
                            occupancy_months_per_year=parse_whole(
                                row.get("occupancy_months_per_year", ""),
                                f"{where} occupancy_months_per_year",
                            ),
                            arrears=row.read("arrears", parse_money, where),
                            transfer_on_death=row.get("transfer_on_death", ""),
                        ),
                    )  # fmt: skip
                leases[lease.reference] = lease
        return leases

    def _formula(self, formulas: dict[str, dict], name: str, where: str) -> dict:
        if name not in formulas:
            known = ", ".join(sorted(formulas)) or "none"
            raise RegistryFileError(
                f"{where} formula: no formula '{name}' (a file formulas/{name}.json; "
                f"the folder has: {known})"
            )
        return formulas[name]

    def _fee_changes(self) -> int:
        rows = self.rows("fee_changes.csv")
        for line, row in rows:
            with self.problems:
                where = f"fee_changes.csv row {line}"
                with self.origin.row(where):
                    fee_change(
                        lease=self.lease(row["lease"], f"{where} lease"),
                        fee_monthly=row.read("fee_monthly", parse_money, where),
                        effective_on=row.read("effective_on", parse_date, where),
                        reason=row.get("reason", ""),
                    )
        return len(rows)

    def _appraisals(self) -> int:
        rows = self.rows("appraisals.csv")
        for line, row in rows:
            with self.problems:
                where = f"appraisals.csv row {line}"
                appraisal = Appraisal(
                    lease=self.lease(row["lease"], f"{where} lease"),
                    on=row.read("on", parse_date, where),
                    value=row.read("value", parse_money, where),
                    purpose=row["purpose"],
                    appraiser=row.get("appraiser", ""),
                )
                self.origin.save(appraisal, where)
        return len(rows)

    def _capital_improvements(self) -> int:
        rows = self.rows("capital_improvements.csv")
        for line, row in rows:
            with self.problems:
                where = f"capital_improvements.csv row {line}"
                improvement = CapitalImprovement(
                    lease=self.lease(row["lease"], f"{where} lease"),
                    description=row["description"],
                    approved_on=row.read("approved_on", parse_date, where),
                    completed_on=row.read("completed_on", parse_optional_date, where),
                    cost=row.read("cost", parse_money, where),
                    credit=row.read("credit", parse_money, where),
                )
                self.origin.save(improvement, where)
        return len(rows)

    def _repairs(self) -> int:
        rows = self.rows("repairs.csv")
        for line, row in rows:
            with self.problems:
                where = f"repairs.csv row {line}"
                repair = RepairDeduction(
                    lease=self.lease(row["lease"], f"{where} lease"),
                    description=row["description"],
                    assessed_on=row.read("assessed_on", parse_date, where),
                    amount=row.read("amount", parse_money, where),
                )
                self.origin.save(repair, where)
        return len(rows)

    def _monitoring(self) -> int:
        rows = self.rows("monitoring.csv")
        for line, row in rows:
            with self.problems:
                where = f"monitoring.csv row {line}"
                lease = self.lease(row["lease"], f"{where} lease")
                with self.origin.row(where):
                    event = monitoring_record(
                        lease=lease, type=row["type"], on=row.read("on", parse_date, where),
                        notes=row.get("notes", ""),
                    )  # fmt: skip
                if row.get("resolution") and not row.get("resolved_on"):
                    raise RegistryFileError(
                        f"{where} resolved_on: the row gives a resolution but no date it was "
                        "resolved; give resolved_on, or move the text to notes"
                    )
                if row.get("resolved_on"):
                    with self.origin.row(where):
                        monitoring_resolve(
                            event=event,
                            on=row.read("resolved_on", parse_date, where),
                            notes=row.get("resolution", ""),
                        )
        return len(rows)

    def _resales(self) -> int:
        """The sales of each home, oldest first: checked as a chain, since `resale_record`
        takes a closing as typed (the staff pages close a sale by `resale_close`, which checks
        its date and seller against the lease as it stands that day)."""
        rows = self.rows("resales.csv")
        previous: dict[str, Resale] = {}  # by lease: its sale before, in the folder
        last_closed: dict[str, tuple[Resale, str]] = {}  # by lease: its last closing, and row
        refused: set[str] = set()  # leases with a sale refused: their chain is not checked on
        for line, row in rows:
            through = False
            with self.problems:
                where = f"resales.csv row {line}"
                with self.origin.row(where):
                    resale = resale_record(
                        lease=self.lease(row["lease"], f"{where} lease"),
                        seller=self.party(row["seller"], f"{where} seller"),
                        buyer=self.party(row["buyer"], f"{where} buyer"),
                        contract_on=row.read("contract_on", parse_date, where),
                        closed_on=row.read("closed_on", parse_optional_date, where),
                        formula_price=row.read("formula_price", parse_money, where),
                        agreed_price=row.read("agreed_price", parse_money, where),
                        appraised_value=row.read("appraised_value", parse_money, where),
                        buyer_income_pct_ami=row.read("buyer_income_pct_ami", parse_decimal, where),
                    )
                    _check_sale(resale, previous.get(row["lease"]))
                    if resale.closed_on is None:
                        _check_open_contract(resale)
                previous[row["lease"]] = resale
                if resale.closed_on is not None:
                    last_closed[row["lease"]] = (resale, where)
                through = True
            if not through:
                refused.add(row["lease"])
        for reference, (resale, where) in last_closed.items():
            with self.problems:
                if reference not in refused:
                    _check_last_buyer(resale, where)
        return len(rows)

    def _easements(self) -> dict[str, int]:
        """The conservation easements (easements.geojson) and their monitoring visits
        (easement_visits.csv): counts for the summary."""
        easements: dict[str, ConservationEasement] = {}
        for number, row, geometry in self.features(EASEMENTS):
            with self.problems:
                where = f"easements.geojson feature {number} ({row['key']})"
                if row["key"] in easements:
                    raise RegistryFileError(f"{where}: easement key '{row['key']}' appears twice")
                grantor = row.get("grantor", "")
                easement = ConservationEasement(
                    name=row["name"],
                    purpose=row["purpose"],
                    public_access=row["public_access"],
                    holder=self.party(row["holder"], f"{where} holder"),
                    grantor=self.party(grantor, f"{where} grantor") if grantor else None,
                    began_on=row.read("began_on", parse_date, where),
                    ended_on=row.read("ended_on", parse_optional_date, where),
                    recording_reference=row.get("recording_reference", ""),
                    terms=row.get("terms", ""),
                    baseline_on=row.read("baseline_on", parse_optional_date, where),
                    geom=multipolygon(geometry, where),
                )
                self.origin.save(easement, where)
                easements[row["key"]] = easement
        return {
            "easements": len(easements),
            "easement_visits": self._easement_visits(easements),
        }

    def _easement_visits(self, easements: dict[str, ConservationEasement]) -> int:
        rows = self.rows("easement_visits.csv")
        for line, row in rows:
            with self.problems:
                where = f"easement_visits.csv row {line}"
                visit = EasementMonitoringVisit(
                    easement=lookup(easements, row["easement"], "easement", where),
                    on=row.read("on", parse_date, where),
                    monitor=row.get("monitor", ""),
                    finding=row["finding"],
                    notes=row.get("notes", ""),
                    resolved_on=row.read("resolved_on", parse_optional_date, where),
                )
                self.origin.save(visit, where)
        return len(rows)

    # --- after the rows ------------------------------------------------------------------------

    def _list_again(self, offered: list[Holding]) -> None:
        """Offer again the homes holdings.csv lists as available today that a lease read here
        took off the list when it was signed (`lease_create`): that lease has since ended, and
        the trust offered the home again."""
        source = f"{self.origin.source} holdings.csv available"
        with recorded(self.origin.action), pghistory.context(source=source):
            for holding in offered:
                if not holding.available:
                    holding.available = True
                    holding.save(update_fields=["available"])


def _given(**values) -> dict:
    """The optional values a row gave: a blank cell leaves the model's default."""
    return {name: value for name, value in values.items() if value not in (None, "")}


def _check_sale(resale: Resale, before: Resale | None) -> None:
    """A sale as the staff pages check a closing, and its place in its home's chain: a sale
    between two parties, closed on or after its contract, not after today and while its lease
    was in force (a buy-back may close the day the lease ends); after the sale before it
    closed, and by that sale's buyer."""
    if resale.seller_id == resale.buyer_id:
        raise ValidationError({"buyer": f"{resale.buyer} is both seller and buyer"})
    if resale.closed_on is not None:
        check_closing_day(resale.contract_on, resale.closed_on)
        _check_closed_in_force(resale)
    if before is None:
        return
    if before.closed_on is None:
        raise ValidationError({"contract_on": f"the sale before it ({before}) has not closed: "
                                              "a home is sold again once the sale before it "
                                              "closed"})  # fmt: skip
    if resale.contract_on < before.closed_on:
        raise ValidationError({"contract_on": f"{resale.contract_on} is before the sale before "
                                              f"it closed ({before}): list sales oldest "
                                              "first"})  # fmt: skip
    if resale.seller_id != before.buyer_id:
        raise ValidationError({"seller": f"{resale.seller} sells, but the sale before it "
                                         f"({before}) was to {before.buyer}: the chain of "
                                         "owners is broken"})  # fmt: skip


def _check_open_contract(resale: Resale) -> None:
    """A sale under contract, as the staff pages record one (`leases.forms.ResaleForm`):
    signed by today, by the lessee since their purchase, at a formula price the lease's formula
    gives on the contract date from the registry's records (the file's appraised value, else
    the appraisals imported), or typed only where the registry cannot price it (the seller's
    mortgage and closing costs). The import took any figure: $90,000 over a formula's $79,800,
    a cap typed where the formula needed an appraisal, a contract dated next month."""
    lease, on = resale.lease, resale.contract_on
    refuse_after_today("contract_on", on, "record a sale once its contract is signed.")
    early = contract_date_error(lease, on)
    if early:
        raise ValidationError({"contract_on": early})
    seller_error = closing_seller_error(lease, resale.seller)
    if seller_error:
        raise ValidationError({"seller": seller_error})
    try:
        result = max_resale_price(lease, on=on, appraisal=resale.appraised_value)
    except FormulaError as exc:
        if exc.field == "appraisal_at_resale":
            raise ValidationError({"appraised_value": (
                f"the lease's formula cannot price the sale on {on} without the appraised value "
                f"at resale ({exc.message}): give it in appraised_value, or the appraisal in "
                "appraisals.csv"
            )}) from None  # fmt: skip
        if exc.field in NOT_ON_RECORD:
            return  # the seller's mortgage or costs: the price is as worked out and typed
        raise ValidationError({"formula_price": (
            f"the lease's formula cannot price the sale on {on} ({exc}): a price typed here "
            "could not be checked against it"
        )}) from None  # fmt: skip
    if resale.formula_price > result.price:
        raise ValidationError({"formula_price": (
            f"{resale.formula_price} is above the formula's price on {on}: {result.price} "
            f"(its lines: clt resale-price --lease {lease.reference} --sale-date {on})"
        )})  # fmt: skip


def _check_closed_in_force(resale: Resale) -> None:
    """Only a lease in force passes to a buyer (`closing_date_error`); the trust's buy-back
    may close on the day the lease ends, as the staff pages end it then."""
    lease = resale.lease
    _, stops_on = lease.period()
    buy_back = resale.buyer.kind == PartyKind.TRUST and resale.closed_on == stops_on
    if not buy_back:
        error = closing_date_error(lease, resale.closed_on)
        if error:
            raise ValidationError({"closed_on": error})


def _check_last_buyer(resale: Resale, where: str) -> None:
    """The last closing of a lease left it as leases.csv says it is today: with the buyer as
    its lessee, or, when the trust bought the home back, ended that day (the staff pages end a
    lease at a buy-back; the next household signs a new one)."""
    lease = resale.lease
    if resale.buyer.kind == PartyKind.TRUST:
        if lease.status not in ENDED_STATUSES or lease.ended_on != resale.closed_on:
            raise RegistryFileError(
                f"{where} buyer: the trust bought the home back on {resale.closed_on}, so lease "
                f"{lease.reference} ends that day: give it status terminated and ended_on "
                f"{resale.closed_on} in leases.csv (a next household signs a new lease)"
            )
        return
    if lease.status in ENDED_STATUSES:
        return
    lessees = list(lease.lessees.all())
    if resale.buyer not in lessees:
        raise RegistryFileError(
            f"{where} buyer: the last sale of {lease.reference} was to {resale.buyer}, but "
            f"leases.csv gives its lessees today as {', '.join(map(str, lessees))}"
        )
