"""Parties, ground leases and what hangs on them: fees, monitoring, appraisals, resales.

In LADM terms a ground lease is a *right* of the lessee parties on a leased unit (parcels of a
holding); the resale formula and the purchase option are *restrictions* in favour of the trust;
the fee, occupancy, insurance and taxes are the lessee's *responsibilities*.

Private data (names, contacts, incomes, fees, arrears, notes) lives here and only here: public
pages and layers never read these models. Every model is tracked by django-pghistory (database
triggers), so a change by any route, bulk SQL included, leaves a row saying who, when and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

import pghistory
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clt.dates import check_registry_date, refuse_after_today
from leases.queries import GroundLeaseQuerySet
from leases.resale.dates import held_between
from leases.resale.money import format_money, to_cent
from parcels.models import Holding, HoldingParcel, HoldingUse, Parcel, money, tracked

LEASE_TERM = [MinValueValidator(1), MaxValueValidator(999)]


class PartyKind(models.TextChoices):
    HOUSEHOLD = "household", "Household"
    COOPERATIVE = "cooperative", "Cooperative"
    ORGANISATION = "organisation", "Organisation"
    TRUST = "trust", "The land trust"


@pghistory.track(*tracked())
class Party(models.Model):
    """A lessee, buyer or seller: a household (with members), a co-op or an organisation."""

    kind = models.CharField(max_length=16, choices=PartyKind.choices)
    name = models.CharField(max_length=200, help_text="Private: never shown publicly")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    mailing_address = models.CharField(max_length=300, blank=True)
    household_size = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    annual_income = money(null=True, blank=True, help_text="Private: at the last certification")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "parties"

    def __str__(self) -> str:
        return self.name


@pghistory.track(*tracked())
class PartyMember(models.Model):
    """A person in a household or a member of a co-op, with their share."""

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="members")
    name = models.CharField(max_length=200)
    share = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Fraction of the party's interest (0 to 1)",
    )
    is_contact = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class LeaseStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    IN_DEFAULT = "in_default", "In default"
    TERMINATED = "terminated", "Terminated"
    EXPIRED = "expired", "Expired"


# The statuses of a lease that has ended (it needs its end date).
ENDED_STATUSES = (LeaseStatus.TERMINATED, LeaseStatus.EXPIRED)


class PermittedUse(models.TextChoices):
    RESIDENTIAL = "residential", "Residential"
    AGRICULTURAL = "agricultural", "Agricultural"
    COMMERCIAL_COOP = "commercial_coop", "Commercial co-op"
    COMMUNITY = "community", "Community use"


class TransferOnDeath(models.TextChoices):
    HEIRS_MAY_ASSUME = "heirs_may_assume", "Heirs who will occupy may assume the lease"
    HEIRS_MUST_SELL = "heirs_must_sell", "Heirs must sell at the formula price"
    TRUST_OPTION = "trust_option", "The trust may buy at the formula price"


def validate_formula(value: dict) -> None:
    """A stored resale formula must parse by the engine's strict rules."""
    from leases.resale import FormulaError, parse_formula

    try:
        parse_formula(value)
    except FormulaError as exc:
        raise ValidationError(f"resale formula: {exc}") from exc


