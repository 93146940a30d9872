"""The stewardship report and the as-of inventory: what the trust held and leased on a date.

Each question is one named function returning plain dataclasses, aggregated in the database
(a fixed handful of queries, whatever the number of holdings or leases):

* `held_by_use(on)`        parcels, acres and homes (dwelling units) held, by current use
* `leases_by_status(on)`   leases signed by the date, by their status on it
* `fees_in_arrears(on)`    unpaid lease fees on leases in force: total and count
* `open_monitoring(on)`    monitoring events open on the date, by type
* `resales_vs_market(on)`  each resale's formula and agreed price against the market appraisal,
                           and whether its buyer was above the trust's income limit
* `holdings_as_of(on)`     the inventory: each holding with its parcels and its leases in force

What the dates can and cannot say. Lifespans are dated (a holding's acquisition and end, a
parcel's membership, a lease's start, end and expiry, a monitoring event's opening and
resolution), so those answers are exact for any date. A lease stops on its end date, else on
its expiry (start plus term): one past its term with no end date counts as expired, whatever
its status field says. Three fields are kept as they stand today, not as a ledger: a holding's
current use, a lease's arrears, and a lease's status while it was in force (a lease that ended
after the date counts as active on it; "in default" is today's word).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from clt.spreadsheets import spreadsheet_safe
from leases.models import (
    GroundLease,
    LeaseStatus,
    MonitoringEvent,
    MonitoringType,
    PermittedUse,
    Resale,
)
from parcels.models import Holding, HoldingParcel, HoldingUse, Improvement

SQM_PER_ACRE = 4046.8564224
ACRE_PLACES = Decimal("0.01")
PERCENT_PLACES = Decimal("0.1")


# --- the answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UseLine:
    """Land held for one use (or in total): holdings, parcels, acres and homes."""

    use: str
    label: str
    holdings: int
    parcels: int
    acres: Decimal
    homes: int
    area_m2: float = field(default=0.0, compare=False, repr=False)


@dataclass(frozen=True)
class StatusLine:
    """How many leases had a status on the date."""

    status: str
    label: str
    leases: int


@dataclass(frozen=True)
class Arrears:
    """Unpaid lease fees on the leases in force: the total owed and how many leases owe."""

    total: Decimal
    leases: int


@dataclass(frozen=True)
class MonitoringLine:
    """How many monitoring events of one type were open on the date."""

    type: str
    label: str
    open: int


@dataclass(frozen=True)
class ResaleLine:
    """One resale: the formula's cap, the price agreed and the market value at the time.

    `preserved` is the affordability the formula kept for the next household: the appraisal
    less the agreed price. `below_market_pct` is that as a percent of the appraisal.

    No address, holding name or parcel: with the buyer's income beside it, where the home is
    would say what one household earns. `use` is the lease's permitted use.
    `income_limit_pct_ami` is the trust's buyer income limit the line is judged against.
    """

    lease: str
    use: str
    contract_on: dt.date
    closed_on: dt.date | None
    formula_price: Decimal
    agreed_price: Decimal
    appraised_value: Decimal | None
    buyer_income_pct_ami: Decimal | None
    income_limit_pct_ami: int | None = None

    @property
    def preserved(self) -> Decimal | None:
        if self.appraised_value is None:
            return None
        return self.appraised_value - self.agreed_price

    @property
    def below_market_pct(self) -> Decimal | None:
        return percent_of(self.preserved, self.appraised_value)

    @property
    def buyer_above_limit(self) -> bool | None:
        """Whether the buyer's income was above the trust's limit (`above_income_limit`); None
        when the income is not recorded or no limit was given."""
        if self.income_limit_pct_ami is None:
            return None
        return above_income_limit(self.buyer_income_pct_ami, self.income_limit_pct_ami)

    @property
    def income_limit_note(self) -> str:
        """ "above the 80% limit" beside the buyer's income, for a buyer above it; else ""."""
        if not self.buyer_above_limit:
            return ""
        return f"above the {self.income_limit_pct_ami}% limit"


@dataclass(frozen=True)
class ResaleTotals:
    """All resales together. The market side counts only resales with an appraisal:
    `appraised` of them, appraised at `appraised_total`, sold for `agreed_total_appraised`."""

    resales: int
    formula_total: Decimal
    agreed_total: Decimal
    appraised: int
    appraised_total: Decimal
    agreed_total_appraised: Decimal

    @property
    def preserved(self) -> Decimal:
        return self.appraised_total - self.agreed_total_appraised

    @property
    def below_market_pct(self) -> Decimal | None:
        return percent_of(self.preserved, self.appraised_total)


