"""The stewardship report and the as-of inventory: what the trust held and leased on a date.

Each question is one named function returning plain dataclasses, aggregated in the database
(a fixed handful of queries, whatever the number of holdings or leases):

* `held_by_use(on)`        parcels, acres and homes (dwelling units) held, by current use
* `leases_by_status(on)`   leases signed by the date, by their status on it
* `fees_in_arrears(on)`    unpaid lease fees on leases in force: total and count, of how many
* `open_monitoring(on)`    monitoring events open on the date, by type
* `conservation_easements(on)`  conservation easements in force: how many, the acres they
                           protect, who holds them, visits due and issues found still open
* `resales_vs_market(on)`  each resale's formula and agreed price against the market appraisal,
                           and whether its buyer was above the trust's income limit
* `resale_totals(on)`      the resales closed to new lessees summed; the trust's own buy-backs
                           and the sales still under contract apart
* `holdings_as_of(on)`     the inventory: each holding with its parcels and its leases in force

What the dates can and cannot say. Lifespans are dated (a holding's acquisition and end, a
parcel's membership, a lease's start, end and expiry, a monitoring event's opening and
resolution), so those answers are exact for any date. A lease stops on its end date, else on
its expiry (start plus term): one past its term with no end date counts as expired, whatever
its status field says. An easement is in force from its recording to its end, that day
excluded, as a holding. A lease's arrears and its recorded status while in force (in default or
not) are read from the registry's history as they stood at the end of the date, where the
history reaches back that far; for a lease whose history begins later they are today's, and
the report says so (`recorded_note`). A holding's use is today's. A building's homes count from
the end of its year built: the registry keeps the year, not the day (`HOMES_RULE`). A resale is
listed from its contract and counted from its closing: one contracted by the date and closed
after it is shown as it stood, under contract, with no closing date and no arrears collected.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar

from django.conf import settings
from django.contrib.gis.db.models import Union
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Func,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from clt.spreadsheets import spreadsheet_safe
from leases.models import (
    GroundLease,
    LeaseStatus,
    MonitoringEvent,
    MonitoringType,
    PartyKind,
    PermittedUse,
    Resale,
)
from parcels.models import (
    ConservationEasement,
    EasementMonitoringVisit,
    Holding,
    HoldingParcel,
    HoldingUse,
    Improvement,
    Parcel,
    VisitFinding,
)
from parcels.queries import merged_with_trust_land

SQM_PER_ACRE = 4046.8564224
ACRE_PLACES = Decimal("0.01")
SQUARE_METRE_PLACES = Decimal("0.01")
PERCENT_PLACES = Decimal("0.1")

# What the notes say, on the page, in the CLI's output and in the CSV alike.
USE_RULE = "Land is grouped by each holding's use as recorded today."
ACRES_RULE = (
    "Acres: each line is rounded to the hundredth and the total is from the unrounded areas, "
    "so the lines may not add up to the total exactly."
)
HOMES_RULE = (
    "Homes: the registry keeps the year a building was built, not the day, so its homes count "
    "from the end of that year (31 December), never before they stood; a building with no "
    "year built counts on every date."
)
EASEMENT_ACRES_RULE = (
    "Easement acres: the protected areas of the easements in force merged, so land under two "
    "easements counts once; they are apart from the land held (an easement may burden land the "
    "trust does not own, and land it holds may be under one)."
)


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
    """Unpaid lease fees on the leases in force: the total owed and how many leases owe, of
    `in_force`; `recorded_today` of those are read as recorded today, their history beginning
    after the date (`recorded_note`)."""

    total: Decimal
    leases: int
    in_force: int = 0
    recorded_today: int = 0


@dataclass(frozen=True)
class MonitoringLine:
    """How many monitoring events of one type were open on the date."""

    type: str
    label: str
    open: int


@dataclass(frozen=True)
class Conserved:
    """The conservation easements in force on the date: how many, the acres they protect
    (`EASEMENT_ACRES_RULE`), how many the trust holds itself and how many other organisations
    hold, how many are due a monitoring visit, and the issues visits found that were still
    open then (`open_violations` of them violations, the rest minor)."""

    easements: int
    acres: Decimal
    held_by_trust: int
    held_by_others: int
    monitoring_due: int
    open_issues: int
    open_violations: int
    area_m2: float = field(default=0.0, compare=False, repr=False)
    # Of those the trust holds, those over land it holds too (`merged_with_trust_land`): the
    # interests merge and the easement protects nothing there until another holder takes it.
    merged: int = 0

    @property
    def described(self) -> str:
        """The easements in a sentence, as the page and the CLI give them."""
        if not self.easements:
            return "No conservation easement in force."
        n, issues, violations = self.easements, self.open_issues, self.open_violations
        return (
            f"{n} conservation easement{plural(n)} in force, protecting {self.acres} acres: "
            f"{self.held_by_trust} held by the trust{self.merged_words}, "
            f"{self.held_by_others} by other "
            f"organisations; {self.monitoring_due} due a monitoring visit; {issues} open "
            f"issue{plural(issues)} from monitoring visits ({violations} "
            f"violation{plural(violations)})."
        )

    @property
    def merged_words(self) -> str:
        if not self.merged:
            return ""
        return (f" ({self.merged} over land the trust now holds: merged, protecting nothing "
                "until another organisation holds it)")  # fmt: skip

    @property
    def acres_note(self) -> str:
        """How the easements' acres are counted, once there are easements to count."""
        return EASEMENT_ACRES_RULE if self.easements else ""