@pghistory.track(*tracked())
class GroundLease(models.Model):
    """A ground lease: the lessee's right to use trust land, and the rules that come with it."""

    reference = models.CharField(max_length=40, unique=True, help_text="e.g. GL-2017-004")
    holding = models.ForeignKey(Holding, on_delete=models.PROTECT, related_name="leases")
    parcels = models.ManyToManyField(Parcel, related_name="leases", blank=True)
    lessees = models.ManyToManyField(Party, related_name="leases")
    starts_on = models.DateField(validators=[check_registry_date])
    # A lease of some years, at most 999 (the longest ground leases written); 0 years is no
    # lease, and a term of thousands of years ended past the calendar (a 500 on its page).
    term_years = models.PositiveSmallIntegerField(default=99, validators=LEASE_TERM)
    renewable = models.BooleanField(default=True)
    renewal_term_years = models.PositiveSmallIntegerField(default=99, validators=LEASE_TERM)
    permitted_use = models.CharField(max_length=20, choices=PermittedUse.choices)
    occupancy_months_per_year = models.PositiveSmallIntegerField(
        default=10, validators=[MaxValueValidator(12)],
        help_text="Months a year the lessee must live there (residential leases)",
    )
    # Kept in step with the fee changes by `sync_fee` (every write of a fee change), as the fee
    # in force on the day of that write; a change dated later does not move it early.
    fee_monthly = money(
        help_text="Monthly lease fee in force today: the latest fee change dated today or "
        "earlier. A change scheduled for a later date takes effect on that date (the resale "
        "price reads the fee by date)",
    )
    # Ground leases cap the yearly raise of the fee (3% a year, or the CPI's rise): a raise
    # beyond it is refused on the fee change (`fee_above_cap`). Blank for a lease that caps none.
    fee_increase_cap_pct = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        verbose_name="fee increase cap (% a year)",
        help_text="The most the lease lets the monthly fee rise: this % of the fee before, for "
        "each whole year since that fee took effect (simple, at least one year's worth), e.g. "
        "3. Blank: the lease caps no raise. A reduction or a suspension is always allowed",
    )  # fmt: skip
    arrears = money(default=Decimal("0"), help_text="Unpaid fees, collected at sale")
    taxes_paid_by_lessee = models.BooleanField(default=True)
    # What the home costs to own besides the mortgage and the fee; a mortgage-based resale
    # formula subtracts them from what the target household can pay.
    taxes_monthly = money(null=True, blank=True, help_text="Property taxes on the home, monthly")
    insurance_monthly = money(null=True, blank=True, help_text="Homeowner's insurance, monthly")
    permitted_mortgage = models.BooleanField(default=True)
    transfer_on_death = models.CharField(
        max_length=20, choices=TransferOnDeath.choices, default=TransferOnDeath.HEIRS_MAY_ASSUME
    )
    status = models.CharField(max_length=12, choices=LeaseStatus.choices, default="active")
    ended_on = models.DateField(validators=[check_registry_date], null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    # What the current lessee paid for the improvements, and when: the base of most formulas.
    purchase_price = money()
    purchase_date = models.DateField(validators=[check_registry_date])
    # Today's formula, kept in step by each write of a formula (`LeaseFormula`), as the fee is
    # by `sync_fee`: a sale is priced by the formula in force on its contract date
    # (`formula_in_force`), never by this field.
    resale_formula = models.JSONField(
        validators=[validate_formula],
        help_text="The formula in force today, in its JSON form (docs/resale-formulas.md). "
        "A sale is priced by the formula in force on its contract date",
    )
    notes = models.TextField(blank=True)

    objects = GroundLeaseQuerySet.as_manager()

    class Meta:
        ordering = ["reference"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("starts_on")),
                name="lease_ends_after_it_starts",
                violation_error_message="A lease cannot end before it starts.",
                violation_error_code="ends_before_it_starts",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["terminated", "expired"]) | Q(ended_on__isnull=False),
                name="ended_lease_has_an_end_date",
                violation_error_message="A terminated or expired lease needs its end date.",
                violation_error_code="ended_without_a_date",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def clean(self) -> None:
        """The lease's dates and status agree with each other, its holding and its other leases.

        The parcels are checked apart (`check_lease_parcels`): they are a many-to-many field,
        known only to the form or the action that sets them.
        """
        super().clean()
        errors: dict[str, list[str]] = {}
        if self.holding_id is not None and self.starts_on is not None:
            for name, message in holding_date_errors(self):
                errors.setdefault(name, []).append(message)
        if self.ended_on and self.starts_on and self.ended_on < self.starts_on:
            errors.setdefault("ended_on", []).append(
                f"The lease cannot end on {self.ended_on}, before it starts on {self.starts_on}."
            )
        if self.ended_on is not None and self.status == LeaseStatus.ACTIVE:
            errors.setdefault("status", []).append(
                f"The lease ended on {self.ended_on}, so it cannot be active: set the status to "
                "terminated or expired, or clear the end date."
            )
        if self.status in ENDED_STATUSES and not self.ended_on:
            errors.setdefault("ended_on", []).append(
                "A terminated or expired lease needs its end date."
            )
        capped = fee_changes_above_cap(self)
        if capped:
            errors.setdefault("fee_increase_cap_pct", []).append(capped)
        lock_holding(self.holding_id)
        overlap = self.overlapping_lease()
        if overlap is not None:
            errors.setdefault("starts_on", []).append(
                f"{self.holding} is a single home, and lease {overlap.reference} "
                f"({overlap.get_status_display().lower()}, {overlap.describe_period()}) covers "
                "part of the same time: give one of the two leases an end date before the "
                "other starts, or change this lease's start."
            )
        if errors:
            raise ValidationError(errors)

    def overlapping_lease(self) -> GroundLease | None:
        """Another lease of the same single-home holding whose period overlaps this one's.

        Only a single-family home is one lessee's at a time: a co-op building, a fourplex or a
        commercial centre may carry a lease per unit or tenant. Every lease counts by its
        period, whatever its status: a lease in default is still in force, and a terminated
        one was in force until its end date (a status says how a lease stands, not when).
        """
        if self.holding_id is None or self.starts_on is None:
            return None
        if self.holding.current_use != HoldingUse.SINGLE_FAMILY_HOME:
            return None
        others = GroundLease.objects.filter(holding=self.holding_id).exclude(pk=self.pk)
        for other in others.order_by("starts_on", "pk"):
            if periods_overlap(self.period(), other.period()):
                return other
        return None

    def period(self) -> tuple[dt.date, dt.date | None]:
        """When the lease is in force: from its start to the day it stops (its end date, else
        its expiry), the stop day excluded; None for a term not known yet (open-ended)."""
        return self.starts_on, self.ended_on or self.expires_on_or_none()

    def in_force_on(self, on: dt.date) -> bool:
        """Whether the lease had begun by `on` and not ended before it.

        The end date itself counts as in force here, unlike `GroundLeaseQuerySet.in_force`: a
        sale may close on the day the lease ends (a surrender on the sale to the trust).
        """
        starts_on, stops_on = self.period()
        return starts_on <= on and (stops_on is None or on <= stops_on)

    def describe_period(self) -> str:
        """The lease's period in words: "from 2017-06-01 to 2116-06-01", "from 2019-01-01"."""
        starts_on, stops_on = self.period()
        until = f" to {stops_on.isoformat()}" if stops_on else ""
        return f"from {starts_on.isoformat()}{until}"

    def expires_on_or_none(self) -> dt.date | None:
        """The expiry date, or None when the term is not set or runs past the calendar."""
        if self.starts_on is None or self.term_years is None:
            return None
        try:
            return self.expires_on
        except (ValueError, OverflowError):  # year 9999 + 99: no end within dates
            return None

    def fee_in_force(self, on: dt.date) -> Decimal:
        """The monthly fee in force on `on`: that of the latest fee change dated on or before it.

        Before the first change takes effect (a lease signed for a later date) it is the fee at
        signing, the first change's; with no fee change at all, the stored fee.
        """
        changes = self.fee_changes.order_by("-effective_on", "-pk")
        change = changes.filter(effective_on__lte=on).first() or changes.last()
        return change.fee_monthly if change else self.fee_monthly

    def formula_in_force(self, on: dt.date) -> LeaseFormula:
        """The resale formula for a sale contracted on `on`: the latest of the lease's formulas
        dated on or before it (the one signed, from the lease's start, or an amendment).

        Before the first one takes effect it is the first; a lease with none on record (one
        written straight to the table) has its stored formula, from its start, unsaved.
        """
        if self.pk is not None:
            formulas = self.formulas.order_by("-effective_on")
            found = formulas.filter(effective_on__lte=on).first() or formulas.last()
            if found is not None:
                return found
        return LeaseFormula(lease=self, effective_on=self.starts_on, formula=self.resale_formula)

    def last_contract_on(self) -> dt.date | None:
        """The contract date of the lease's latest resale on record, if any."""
        return self.resales.aggregate(latest=models.Max("contract_on"))["latest"]

    @property
    def expires_on(self) -> dt.date:
        try:
            return self.starts_on.replace(year=self.starts_on.year + self.term_years)
        except ValueError:  # 29 February
            return self.starts_on.replace(year=self.starts_on.year + self.term_years, day=28)