@dataclass(frozen=True)
class StewardshipReport:
    as_of: dt.date
    held: tuple[UseLine, ...]
    held_total: UseLine
    leases: tuple[StatusLine, ...]
    arrears: Arrears
    monitoring: tuple[MonitoringLine, ...]
    resales: tuple[ResaleLine, ...]
    resale_totals: ResaleTotals
    buyer_income_limit_pct_ami: int

    @property
    def leases_total(self) -> int:
        return sum(line.leases for line in self.leases)

    @property
    def monitoring_total(self) -> int:
        return sum(line.open for line in self.monitoring)


@dataclass(frozen=True)
class HeldHolding:
    """A holding on the date: how it came, its parcels then, and the leases in force on it."""

    name: str
    use: str
    use_label: str
    acquired_via: str
    acquired_on: dt.date
    price: Decimal
    deed_reference: str
    apns: tuple[str, ...]
    acres: Decimal
    homes: int
    leases: tuple[str, ...]
    area_m2: float = field(default=0.0, compare=False, repr=False)


@dataclass(frozen=True)
class LeaseInForce:
    """A lease in force on the date; `status` is its status then (active if it ended later)."""

    reference: str
    holding: str
    starts_on: dt.date
    ends_on: dt.date | None
    permitted_use: str
    status: str
    holding_id: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Inventory:
    """What the trust held and leased on `as_of`."""

    as_of: dt.date
    holdings: tuple[HeldHolding, ...]
    leases: tuple[LeaseInForce, ...]

    @property
    def parcels(self) -> int:
        return sum(len(h.apns) for h in self.holdings)

    @property
    def acres(self) -> Decimal:
        """The acres held, from the unrounded areas."""
        return acres(sum(h.area_m2 for h in self.holdings))


# --- the questions -------------------------------------------------------------------------------


def stewardship_report(on: dt.date | None = None) -> StewardshipReport:
    """The whole stewardship report for `on` (today if omitted)."""
    on = on or timezone.localdate()
    held = held_by_use(on)
    return StewardshipReport(
        as_of=on,
        held=held,
        held_total=total_held(held),
        leases=leases_by_status(on),
        arrears=fees_in_arrears(on),
        monitoring=open_monitoring(on),
        resales=resales_vs_market(on),
        resale_totals=resale_totals(on),
        buyer_income_limit_pct_ami=buyer_income_limit_pct_ami(),
    )


def holdings_on(on: dt.date):
    """Holdings the trust had on `on`, each annotated with what it held then: `n_parcels`,
    `area_m2` (of those parcels) and `homes` (dwelling units built by that year)."""
    memberships = memberships_on(on)
    units = Improvement.objects.filter(
        Q(holding=OuterRef("pk")), Q(year_built__isnull=True) | Q(year_built__lte=on.year)
    )
    return Holding.objects.current(on).annotate(
        n_parcels=Coalesce(per_holding(memberships, Count("pk")), 0),
        area_m2=Coalesce(per_holding(memberships, Sum("parcel__area_m2")), Value(0.0)),
        homes=Coalesce(per_holding(units, Sum("dwelling_units")), 0),
    )


def memberships_on(on: dt.date):
    """The parcel memberships of the outer query's holding that were current on `on`."""
    current = Q(began_on__lte=on) & (Q(ended_on__isnull=True) | Q(ended_on__gt=on))
    return HoldingParcel.objects.filter(current, holding=OuterRef("pk"))


def per_holding(rows, aggregate) -> Subquery:
    """`aggregate` over `rows` (filtered on OuterRef holding), as a scalar subquery."""
    return Subquery(rows.values("holding").annotate(v=aggregate).values("v")[:1])


def held_by_use(on: dt.date) -> tuple[UseLine, ...]:
    """Holdings, parcels, acres and homes held on `on`, by the holdings' current use."""
    rows = {
        row["current_use"]: row
        for row in holdings_on(on)
        .values("current_use")
        .annotate(
            holdings=Count("pk"),
            parcels=Sum("n_parcels"),
            area=Sum("area_m2"),
            units=Sum("homes"),
        )
        .order_by()
    }
    lines = []
    for use, label in HoldingUse.choices:
        row = rows.get(use)
        if row:
            lines.append(
                UseLine(use, str(label), row["holdings"], row["parcels"], acres(row["area"]),
                        row["units"], area_m2=row["area"])
            )  # fmt: skip
    return tuple(lines)