@dataclass(frozen=True)
class ResaleLine:
    """One resale: the formula's cap, the price agreed and the market value at the time.

    `preserved` is the affordability the formula kept for the next household: the appraisal
    less the agreed price. `below_market_pct` is that as a percent of the appraisal.

    No address, holding name or parcel: with the buyer's income beside it, where the home is
    would say what one household earns. `use` is the lease's permitted use.
    `income_limit_pct_ami` is the trust's buyer income limit the line is judged against.
    `buyer_kind` is the buyer party's kind: the trust, buying the home back under its purchase
    option, is no next household (`bought_by_trust`).

    `closed_on` and `arrears_collected` (the seller's unpaid fees collected from the sale) are
    as of the report's date: None for a sale still under contract then (`under_contract`).
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
    buyer_kind: str = PartyKind.HOUSEHOLD.value
    arrears_collected: Decimal | None = None

    @property
    def under_contract(self) -> bool:
        """Whether the sale had not closed by the report's date: listed, not counted."""
        return self.closed_on is None

    @property
    def bought_by_trust(self) -> bool:
        """Whether the trust bought the home back: listed, but no resale to a new lessee."""
        return self.buyer_kind == PartyKind.TRUST

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
    """The resales closed to new lessees together (`to_households` of them to households, on
    `leases` leases): the trust's own buy-backs are apart, `trust_purchases` of them for
    `trust_paid`, and so are the `under_contract` sales not closed by the date. The market side
    counts only resales with an appraisal: `appraised` of them, appraised at `appraised_total`,
    sold for `agreed_total_appraised`. `preserved` adds up per sale, not per home: a home
    resold twice counts twice."""

    resales: int
    formula_total: Decimal
    agreed_total: Decimal
    appraised: int
    appraised_total: Decimal
    agreed_total_appraised: Decimal
    to_households: int = 0
    leases: int = 0
    trust_purchases: int = 0
    trust_paid: Decimal = Decimal("0.00")
    under_contract: int = 0

    @property
    def described(self) -> str:
        """What the total counts: "2 resales to households", "1 resale to a household", or
        "3 resales to new lessees, 2 to households" (a co-op or organisation bought one); and
        the sales under contract it leaves out ("(and 1 under contract, not counted)")."""

        def to_households(count: int) -> str:
            return "to a household" if count == 1 else "to households"

        resales = f"{self.resales} resale{plural(self.resales)}"
        if self.to_households == self.resales:
            counted = f"{resales} {to_households(self.resales)}"
        else:
            households = f"{self.to_households} {to_households(self.to_households)}"
            counted = f"{resales} to new lessees, {households}"
        if self.under_contract:
            counted += f" (and {self.under_contract} under contract, not counted)"
        return counted

    @property
    def per_sale_note(self) -> str:
        """That "preserved" adds up per sale, and over how many leases the sales were."""
        if not self.resales:
            return ""
        rule = "Preserved adds up per sale, not per home: a home resold twice counts twice"
        if self.resales == 1:
            return f"{rule}."
        leases = f"{self.leases} lease{plural(self.leases)}"
        return f"{rule} (these {self.resales} resales were on {leases})."

    @property
    def trust_note(self) -> str:
        """The trust's own buy-backs, counted apart from the resales to new lessees."""
        if not self.trust_purchases:
            return ""
        n = self.trust_purchases
        return (
            f"Bought back by the trust: {n} sale{plural(n)}, listed and marked, not counted in "
            "the total (the trust is not the next household)."
        )

    @property
    def under_contract_note(self) -> str:
        """The sales contracted by the date and not closed by it, listed but not counted."""
        if not self.under_contract:
            return ""
        n = self.under_contract
        return (
            f"Under contract, not closed by the report's date: {n} sale{plural(n)}, listed "
            "without a closing date and not counted in the totals."
        )

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
    conserved: Conserved
    resales: tuple[ResaleLine, ...]
    resale_totals: ResaleTotals
    buyer_income_limit_pct_ami: int
    recorded_note: str = ""
    use_rule: ClassVar[str] = USE_RULE
    acres_rule: ClassVar[str] = ACRES_RULE
    homes_rule: ClassVar[str] = HOMES_RULE

    @property
    def notes(self) -> tuple[tuple[str, str], ...]:
        """(topic, sentence): how the report counts what a reader could misread."""
        notes = (
            ("arrears_and_status", self.recorded_note),
            ("use", USE_RULE),
            ("acres", ACRES_RULE),
            ("homes", HOMES_RULE),
            ("easement_acres", self.conserved.acres_note),
            ("resales_preserved", self.resale_totals.per_sale_note),
            ("resales_bought_by_trust", self.resale_totals.trust_note),
            ("resales_under_contract", self.resale_totals.under_contract_note),
        )
        return tuple((topic, note) for topic, note in notes if note)

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
    """A lease in force on the date; `status` is its status then (active if it ended later),
    as recorded at the end of the date, or today when its history begins later
    (`recorded_today`)."""

    reference: str
    holding: str
    starts_on: dt.date
    ends_on: dt.date | None
    permitted_use: str
    status: str
    holding_id: int = field(default=0, compare=False, repr=False)
    recorded_today: bool = field(default=False, compare=False, repr=False)