# Who holds a lease, and on which parcels, are its many-to-many fields: rows of Django's own
# join tables, which no tracker watched, so an heir put in place of a household left no trace
# (QA: lease administrator, finding 1). Each join table is tracked through a proxy of its
# through model (pghistory's way for a many-to-many: the table and the admin's widget stay as
# they are). A join row is never updated, only added or removed, so an insert says who was
# added and a delete who was removed; each carries the acting user and the action's name like
# any event (`clt.history.recorded`), and names the lease and the party or parcel.
#
# A lessee's events are found from their lease (`lease.lessee_events`, pghistory's own key has
# no reverse name): the lease list's search finds a lease by a former lessee's name, an heir's
# predecessor or a seller (QA: steward, finding 6). Every lessee added since tracking began has
# an insert event and every one removed a delete event, so a lease's events name everyone who
# has held it since.
@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.DeleteEvent(),
    attrs={
        "groundlease": models.ForeignKey(
            GroundLease, on_delete=models.DO_NOTHING, db_constraint=False,
            related_name="lessee_events",
        ),
    },
)  # fmt: skip
class LeaseLessee(GroundLease.lessees.through):
    """A party's place among a lease's lessees (a row of `GroundLease.lessees`)."""

    class Meta:
        proxy = True
        verbose_name = "lessee of a lease"
        verbose_name_plural = "lessees of leases"


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent())
class LeaseParcel(GroundLease.parcels.through):
    """A parcel's place in a lease (a row of `GroundLease.parcels`)."""

    class Meta:
        proxy = True
        verbose_name = "parcel of a lease"
        verbose_name_plural = "parcels of leases"


def fee_changes_above_cap(lease: GroundLease) -> str | None:
    """The first fee change on record above `lease`'s cap as it now reads (None: none is): a
    cap lowered or added after the raises it would have refused (QA re-test, finding 2)."""
    if lease.pk is None or lease.fee_increase_cap_pct is None:
        return None
    cap = lease.fee_increase_cap_pct
    for change in lease.fee_changes.order_by("effective_on", "pk"):
        if not fee_above_cap(lease, change):
            continue
        base_fee, base_on = fee_cap_base(lease, change)
        most = most_fee_allowed(base_fee, cap, base_on, change.effective_on)
        return (
            f"The fee change on record for {change.effective_on} "
            f"({format_money(change.fee_monthly)}) is above a cap of {cap.normalize():f}% a "
            f"year: from {format_money(base_fee)} on {base_on}, at most {format_money(most)}. "
            "Give the cap the lease was signed with, or correct that fee change first."
        )
    return None


def lock_holding(holding_id: int | None) -> None:
    """Lock the holding's row until the transaction ends, so that leases checked against the
    holding's other leases (`GroundLease.overlapping_lease`) are checked one after the other.

    Under READ COMMITTED a lease being signed cannot see another signed at the same moment
    and not yet committed: two staff signing leases on one home both passed the check, and
    the home had two leases in force (QA: review finding 1). With the lock, the second waits
    for the first to commit, and its check then reads the first's lease. `clean` takes it, so
    every path that validates a lease does: `lease_create` and `lease_terminate` (each in its
    named action's transaction) and the admin's add and change pages (the admin validates the
    form inside its transaction). FOR NO KEY UPDATE: it waits for another lease's check or an
    edit of the holding, not for a row merely referring to the holding (a parcel's
    membership, a source document). Outside a transaction no lock would outlive the query,
    so none is taken: a lease saved there is checked as before.
    """
    if holding_id is None or not transaction.get_connection().in_atomic_block:
        return
    Holding.objects.select_for_update(no_key=True).filter(pk=holding_id).exists()


Period = tuple[dt.date, dt.date | None]  # from (included) to (excluded); None: open-ended


def periods_overlap(one: Period, other: Period) -> bool:
    """Whether two periods share a day. One ending on the day the other starts does not: a
    lease may end on the day the next one begins (the trust re-leases the home at once)."""
    (one_from, one_to), (other_from, other_to) = one, other
    return (other_to is None or one_from < other_to) and (one_to is None or other_from < one_to)


def holding_date_errors(lease: GroundLease) -> list[tuple[str, str]]:
    """(field, message) for a lease that starts before its holding was acquired, or after the
    trust stopped holding it, or that runs past that end."""
    holding = lease.holding
    if lease.starts_on < holding.acquired_on:
        return [("starts_on", f"The lease starts on {lease.starts_on}, before the trust acquired "
                              f"{holding} on {holding.acquired_on}.")]
    if holding.ended_on is not None and lease.starts_on > holding.ended_on:
        return [("starts_on", f"The lease starts on {lease.starts_on}, after the trust stopped "
                              f"holding {holding} on {holding.ended_on}.")]
    past_end = runs_past_holding_end(lease)
    return [("ended_on", past_end)] if past_end else []


def runs_past_holding_end(lease: GroundLease) -> str | None:
    """Why `lease` runs past the day the trust stopped holding its land (None if it does not):
    the same rule, from the lease's side, as the holding page's "Lease ... runs past ...: end
    the lease first". A lease left on land the trust gave up was counted in force there, and a
    lease with no parcels got round the holding page's check (QA: lease administrator,
    finding 2). Its end is its end date, else the end of its term."""
    holding = lease.holding
    _, stops_on = lease.period()
    if holding.ended_on is None or (stops_on is not None and stops_on <= holding.ended_on):
        return None
    if lease.ended_on is not None:
        runs = f"ends on {lease.ended_on}"
    elif stops_on is not None:
        runs = f"runs to {stops_on}, the end of its {lease.term_years}-year term"
    else:
        runs = "has no end within the calendar"
    return (
        f"The lease {runs}, past {holding.ended_on}, when the trust stopped holding {holding}: "
        f"give the lease an end date on or before {holding.ended_on} (and its status "
        "terminated or expired), or correct the holding's end date."
    )


def parcels_for_lease(holding: Holding, parcels: Iterable[Parcel]) -> list[Parcel]:
    """The parcels a lease on `holding` is on: those given, each one the holding holds now
    (`check_lease_parcels`); none given, every parcel the holding holds now, as `lease_create`
    and the admin's add page both sign it. A ValidationError on `parcels` when there are none:
    a lease on no parcel is missing from the staff map and its search, and escaped the holding
    page's check that no lease runs past the end of the land it is on."""
    chosen = list(parcels)
    if chosen:
        check_lease_parcels(holding, chosen)
        return chosen
    held = list(
        holding.parcels.filter(holdingparcel__ended_on__isnull=True).order_by("apn").distinct()
    )
    if not held:
        raise ValidationError(
            {"parcels": f"{holding} holds no parcel now, so a lease on it would be on no land: "
                        "add the holding's parcels on its page first, or choose another "
                        "holding."},
            code="holding_without_parcels",
        )  # fmt: skip
    return held