def total_held(lines: tuple[UseLine, ...]) -> UseLine:
    """The sum of the use lines; acres from the unrounded areas (so the rounded lines may
    differ from the total by a hundredth)."""
    area_m2 = sum(line.area_m2 for line in lines)
    return UseLine(
        "total",
        "Total",
        sum(line.holdings for line in lines),
        sum(line.parcels for line in lines),
        acres(area_m2),
        sum(line.homes for line in lines),
        area_m2=area_m2,
    )


def leases_by_status(on: dt.date) -> tuple[StatusLine, ...]:
    """Leases signed by `on`, by their status on it (every status listed, zeros included)."""
    counts = dict(
        GroundLease.objects.filter(starts_on__lte=on)
        .with_status_on(on)
        .values("status_on")
        .annotate(n=Count("pk"))
        .values_list("status_on", "n")
        .order_by()
    )
    return tuple(
        StatusLine(status, str(label), counts.get(status, 0))
        for status, label in LeaseStatus.choices
    )


def fees_in_arrears(on: dt.date) -> Arrears:
    """Unpaid fees on the leases in force on `on` (as recorded now: there is no fee ledger)."""
    row = (
        GroundLease.objects.in_force(on)
        .with_arrears()
        .aggregate(total=Coalesce(Sum("arrears"), Value(Decimal("0.00"))), leases=Count("pk"))
    )
    return Arrears(total=row["total"], leases=row["leases"])


def open_monitoring(on: dt.date) -> tuple[MonitoringLine, ...]:
    """Monitoring events open on `on` (opened by then, not resolved by then), by type."""
    counts = dict(
        MonitoringEvent.objects.filter(on__lte=on)
        .filter(Q(resolved_on__isnull=True) | Q(resolved_on__gt=on))
        .values("type")
        .annotate(n=Count("pk"))
        .values_list("type", "n")
        .order_by()
    )
    return tuple(
        MonitoringLine(kind, str(label), counts[kind])
        for kind, label in MonitoringType.choices
        if counts.get(kind)
    )


def resales_vs_market(on: dt.date) -> tuple[ResaleLine, ...]:
    """Resales contracted by `on`, oldest first, with the market appraisal at the time (and
    nothing that says where the home is), each judged against the trust's buyer income limit."""
    rows = (
        Resale.objects.filter(contract_on__lte=on)
        .order_by("contract_on", "lease__reference", "pk")
        .values_list(
            "lease__reference", "lease__permitted_use", "contract_on", "closed_on",
            "formula_price", "agreed_price", "appraised_value", "buyer_income_pct_ami",
        )
    )  # fmt: skip
    uses = dict(PermittedUse.choices)
    limit = buyer_income_limit_pct_ami()
    return tuple(
        ResaleLine(reference, str(uses.get(use, use)), *rest, income_limit_pct_ami=limit)
        for reference, use, *rest in rows
    )


def buyer_income_limit_pct_ami() -> int:
    """The trust's buyer income limit, as % of area median income: the setting
    CLT_BUYER_INCOME_LIMIT_PCT_AMI (80 unless the trust sets another)."""
    return settings.CLT_BUYER_INCOME_LIMIT_PCT_AMI


def above_income_limit(buyer_income_pct_ami: Decimal | None, limit_pct_ami: int) -> bool | None:
    """Whether a buyer whose household income was `buyer_income_pct_ami` % of area median
    income was above the trust's limit; None when the income was not recorded.

    The one rule for it: the report marks these resales and the resale form warns of them. It
    reads the figure recorded on the resale (the buyer's certified income at the sale), not the
    party's income, which later certifications overwrite. At the limit is within it.
    """
    if buyer_income_pct_ami is None:
        return None
    return buyer_income_pct_ami > limit_pct_ami


def resale_totals(on: dt.date) -> ResaleTotals:
    """The resales contracted by `on`, summed in the database."""
    zero = Value(Decimal("0.00"))
    appraised = Q(appraised_value__isnull=False)
    row = Resale.objects.filter(contract_on__lte=on).aggregate(
        resales=Count("pk"),
        formula_total=Coalesce(Sum("formula_price"), zero),
        agreed_total=Coalesce(Sum("agreed_price"), zero),
        appraised=Count("pk", filter=appraised),
        appraised_total=Coalesce(Sum("appraised_value"), zero),
        agreed_total_appraised=Coalesce(Sum("agreed_price", filter=appraised), zero),
    )
    return ResaleTotals(**row)