@dataclass(frozen=True)
class Inventory:
    """What the trust held and leased on `as_of`."""

    as_of: dt.date
    holdings: tuple[HeldHolding, ...]
    leases: tuple[LeaseInForce, ...]

    @property
    def status_note(self) -> str:
        """Where the leases' statuses were read from (`recorded_note`)."""
        recorded_today = sum(lease.recorded_today for lease in self.leases)
        return recorded_note(self.as_of, len(self.leases), recorded_today, "Lease statuses")

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
    arrears = fees_in_arrears(on)
    return StewardshipReport(
        as_of=on,
        held=held,
        held_total=total_held(held),
        leases=leases_by_status(on),
        arrears=arrears,
        monitoring=open_monitoring(on),
        conserved=conservation_easements(on),
        resales=resales_vs_market(on),
        resale_totals=resale_totals(on),
        buyer_income_limit_pct_ami=buyer_income_limit_pct_ami(),
        recorded_note=recorded_note(on, arrears.in_force, arrears.recorded_today),
    )


def recorded_note(on: dt.date, in_force: int, recorded_today: int,
                  what: str = "Arrears and lease statuses") -> str:  # fmt: skip
    """Where `what` of the `in_force` leases on `on` were read from: the registry's history at
    the end of that day, or today's record for `recorded_today` of them, whose history begins
    later. Said in full, since a past date's figure is pasted into a grant as that date's."""
    today = timezone.localdate()
    if on >= today:
        return f"{what} (in default or not) are as recorded today."
    if not in_force:
        return ""
    then = f"as the registry's history recorded them at the end of {on.isoformat()}"
    if not recorded_today:
        return f"{what} (in default or not) are {then}."
    if recorded_today < in_force:
        return (
            f"{what} (in default or not) are {then} for {in_force - recorded_today} of the "
            f"{in_force} leases in force, and as recorded today for the other {recorded_today}, "
            "whose history begins after that day."
        )
    begins = history_begins()
    since = (
        f"the registry's history begins {begins.isoformat()}"
        if begins
        else "the registry holds no history of its leases"
    )
    return f"{what} (in default or not) are as recorded today, not on {on}: {since}."