def check_lease_parcels(holding: Holding, parcels: Iterable[Parcel]) -> None:
    """Every parcel of a lease is one its holding holds now; else a ValidationError on
    `parcels` naming the APNs that are not."""
    current = set(
        HoldingParcel.objects.filter(holding=holding, ended_on__isnull=True).values_list(
            "parcel_id", flat=True
        )
    )
    outside = sorted(parcel.apn for parcel in parcels if parcel.pk not in current)
    if outside:
        raise ValidationError(
            {"parcels": f"Not parcels of {holding} now: {', '.join(outside)}."},
            code="parcel_outside_holding",
        )


def lease_of(row: models.Model) -> GroundLease | None:
    """The lease a fee change, event or appraisal hangs on; None while the form has none (a
    row of a page whose lease is not chosen yet)."""
    try:
        return row.lease
    except GroundLease.DoesNotExist:  # Django's RelatedObjectDoesNotExist
        return None


def lease_named(lease: GroundLease) -> str:
    """ "lease GL-2020-005", or "the lease" for one not given its reference yet."""
    return f"lease {lease.reference}" if lease.reference else "the lease"


def lease_stopped(lease: GroundLease, stops_on: dt.date) -> str:
    """How and when the lease stopped: "lease GL-2020-005 ended on 2026-11-15", "lease
    GL-2024-016's term ran out on 2025-11-01"."""
    if lease.ended_on is not None:
        return f"{lease_named(lease)} ended on {stops_on}"
    return f"{lease_named(lease)}'s term ran out on {stops_on}"


@pghistory.track(*tracked())
class LeaseFeeChange(models.Model):
    """A change of the monthly fee: the trust may reduce or suspend it; a raise is within the
    lease's fee increase cap, if it has one (`fee_above_cap`)."""

    lease = models.ForeignKey(GroundLease, on_delete=models.CASCADE, related_name="fee_changes")
    effective_on = models.DateField(validators=[check_registry_date])
    fee_monthly = money()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["lease", "effective_on"]

    def __str__(self) -> str:
        """ "$25.00 a month from 2021-06-01": each row of a lease's fee changes is titled by
        this (it said "LeaseFeeChange object (1)"); not the lease's name, a query per row."""
        return f"${self.fee_monthly:,.2f} a month from {self.effective_on}"

    def clean(self) -> None:
        """The change falls within its lease's period: no fee is due before a lease starts or
        after it ends, so a date outside is a typo, and `fee_in_force` would price a sale by
        it (a change dated five years before the start became the fee at signing)."""
        super().clean()
        lease = lease_of(self)
        if lease is None or lease.starts_on is None or self.effective_on is None:
            return
        starts_on, stops_on = lease.period()
        if self.effective_on < starts_on:
            raise ValidationError(
                {"effective_on": f"{self.effective_on} is before {lease_named(lease)} starts, on "
                                 f"{starts_on}: no fee is due before the lease. Give the "
                                 "lease's start or a later date (is the year mistyped?)."},
                code="fee_before_the_lease",
            )  # fmt: skip
        if stops_on is not None and self.effective_on > stops_on:
            raise ValidationError(
                {"effective_on": f"{self.effective_on} is after "
                                 f"{lease_stopped(lease, stops_on)}: no fee is due after the "
                                 "lease. Give a date within the lease (is the year "
                                 "mistyped?)."},
                code="fee_after_the_lease",
            )  # fmt: skip
        above_cap = fee_above_cap(lease, self) or next_fee_above_cap(lease, self)
        if above_cap:
            raise ValidationError({"fee_monthly": above_cap}, code="fee_above_the_cap")


def fee_above_cap(lease: GroundLease, change: LeaseFeeChange) -> str | None:
    """Why `change` raises `lease`'s fee by more than the lease's cap allows (None when it
    does not, or the lease caps no raise): "GL-2016-014 caps fee increases at 3% a year: from
    $75.00 on 2025-01-01, at most $77.25 on 2026-11-01...". The docstring of `LeaseFeeChange`
    said increases were capped, and $75 to $2,500 saved without a word (QA: steward, finding
    5). A reduction or a suspension is never above it."""
    cap_pct, fee = lease.fee_increase_cap_pct, change.fee_monthly
    if cap_pct is None or fee is None:
        return None
    base = fee_cap_base(lease, change)
    if base is None:
        return None
    base_fee, base_on = base
    most = most_fee_allowed(base_fee, cap_pct, base_on, change.effective_on)
    if fee <= most:
        return None
    named = lease.reference or "The lease"
    cap = f"{cap_pct.normalize():f}%"
    return (
        f"{named} caps fee increases at {cap} a year: from {format_money(base_fee)} on "
        f"{base_on}, at most {format_money(most)} on {change.effective_on}, not "
        f"{format_money(fee)}. Give a fee of at most {format_money(most)}, or a later date (the "
        f"cap allows {cap} for each whole year since {base_on}); if the lease's terms allow "
        "more, correct its fee increase cap first."
    )


def next_fee_above_cap(lease: GroundLease, change: LeaseFeeChange) -> str | None:
    """Why `change`, dated before a raise already on record, would put that raise above the
    cap (None when it would not): `change` becomes the fee the next change is capped from.
    Checked alone, a fee of $79.50 put in 2024 under a 3% cap let the $86.25 recorded for 2026
    stand, a rise of 8.5% over two years (QA re-test, finding 2)."""
    cap_pct, fee, on = lease.fee_increase_cap_pct, change.fee_monthly, change.effective_on
    if cap_pct is None or not fee or on is None or lease.pk is None:
        return None  # a suspension (0) is no base (`fee_cap_base`)
    later = lease.fee_changes.exclude(pk=change.pk).filter(effective_on__gt=on)
    following = later.order_by("effective_on", "pk").first()
    if following is None:
        return None
    most = most_fee_allowed(fee, cap_pct, on, following.effective_on)
    if following.fee_monthly <= most:
        return None
    named = lease.reference or "The lease"
    return (
        f"{named} caps fee increases at {cap_pct.normalize():f}% a year: from "
        f"{format_money(fee)} on {on}, the fee change already recorded for "
        f"{following.effective_on} ({format_money(following.fee_monthly)}) would be above the "
        f"most allowed, {format_money(most)}. Give a fee of at least "
        f"{format_money(_least_base(following.fee_monthly, cap_pct, on, following.effective_on))}"
        ", or correct the later change first."
    )