def holdings_as_of(on: dt.date) -> Inventory:
    """What the trust held on `on` (holdings, their parcels then) and the leases in force."""
    memberships = memberships_on(on)
    leases = tuple(
        LeaseInForce(*row)
        for row in GroundLease.objects.in_force(on)
        .with_status_on(on)
        .order_by("holding__name", "reference")
        .values_list(
            "reference", "holding__name", "starts_on", "ended_on", "permitted_use", "status_on",
            "holding_id",
        )
    )
    # By id, not name: two holdings may share a name ("Vacant lot"), never their leases.
    by_holding: dict[int, list[str]] = {}
    for lease in leases:
        by_holding.setdefault(lease.holding_id, []).append(lease.reference)
    rows = (
        holdings_on(on)
        .annotate(apns=ArraySubquery(memberships.order_by("parcel__apn").values("parcel__apn")))
        .order_by("acquired_on", "name")
    )
    uses = dict(HoldingUse.choices)
    holdings = tuple(
        HeldHolding(
            name=h.name,
            use=h.current_use,
            use_label=str(uses.get(h.current_use, h.current_use)),
            acquired_via=h.acquired_via,
            acquired_on=h.acquired_on,
            price=h.price,
            deed_reference=h.deed_reference,
            apns=tuple(h.apns),
            acres=acres(h.area_m2),
            homes=h.homes,
            leases=tuple(by_holding.get(h.pk, ())),
            area_m2=h.area_m2,
        )
        for h in rows
    )
    return Inventory(as_of=on, holdings=holdings, leases=leases)


# --- arithmetic ----------------------------------------------------------------------------------


def acres(area_m2: float | None) -> Decimal:
    """Square metres as acres, to the hundredth (half up)."""
    value = Decimal(repr(float(area_m2 or 0))) / Decimal(repr(SQM_PER_ACRE))
    return value.quantize(ACRE_PLACES, rounding=ROUND_HALF_UP)


def percent_of(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    """`part` as a percent of `whole`, to one decimal place (half up); None if undefined."""
    if part is None or not whole:
        return None
    return (part * 100 / whole).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


# --- as a file -----------------------------------------------------------------------------------

CSV_COLUMNS = ("section", "item", "measure", "value")


def report_rows(report: StewardshipReport) -> list[tuple[str, str, str, str]]:
    """The report as tidy rows (section, item, measure, value): one figure a row."""
    rows: list[tuple[str, str, str, str]] = [("report", "as_of", "date", report.as_of.isoformat())]
    rows.append(
        ("report", "buyer_income_limit", "pct_ami", text(report.buyer_income_limit_pct_ami))
    )
    for line in (*report.held, report.held_total):
        for measure in ("holdings", "parcels", "acres", "homes"):
            rows.append(("held_by_use", line.use, measure, text(getattr(line, measure))))
    for line in report.leases:
        rows.append(("leases_by_status", line.status, "leases", text(line.leases)))
    rows.append(("leases_by_status", "total", "leases", text(report.leases_total)))
    rows.append(("fees_in_arrears", "total", "amount", text(report.arrears.total)))
    rows.append(("fees_in_arrears", "total", "leases", text(report.arrears.leases)))
    for line in report.monitoring:
        rows.append(("open_monitoring", line.type, "events", text(line.open)))
    rows.append(("open_monitoring", "total", "events", text(report.monitoring_total)))
    for sale in report.resales:
        item = f"{sale.lease} {sale.contract_on.isoformat()}"
        for measure in ("use", "contract_on", "closed_on", "formula_price", "agreed_price",
                        "appraised_value", "preserved", "below_market_pct",
                        "buyer_income_pct_ami"):  # fmt: skip
            rows.append(("resales", item, measure, text(getattr(sale, measure))))
        above = {True: "yes", False: "no", None: ""}[sale.buyer_above_limit]
        rows.append(("resales", item, "buyer_above_income_limit", above))
    totals = report.resale_totals
    for measure in ("resales", "formula_total", "agreed_total", "appraised", "appraised_total",
                    "preserved", "below_market_pct"):  # fmt: skip
        rows.append(("resales", "total", measure, text(getattr(totals, measure))))
    return rows


def report_csv(report: StewardshipReport) -> str:
    """The report as CSV text (header `section,item,measure,value`), every cell safe to open
    in a spreadsheet (`spreadsheet_safe`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(tuple(map(spreadsheet_safe, row)) for row in report_rows(report))
    return out.getvalue()


def text(value) -> str:
    """A figure as CSV text: exact decimals, ISO dates, blank for none."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