def history_begins() -> dt.date | None:
    """The trust's day of the first lease change the registry's history holds (None if none)."""
    first = GroundLease.pgh_event_model.objects.aggregate(first=Min("pgh_created_at"))["first"]
    return timezone.localdate(first) if first else None


def homes_built_by(on: dt.date) -> int:
    """The latest year built whose homes count on `on` (`HOMES_RULE`): the year before, or on
    31 December the year itself. A year built is no day: counting a home from 1 January of it
    counted a fourplex finished in July on New Year's Day."""
    return on.year if (on.month, on.day) == (12, 31) else on.year - 1


def holdings_on(on: dt.date):
    """Holdings the trust had on `on`, each annotated with what it held then: `n_parcels`,
    `area_m2` (of those parcels) and `homes` (dwelling units standing by then: `HOMES_RULE`)."""
    memberships = memberships_on(on)
    built = Q(year_built__isnull=True) | Q(year_built__lte=homes_built_by(on))
    units = Improvement.objects.filter(Q(holding=OuterRef("pk")), built)
    return Holding.objects.holding_land(on).annotate(
        n_parcels=Coalesce(per_record(memberships, "holding", Count("pk")), 0),
        area_m2=Coalesce(per_record(memberships, "holding", Sum("parcel__area_m2")), Value(0.0)),
        homes=Coalesce(per_record(units, "holding", Sum("dwelling_units")), 0),
    )


def memberships_on(on: dt.date):
    """The parcel memberships of the outer query's holding that were current on `on`."""
    current = Q(began_on__lte=on) & (Q(ended_on__isnull=True) | Q(ended_on__gt=on))
    return HoldingParcel.objects.filter(current, holding=OuterRef("pk"))