def _least_base(later_fee: Decimal, cap_pct: Decimal, on: dt.date, later_on: dt.date) -> Decimal:
    """The lowest fee on `on` from which `later_fee` on `later_on` is within the cap, to the
    cent, rounded up."""
    years = max(1, held_between(on, later_on).years)
    least = later_fee / (1 + cap_pct / 100 * years)
    return least.quantize(Decimal("0.01"), rounding="ROUND_CEILING")


def fee_cap_base(lease: GroundLease, change: LeaseFeeChange) -> tuple[Decimal, dt.date] | None:
    """The fee a raise on `change`'s date is capped from, and the day it took effect: the
    latest of the lease's other fee changes dated before it that charges a fee, else the fee
    at signing (as `fee_in_force` has it: the first fee change's, else the lease's fee) from
    the lease's start. A suspension (0) waits out a hardship or repairs: it is no base, or the
    fee could never be charged again. None for a change on the lease's start or before: it is
    the fee at signing, which nothing caps."""
    on = change.effective_on
    if on is None or lease.starts_on is None or on <= lease.starts_on:
        return None
    others = (
        lease.fee_changes.exclude(pk=change.pk)
        if lease.pk is not None  # a lease being added has no fee change saved yet
        else LeaseFeeChange.objects.none()
    )
    earlier = others.filter(effective_on__lt=on, fee_monthly__gt=0)
    latest = earlier.order_by("-effective_on", "-pk").first()
    if latest is not None:
        return latest.fee_monthly, latest.effective_on
    first = others.order_by("effective_on", "pk").first()
    return (first.fee_monthly if first else lease.fee_monthly), lease.starts_on


def most_fee_allowed(base_fee: Decimal, cap_pct: Decimal, base_on: dt.date, on: dt.date) -> Decimal:
    """The highest monthly fee a cap of `cap_pct`% a year allows on `on`, from `base_fee` in
    force since `base_on`: simple, `cap_pct`% of the base for each whole year between them (as
    the resale formulas count years), at least one year's worth (a raise within the first
    year may take the year's); to the cent, half up."""
    years = max(1, held_between(base_on, on).years)
    return to_cent(base_fee * (1 + cap_pct / 100 * years))


@pghistory.track(*tracked())
class LeaseFormula(models.Model):
    """A lease's resale formula from a date: the one signed with the lease, from its start, or
    an amendment ("for sales contracted on or after 2026-11-24, 2% simple").

    A sale is priced by the formula in force on its contract date (`formula_in_force`), so an
    amendment never reprices a sale contracted before it. Written only by the named action
    `leases.actions.lease_set_formula` (the lease page goes through its step): a row is never
    edited by hand, and an amendment made by mistake is amended again on its date.
    """

    lease = models.ForeignKey(GroundLease, on_delete=models.CASCADE, related_name="formulas")
    effective_on = models.DateField(
        validators=[check_registry_date], help_text="The first contract date it applies to"
    )
    formula = models.JSONField(
        validators=[validate_formula],
        help_text="The formula in its JSON form (docs/resale-formulas.md)",
    )
    note = models.CharField(
        max_length=300,
        blank=True,
        help_text="Where it comes from: as signed, or the amendment (who signed it, when)",
    )

    class Meta:
        ordering = ["lease", "effective_on"]
        verbose_name = "resale formula"
        constraints = [
            models.UniqueConstraint(
                fields=["lease", "effective_on"],
                name="one_lease_formula_per_date",
                violation_error_message="The lease already has a formula from this date.",
            ),
        ]

    def __str__(self) -> str:
        """ "Formula from 2026-11-24 (amendment signed 2026-11-20)": the history of a lease's
        formulas is titled by this."""
        note = f" ({self.note})" if self.note else ""
        return f"Formula from {self.effective_on}{note}"

    def describe(self) -> str:
        """Which formula this is, as the price panel names it: "formula in force from
        2026-11-24 (fixed-rate formula; amendment signed 2026-11-20)"."""
        from leases.resale import FormulaError, parse_formula

        try:
            what = [parse_formula(self.formula).title]
        except FormulaError:  # the price says what is wrong with it
            what = []
        what += [self.note] if self.note else []
        said = f" ({'; '.join(what)})" if what else ""
        return f"formula in force from {self.effective_on.isoformat()}{said}"


def formula_date_error(lease: GroundLease, effective_on: dt.date) -> str | None:
    """Why `lease`'s formula cannot be amended from `effective_on` (None when it can): before the
    lease starts there is no lease to amend, and before its latest resale the amendment would
    reprice a sale contracted under the formula then in force."""
    if effective_on < lease.starts_on:
        return (
            f"Lease {lease.reference} starts on {lease.starts_on.isoformat()}: a formula cannot "
            f"apply from {effective_on.isoformat()}, before the lease. Give its start or a later "
            "date."
        )
    contract_on = lease.last_contract_on()
    if contract_on is not None and effective_on < contract_on:
        return (
            f"A resale of lease {lease.reference} was contracted on {contract_on.isoformat()}, "
            f"priced by the formula in force then: an amendment from {effective_on.isoformat()} "
            f"would reach back before that sale. Give {contract_on.isoformat()} or a later date "
            "(an amendment applies to the sales contracted on or after its date)."
        )
    return None


class MonitoringType(models.TextChoices):
    """The monitoring events HomeKeeper tracks on a lease."""

    OCCUPANCY_CERTIFICATION = "occupancy_certification", "Occupancy certification"
    PROOF_OF_INSURANCE = "proof_of_insurance", "Proof of insurance"
    INSPECTION = "inspection", "Inspection"
    LATE_FEE_PAYMENT = "late_fee_payment", "Late lease-fee payment"
    DELINQUENT_90_DAYS = "delinquent_90_days", "90+ days delinquent"
    NOTICE_OF_FORECLOSURE = "notice_of_foreclosure", "Notice of foreclosure"
    ENFORCEMENT_VIOLATION = "enforcement_violation", "Enforcement violation"
    REQUEST_LEAVE_OF_ABSENCE = "request_leave_of_absence", "Request: leave of absence"
    REQUEST_TO_RENT = "request_to_rent", "Request: to rent"
    REQUEST_TO_REFINANCE = "request_to_refinance", "Request: to refinance"
    REQUEST_TO_IMPROVE = "request_to_improve", "Request: to improve"
    REQUEST_SHORT_SALE = "request_short_sale", "Request: short sale"
    OTHER = "other", "Other"


# What a resale closing settles: the kinds of monitoring event about the selling household, not
# the home. The buyer does not take on the seller's late or unpaid fees (collected from the sale
# proceeds), the foreclosure notice on the seller's mortgage (paid off by the sale), the seller's
# certifications (the buyer certifies their own occupancy and insurance), or the seller's
# requests (to be away, rent, refinance, improve or sell short: the seller no longer holds the
# lease). Left open, for staff to judge: inspections (about the home itself), enforcement
# violations (an unapproved structure stays with the home; a household's conduct does not, and
# only staff know which it is) and "other".
SETTLED_AT_RESALE = frozenset({
    MonitoringType.OCCUPANCY_CERTIFICATION,
    MonitoringType.PROOF_OF_INSURANCE,
    MonitoringType.LATE_FEE_PAYMENT,
    MonitoringType.DELINQUENT_90_DAYS,
    MonitoringType.NOTICE_OF_FORECLOSURE,
    MonitoringType.REQUEST_LEAVE_OF_ABSENCE,
    MonitoringType.REQUEST_TO_RENT,
    MonitoringType.REQUEST_TO_REFINANCE,
    MonitoringType.REQUEST_TO_IMPROVE,
    MonitoringType.REQUEST_SHORT_SALE,
})  # fmt: skip


class MonitoringStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    RESOLVED = "resolved", "Resolved"


@pghistory.track(*tracked())
class MonitoringEvent(models.Model):
    """Something staff must follow on a lease: a certification, a late payment, a request."""

    lease = models.ForeignKey(GroundLease, on_delete=models.CASCADE, related_name="monitoring")
    type = models.CharField(max_length=32, choices=MonitoringType.choices)
    on = models.DateField(validators=[check_registry_date])
    status = models.CharField(max_length=12, choices=MonitoringStatus.choices, default="open")
    resolved_on = models.DateField(validators=[check_registry_date], null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["lease", "-on"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="resolved") | Q(resolved_on__isnull=False),
                name="resolved_event_has_a_date",
                violation_error_message="A resolved event needs its resolution date.",
                violation_error_code="resolved_without_a_date",
            ),
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=models.F("on")),
                name="event_resolved_after_it_opens",
                violation_error_message="An event cannot be resolved before it happened.",
                violation_error_code="resolved_before_it_opens",
            ),
        ]

    def __str__(self) -> str:
        """The event as its row on the lease page is titled: "Inspection on 2026-03-01 (open)",
        "Proof of insurance on 2025-01-15 (resolved on 2025-02-01)"."""
        on = self.on.isoformat() if self.on else "an unknown date"
        if self.status == MonitoringStatus.RESOLVED and self.resolved_on:
            state = f"resolved on {self.resolved_on.isoformat()}"
        else:
            state = self.get_status_display().lower()
        return f"{self.get_type_display()} on {on} ({state})"

    def clean(self) -> None:
        """The resolution date agrees with the event's date and its status."""
        super().clean()
        errors: dict[str, ValidationError] = {}
        if self.resolved_on and self.on and self.resolved_on < self.on:
            errors["resolved_on"] = ValidationError(
                f"{self.resolved_on} is before the event, on {self.on}.",
                code="resolved_before_it_opens",
            )
        if self.resolved_on and self.status != MonitoringStatus.RESOLVED:
            # Else the event counts as open in the report and as resolved by its date.
            errors["status"] = ValidationError(
                f"The event was resolved on {self.resolved_on}, so it cannot be "
                f"{self.get_status_display().lower()}: set the status to resolved, or clear "
                "the resolution date.",
                code="unresolved_with_a_date",
            )
        if self.on:
            outside = self.outside_the_lease()
            if outside:
                errors["on"] = ValidationError(outside, code="event_outside_the_lease")
        if errors:
            raise ValidationError(errors)

    def outside_the_lease(self) -> str | None:
        """Why the event's date is no date of its lease's (None when it is one).

        Before the lease started, an event is a typo. After it ended, follow-up is real for a
        while (an inspection when the home comes back to the trust, enforcement over unpaid
        fees), so an event up to MONITORING_AFTER_END past the end is taken; later, it is no
        longer this lease's, most often a mistyped year (an inspection dated 2030 on a lease
        ended in 2026)."""
        lease = lease_of(self)
        if lease is None or lease.starts_on is None:
            return None
        starts_on, stops_on = lease.period()
        if self.on < starts_on:
            return (
                f"{self.on} is before {lease_named(lease)} starts, on {starts_on}: an event "
                "on a lease happens during it. Correct the date (is the year mistyped?), or "
                "record the event on the lease it belongs to."
            )
        if stops_on is not None and self.on > stops_on + MONITORING_AFTER_END:
            return (
                f"{self.on} is more than a year after {lease_stopped(lease, stops_on)}: "
                "follow-up after a lease ends (an inspection, enforcement) is recorded on it "
                "for a year at most. Correct the date (is the year mistyped?), or record the "
                "event on the home's current lease."
            )
        return None


# How long after a lease ends its follow-up is still recorded on it (`outside_the_lease`).
MONITORING_AFTER_END = dt.timedelta(days=365)


class AppraisalPurpose(models.TextChoices):
    PURCHASE = "purchase", "At purchase"
    RESALE = "resale", "At resale"
    REFINANCE = "refinance", "Refinance"
    OTHER = "other", "Other"