def per_record(rows, record: str, aggregate) -> Subquery:
    """`aggregate` over `rows` (filtered on the outer query's `record`: "holding",
    "easement"), as a scalar subquery. No ordering: a row's default order (a visit's follows
    its easement to its name) would join and group by more than the record."""
    return Subquery(rows.order_by().values(record).annotate(v=aggregate).values("v")[:1])


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
    """Leases signed by `on`, by their status on it (every status listed, zeros included), as
    recorded at the end of that day where the history reaches back to it (`with_recorded_on`)."""
    counts = dict(
        GroundLease.objects.filter(starts_on__lte=on)
        .with_recorded_on(on)
        .with_status_on(on, recorded="status_recorded")
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
    """Unpaid fees on the leases in force on `on`, of how many in force: as recorded at the end
    of that day, from the registry's history (there is no fee ledger), or today's for a lease
    whose history begins later (counted in `recorded_today`)."""
    owing = Q(arrears_recorded__gt=0)
    row = (
        GroundLease.objects.in_force(on)
        .with_recorded_on(on)
        .aggregate(
            total=Coalesce(Sum("arrears_recorded", filter=owing), Value(Decimal("0.00"))),
            leases=Count("pk", filter=owing),
            in_force=Count("pk"),
            # Not named after the annotation it counts: the aggregate would hide it.
            as_of_today=Count("pk", filter=Q(recorded_today=True)),
        )
    )
    return Arrears(
        total=row["total"],
        leases=row["leases"],
        in_force=row["in_force"],
        recorded_today=row["as_of_today"],
    )


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


def conservation_easements(on: dt.date) -> Conserved:
    """The conservation easements in force on `on`, in one query: how many, the acres of their
    protected areas merged (`EASEMENT_ACRES_RULE`), by whom they are held (the trust, or another
    organisation), how many are due a monitoring visit (`monitoring_due`) and the issues found
    still open (`open_easement_issues`)."""
    issues = open_easement_issues(on).filter(easement=OuterRef("pk"))
    violations = issues.filter(finding=VisitFinding.VIOLATION)
    due = ConservationEasement.objects.monitoring_due(on).values("pk")
    merged = merged_with_trust_land(Parcel.objects.all(), on).values("pk")
    trust = Q(holder__kind=PartyKind.TRUST)
    # The union's area on the spheroid, as each easement's own area_m2 is measured.
    merged_m2 = Func(Union("geom"), template="ST_Area(%(expressions)s::geography)",
                     output_field=FloatField())  # fmt: skip
    row = (
        ConservationEasement.objects.in_force(on)
        .annotate(
            issues=Coalesce(per_record(issues, "easement", Count("pk")), 0),
            violations=Coalesce(per_record(violations, "easement", Count("pk")), 0),
        )
        .aggregate(
            easements=Count("pk"),
            held_by_trust=Count("pk", filter=trust),
            held_by_others=Count("pk", filter=~trust),
            monitoring_due=Count("pk", filter=Q(pk__in=due)),
            merged=Count("pk", filter=Q(pk__in=merged)),
            open_issues=Coalesce(Sum("issues"), 0),
            open_violations=Coalesce(Sum("violations"), 0),
            area_m2=Coalesce(merged_m2, Value(0.0)),
        )
    )
    return Conserved(acres=acres(row["area_m2"]), **row)


def open_easement_issues(on: dt.date):
    """The monitoring visits by `on` that found an issue (minor or a violation) not resolved by
    then: what the holder still has to put right, as an open monitoring event is for a lease."""
    unresolved = Q(resolved_on__isnull=True) | Q(resolved_on__gt=on)
    return EasementMonitoringVisit.objects.filter(
        unresolved, on__lte=on, finding__in=(VisitFinding.MINOR, VisitFinding.VIOLATION)
    )


def resales_vs_market(on: dt.date) -> tuple[ResaleLine, ...]:
    """Resales contracted by `on`, oldest first, with the market appraisal at the time (and
    nothing that says where the home is), each judged against the trust's buyer income limit,
    with the buyer's kind (the trust's own buy-backs are listed too). A sale that closed after
    `on` is as it stood on `on`: under contract, no closing date, no arrears collected."""
    closed = Q(closed_on__lte=on)
    rows = (
        Resale.objects.filter(contract_on__lte=on)
        .annotate(
            closed_by=Case(When(closed, then=F("closed_on"))),
            collected_by=Case(When(closed, then=F("arrears_collected"))),
        )
        .order_by("contract_on", "lease__reference", "pk")
        .values_list(
            "lease__reference", "lease__permitted_use", "contract_on", "closed_by",
            "formula_price", "agreed_price", "appraised_value", "buyer_income_pct_ami",
            "buyer__kind", "collected_by",
        )
    )  # fmt: skip
    uses = dict(PermittedUse.choices)
    limit = buyer_income_limit_pct_ami()
    return tuple(
        ResaleLine(reference, str(uses.get(use, use)), *rest, income_limit_pct_ami=limit,
                   buyer_kind=kind, arrears_collected=collected)
        for reference, use, *rest, kind, collected in rows
    )  # fmt: skip


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
    """The resales closed by `on` to new lessees, summed in the database, and apart from them
    the trust's own buy-backs (the trust buying a home back keeps it for a household to come,
    and a funder asking how many homes went to the next household must not count it) and the
    sales contracted by `on` but not closed by then (no home had changed hands yet)."""
    zero = Value(Decimal("0.00"))
    closed = Q(closed_on__lte=on)
    trust = Q(buyer__kind=PartyKind.TRUST)
    bought_back = closed & trust
    resold = closed & ~trust
    appraised = resold & Q(appraised_value__isnull=False)
    row = Resale.objects.filter(contract_on__lte=on).aggregate(
        resales=Count("pk", filter=resold),
        formula_total=Coalesce(Sum("formula_price", filter=resold), zero),
        agreed_total=Coalesce(Sum("agreed_price", filter=resold), zero),
        appraised=Count("pk", filter=appraised),
        appraised_total=Coalesce(Sum("appraised_value", filter=appraised), zero),
        agreed_total_appraised=Coalesce(Sum("agreed_price", filter=appraised), zero),
        to_households=Count("pk", filter=closed & Q(buyer__kind=PartyKind.HOUSEHOLD)),
        leases=Count("lease", filter=resold, distinct=True),
        trust_purchases=Count("pk", filter=bought_back),
        trust_paid=Coalesce(Sum("agreed_price", filter=bought_back), zero),
        under_contract=Count("pk", filter=Q(closed_on__isnull=True) | Q(closed_on__gt=on)),
    )
    return ResaleTotals(**row)


def holdings_as_of(on: dt.date) -> Inventory:
    """What the trust held on `on` (holdings, their parcels then) and the leases in force, each
    with its status then as the report reads it (`leases_by_status`)."""
    memberships = memberships_on(on)
    leases = tuple(
        LeaseInForce(*row)
        for row in GroundLease.objects.in_force(on)
        .with_recorded_on(on)
        .with_status_on(on, recorded="status_recorded")
        .order_by("holding__name", "reference")
        .values_list(
            "reference", "holding__name", "starts_on", "ended_on", "permitted_use", "status_on",
            "holding_id", "recorded_today",
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


def square_metres(area_m2: float | None) -> Decimal:
    """An area in square metres to the hundredth: exact enough that a spreadsheet's sum of
    them gives the acres of their total."""
    return Decimal(repr(float(area_m2 or 0))).quantize(SQUARE_METRE_PLACES, ROUND_HALF_UP)


def plural(count: int) -> str:
    return "" if count == 1 else "s"


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
    rows.extend(("notes", topic, "note", note) for topic, note in report.notes)
    for line in (*report.held, report.held_total):
        for measure in ("holdings", "parcels", "acres", "homes"):
            rows.append(("held_by_use", line.use, measure, text(getattr(line, measure))))
        rows.append(("held_by_use", line.use, "area_m2", text(square_metres(line.area_m2))))
    for line in report.leases:
        rows.append(("leases_by_status", line.status, "leases", text(line.leases)))
    rows.append(("leases_by_status", "total", "leases", text(report.leases_total)))
    rows.append(("fees_in_arrears", "total", "amount", text(report.arrears.total)))
    rows.append(("fees_in_arrears", "total", "leases", text(report.arrears.leases)))
    rows.append(("fees_in_arrears", "total", "leases_in_force", text(report.arrears.in_force)))
    for line in report.monitoring:
        rows.append(("open_monitoring", line.type, "events", text(line.open)))
    rows.append(("open_monitoring", "total", "events", text(report.monitoring_total)))
    conserved = report.conserved
    for item, measure, value in (
        ("in_force", "easements", conserved.easements),
        ("in_force", "acres", conserved.acres),
        ("in_force", "area_m2", square_metres(conserved.area_m2)),
        ("held_by_trust", "easements", conserved.held_by_trust),
        ("held_by_trust_over_its_land", "easements", conserved.merged),
        ("held_by_others", "easements", conserved.held_by_others),
        ("monitoring_due", "easements", conserved.monitoring_due),
        ("open_issues", "issues", conserved.open_issues),
        ("open_violations", "issues", conserved.open_violations),
    ):
        rows.append(("conservation_easements", item, measure, text(value)))
    for sale in report.resales:
        item = f"{sale.lease} {sale.contract_on.isoformat()}"
        for measure in ("use", "contract_on", "closed_on", "formula_price", "agreed_price",
                        "appraised_value", "preserved", "below_market_pct",
                        "buyer_income_pct_ami", "arrears_collected"):  # fmt: skip
            rows.append(("resales", item, measure, text(getattr(sale, measure))))
        above = {True: "yes", False: "no", None: ""}[sale.buyer_above_limit]
        rows.append(("resales", item, "buyer_above_income_limit", above))
        rows.append(("resales", item, "bought_by_trust", "yes" if sale.bought_by_trust else "no"))
    totals = report.resale_totals
    for measure in ("resales", "to_households", "leases", "formula_total", "agreed_total",
                    "appraised", "appraised_total", "preserved", "below_market_pct"):  # fmt: skip
        rows.append(("resales", "total", measure, text(getattr(totals, measure))))
    rows.append(("resales", "bought_by_trust", "purchases", text(totals.trust_purchases)))
    rows.append(("resales", "bought_by_trust", "agreed_total", text(totals.trust_paid)))
    rows.append(("resales", "under_contract", "sales", text(totals.under_contract)))
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