@pghistory.track(*tracked())
class Appraisal(models.Model):
    """A market appraisal of a leased home (the land excluded or included, as stated)."""

    lease = models.ForeignKey(GroundLease, on_delete=models.CASCADE, related_name="appraisals")
    on = models.DateField(validators=[check_registry_date])
    value = money()
    purpose = models.CharField(max_length=12, choices=AppraisalPurpose.choices)
    appraiser = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["lease", "on"]

    def __str__(self) -> str:
        """ "Appraisal on 2021-05-20 (at purchase): $95,000.00" (it said "Appraisal object
        (1)")."""
        return f"Appraisal on {self.on} ({self.get_purpose_display().lower()}): ${self.value:,.2f}"

    def clean(self) -> None:
        """An appraisal's date fits its purpose and its lease: one at resale or for a refinance
        values a home under the lease, so not before it starts; one at purchase may precede the
        purchase by the months the resale price accepts (`leases.pricing`: 12, the age lenders
        accept), so not by more before the lease's start. "Other" is not checked: the trust
        may have the home valued before signing."""
        super().clean()
        # A year typed wrong (2062 for 2026) silently dropped the appraisal from today's price.
        refuse_after_today("on", self.on, "record an appraisal once it has been made.")
        lease = lease_of(self)
        if lease is None or lease.starts_on is None or self.on is None:
            return
        error = appraisal_date_error(lease, self.on, self.purpose)
        if error:
            raise ValidationError({"on": error}, code="appraisal_outside_the_lease")


def appraisal_date_error(lease: GroundLease, on: dt.date, purpose: str) -> str | None:
    """Why an appraisal for `purpose` dated `on` cannot be one of `lease`'s (None if it can)."""
    from leases.pricing import APPRAISAL_VALID_MONTHS, months_before

    named, starts_on = lease_named(lease), lease.starts_on
    if purpose == AppraisalPurpose.PURCHASE:
        earliest = months_before(starts_on, APPRAISAL_VALID_MONTHS)
        if on < earliest:
            return (
                f"An appraisal at purchase on {on} is more than {APPRAISAL_VALID_MONTHS} months "
                f"before {named} starts, on {starts_on}: too old to value a purchase under it "
                f"(the resale price takes one from {APPRAISAL_VALID_MONTHS} months before the "
                "purchase). Correct the date (is the year mistyped?)."
            )
    elif purpose in (AppraisalPurpose.RESALE, AppraisalPurpose.REFINANCE) and on < starts_on:
        what = "at resale" if purpose == AppraisalPurpose.RESALE else "for a refinance"
        return (
            f"An appraisal {what} on {on} is before {named} starts, on {starts_on}: it values "
            "the home under the lease. Correct the date (is the year mistyped?), or the "
            "purpose (the appraisal of the lessee's purchase is “At purchase”)."
        )
    return None


@pghistory.track(*tracked())
class CapitalImprovement(models.Model):
    """A capital improvement the trust approved, credited at resale by the lease's rules."""

    lease = models.ForeignKey(GroundLease, on_delete=models.CASCADE, related_name="improvements")
    description = models.CharField(max_length=200)
    approved_on = models.DateField(validators=[check_registry_date])
    completed_on = models.DateField(validators=[check_registry_date], null=True, blank=True)
    cost = money()
    credit = money(help_text="Amount credited to the resale price")

    def __str__(self) -> str:
        """ "New roof, approved 2023-04-02" (it said "CapitalImprovement object (1)")."""
        return f"{self.description}, approved {self.approved_on}"

    def clean(self) -> None:
        # Only in the form and the actions, not a database constraint: resale credits are for
        # improvements approved beforehand, but an old record may say otherwise.
        super().clean()
        if self.completed_on and self.approved_on and self.completed_on < self.approved_on:
            raise ValidationError(
                {"completed_on": f"{self.completed_on} is before the approval, on "
                                 f"{self.approved_on}: the trust approves an improvement first."},
                code="completed_before_approval",
            )  # fmt: skip


@pghistory.track(*tracked())
class RepairDeduction(models.Model):
    """Repairs needed to bring the home to standard, deducted at resale."""

    lease = models.ForeignKey(GroundLease, on_delete=models.CASCADE, related_name="repairs")
    description = models.CharField(max_length=200)
    assessed_on = models.DateField(validators=[check_registry_date])
    amount = money()

    def __str__(self) -> str:
        """ "Porch steps, assessed 2026-10-01" (it said "RepairDeduction object (1)")."""
        return f"{self.description}, assessed {self.assessed_on}"

    def clean(self) -> None:
        """A repair is recorded once assessed: one dated after today (a mistyped year) was
        left out of today's price without a word."""
        super().clean()
        refuse_after_today("assessed_on", self.assessed_on,
                           "record a repair once it has been assessed.")  # fmt: skip


@pghistory.track(*tracked())
class Resale(models.Model):
    """A sale of a leased home from one household to the next: the chain of owners."""

    lease = models.ForeignKey(GroundLease, on_delete=models.PROTECT, related_name="resales")
    seller = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="sales")
    buyer = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="purchases")
    contract_on = models.DateField(validators=[check_registry_date])
    closed_on = models.DateField(validators=[check_registry_date], null=True, blank=True)
    formula_price = money()
    agreed_price = money()
    appraised_value = money(null=True, blank=True, help_text="Market value at resale")
    buyer_income_pct_ami = models.DecimalField(
        max_digits=5, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000"))],
        help_text="Buyer household income as % of area median income (0 to 1000)",
    )
    # Written by the closing (`leases.actions.lease_settle_seller`), not typed: the lease's
    # arrears on the day, which the closing then clears.
    arrears_collected = money(
        default=Decimal("0"),
        help_text="The seller's unpaid lease fees, collected from the sale proceeds at closing",
    )

    class Meta:
        ordering = ["lease", "contract_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(agreed_price__lte=models.F("formula_price")),
                name="resale_within_formula_price",
                violation_error_message="The agreed price is above the formula price.",
                violation_error_code="above_formula_price",
            ),
        ]

    def __str__(self) -> str:
        """ "Resale of GL-2021-007, contract 2026-11-10, closed 2026-11-20": the admin titles
        each resale under its lease by this (it said "Resale object (1)")."""
        closed = f", closed {self.closed_on.isoformat()}" if self.closed_on else ", not closed"
        contract = self.contract_on.isoformat() if self.contract_on else "not dated"
        lease = self.lease.reference if self.lease_id else "a lease not chosen yet"
        return f"Resale of {lease}, contract {contract}{closed}"


class IndexKind(models.TextChoices):
    AREA_MEDIAN_INCOME = "ami", "Area median income (HUD)"
    HUD_INCOME_LIMIT = "hud_income_limit", "HUD income limit"
    CPI = "cpi", "Consumer price index"
    OTHER = "other", "Other published index"


@pghistory.track(*tracked())
class IndexSeries(models.Model):
    """A published table (AMI, HUD income limits, CPI...) with where it came from."""

    name = models.CharField(max_length=100, unique=True, help_text="e.g. jackson-ms-ami")
    kind = models.CharField(max_length=20, choices=IndexKind.choices)
    area = models.CharField(max_length=100, blank=True, help_text="e.g. Jackson, MS MSA")
    # Where the values came from, by year when loads brought several sources (each value keeps
    # its own: IndexValue.source); `leases.indexes.describe_sources` writes it after each load.
    source = models.TextField(help_text="Publisher and document or URL")
    loaded_from = models.CharField(
        max_length=300, blank=True, help_text="The file of the latest load"
    )
    # Set by each load (`leases.indexes.index_load`), not by every save: an edit in the admin
    # is no load, and a saved-anyway timestamp wrote a history event for each admin save.
    loaded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "index series"

    def __str__(self) -> str:
        return self.name


INDEX_YEARS = (1900, 2200)  # the years a published index value may be for


@pghistory.track(*tracked())
class IndexValue(models.Model):
    """One published value: a year (and month), and for income limits a size and a level."""

    # The same bounds as `clt load-index` (leases.indexes), so a value typed in the admin is
    # one the loader would have taken: a bad one breaks every lease priced on the series.
    series = models.ForeignKey(IndexSeries, on_delete=models.CASCADE, related_name="values")
    year = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(INDEX_YEARS[0]), MaxValueValidator(INDEX_YEARS[1])]
    )
    month = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    household_size = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(8)]
    )
    percent_of_median = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="30, 50 or 80 for HUD income limits",
        validators=[MinValueValidator(1), MaxValueValidator(200)],
    )
    value = models.DecimalField(
        max_digits=14, decimal_places=4, validators=[MinValueValidator(Decimal("0.0001"))],
        help_text="A positive number",
    )
    # The provenance of this value: a series loaded year by year has a source per load.
    source = models.CharField(
        max_length=300, blank=True, help_text="Publisher and document or URL of this value"
    )
    loaded_from = models.CharField(max_length=300, blank=True, help_text="The file it came from")

    class Meta:
        ordering = ["series", "year", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year", "month", "household_size", "percent_of_median"],
                name="one_index_value_per_key",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        """ "jackson-ms-ami 2024", "hud-il 2024, 4 persons, 80% of median": the history of a
        value is titled by this (it said "IndexValue object (7)")."""
        when = f"{self.year}" + (f"-{self.month:02d}" if self.month else "")
        size = f", {self.household_size} persons" if self.household_size else ""
        level = f", {self.percent_of_median}% of median" if self.percent_of_median else ""
        series = self.series.name if self.series_id else "a series not chosen yet"
        return f"{series} {when}{size}{level}"


class SourceKind(models.TextChoices):
    DEED = "deed", "Deed"
    LAND_PATENT = "land_patent", "Land patent"
    RECORDED_LEASE = "recorded_lease", "Recorded lease"
    APPRAISAL = "appraisal", "Appraisal report"
    EASEMENT_DEED = "easement_deed", "Conservation easement deed"
    BASELINE = "baseline_report", "Baseline documentation report"
    MONITORING = "monitoring_report", "Monitoring report"
    OTHER = "other", "Other"


@pghistory.track(*tracked())
class SourceDocument(models.Model):
    """A document behind a record (LADM source): deed, patent, recorded lease, appraisal."""

    kind = models.CharField(max_length=24, choices=SourceKind.choices)
    reference = models.CharField(max_length=200, help_text="Book/page, instrument no. or file")
    recorded_on = models.DateField(validators=[check_registry_date], null=True, blank=True)
    holding = models.ForeignKey(
        Holding, null=True, blank=True, on_delete=models.CASCADE, related_name="sources"
    )
    lease = models.ForeignKey(
        GroundLease, null=True, blank=True, on_delete=models.CASCADE, related_name="sources"
    )
    easement = models.ForeignKey(
        "parcels.ConservationEasement", null=True, blank=True, on_delete=models.CASCADE,
        related_name="sources",
    )  # fmt: skip

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.reference}"

    def clean(self) -> None:
        """A source stands behind one record, is of a kind that record has, and was recorded
        by today: one saved with no record, a recorded lease on an easement or a report dated
        next year were all accepted."""
        super().clean()
        records = {"holding": self.holding_id, "lease": self.lease_id,
                   "easement": self.easement_id}  # fmt: skip
        named = [name for name, pk in records.items() if pk is not None]
        # None yet is left to the form: under its record's page the record is set on saving.
        if len(named) > 1:
            raise ValidationError(
                "A source stands behind one record: choose its holding, its lease or its "
                f"easement, not {' and '.join(named)}.",
                code="one_record",
            )
        allowed = SOURCE_KINDS_OF[named[0]] if named else tuple(SourceKind)
        if self.kind and self.kind not in allowed:
            kinds = ", ".join(str(SourceKind(kind).label).lower() for kind in allowed)
            raise ValidationError(
                {"kind": f"The source of {'an' if named[0] == 'easement' else 'a'} "
                         f"{named[0]} is one of: {kinds}."},
                code="kind_of_record",
            )
        refuse_after_today("recorded_on", self.recorded_on,
                           "a document is recorded once it exists.")  # fmt: skip


# The kinds of source each record may have (`SourceDocument.clean`).
SOURCE_KINDS_OF = {
    "holding": (SourceKind.DEED, SourceKind.LAND_PATENT, SourceKind.APPRAISAL, SourceKind.OTHER),
    "lease": (SourceKind.RECORDED_LEASE, SourceKind.APPRAISAL, SourceKind.DEED, SourceKind.OTHER),
    "easement": (SourceKind.EASEMENT_DEED, SourceKind.BASELINE, SourceKind.MONITORING,
                 SourceKind.APPRAISAL, SourceKind.OTHER),
}
