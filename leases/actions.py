"""Writes to ground leases, each a named action (see clt.history).

Each action validates with the models' rules (`full_clean`) before it writes, so bad values fail
with the field named and nothing saved.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from clt.history import recorded
from leases.models import (
    ENDED_STATUSES,
    SETTLED_AT_RESALE,
    GroundLease,
    LeaseFeeChange,
    LeaseFormula,
    LeaseStatus,
    MonitoringEvent,
    MonitoringStatus,
    MonitoringType,
    Party,
    PartyKind,
    Resale,
    formula_date_error,
    parcels_for_lease,
)
from leases.resale.money import format_money
from parcels.models import Holding, Parcel


def lease_create(
    *,
    lessees: Iterable[Party],
    parcels: Iterable[Parcel] = (),
    user=None,
    **fields,
) -> GroundLease:
    """Sign a new ground lease; its first fee is recorded as the first fee change.

    Without `parcels`, the lease is on every parcel its holding holds now.
    """
    with recorded("lease_create", user):
        lease = GroundLease(**fields)
        lease.full_clean()
        parcels = parcels_for_lease(lease.holding, parcels)
        lease.save()
        lease.lessees.set(lessees)
        lease.parcels.set(parcels)
        LeaseFeeChange.objects.create(
            lease=lease, effective_on=lease.starts_on, fee_monthly=lease.fee_monthly,
            reason="fee at signing",
        )
        formula_keep_signed(lease)
        holding_unlist_for(lease)
    return lease


def holding_unlist_for(lease: GroundLease) -> Holding | None:
    """Take the lease's holding off the public "available now" list, if it is on it and the
    lease takes the home: a lease in force or starting later (a lease entered as history,
    ended before today, leaves the list as it is). Returns the holding it unlisted.

    Run it inside the named action that signed or passed the lease. The flag, not a query on
    leases, is what the public map reads: during a resale the seller still holds the lease
    while the home is offered to the next household.
    """
    holding = lease.holding
    _, stops_on = lease.period()
    if not holding.available or (stops_on is not None and stops_on <= timezone.localdate()):
        return None
    holding.available = False
    holding.save(update_fields=["available"])
    return holding


def unlisted_message(holding: Holding) -> str:
    """What staff are told when a lease took a home off the available list."""
    return f"{holding} is no longer listed as available."


def fee_change(
    *, lease: GroundLease, fee_monthly: Decimal, effective_on: dt.date, reason: str, user=None
) -> LeaseFeeChange:
    """Change the monthly fee from a date (reduce, suspend with 0, or raise within the cap).

    The lease's stored fee follows at once only if the date has come (today or earlier).
    """
    with recorded("fee_change", user):
        change = LeaseFeeChange(
            lease=lease, effective_on=effective_on, fee_monthly=fee_monthly, reason=reason
        )
        change.full_clean()
        change.save()
        # The stored fee is today's: a change dated later takes effect on its date.
        lease.fee_monthly = lease.fee_in_force(timezone.localdate())
        lease.save(update_fields=["fee_monthly"])
    return change


def lease_set_formula(
    *,
    lease: GroundLease,
    formula: dict,
    effective_on: dt.date | None = None,
    note: str = "",
    user=None,
) -> GroundLease:
    """Amend the lease's resale formula for the sales contracted on or after `effective_on`
    (today, the trust's day); a sale contracted before keeps the formula in force on its
    contract date. Refused before the lease's start or its latest resale (`formula_amend`)."""
    with recorded("lease_set_formula", user):
        on = effective_on or timezone.localdate()
        formula_amend(lease=lease, formula=formula, effective_on=on, note=note)
    return lease


def formula_amend(
    *, lease: GroundLease, formula: dict, effective_on: dt.date, note: str
) -> LeaseFormula:
    """Record `formula` as `lease`'s from `effective_on`, and keep the lease's stored formula
    today's; the step `lease_set_formula` and the lease page take (run it inside their named
    action).

    Refused with a ValidationError on `effective_on`, nothing written, before the lease starts
    or before its latest resale's contract date (`formula_date_error`). A formula already
    dated `effective_on` is replaced: the correction of an amendment, or of the formula as
    signed while no sale has been contracted under it.
    """
    error = formula_date_error(lease, effective_on)
    if error:
        raise ValidationError({"effective_on": error}, code="formula_date")
    formula_keep_signed(lease)
    amended = lease.formulas.filter(effective_on=effective_on).first()
    amended = amended or LeaseFormula(lease=lease, effective_on=effective_on)
    amended.formula, amended.note = formula, note
    amended.full_clean()
    amended.save()
    today = lease.formula_in_force(timezone.localdate()).formula
    if lease.resale_formula != today:  # an amendment dated later waits for its date
        lease.resale_formula = today
        lease.save(update_fields=["resale_formula"])
    return amended


# The note on the formula a lease was signed with (`formula_keep_signed`).
AS_SIGNED = "as signed"


def formula_keep_signed(lease: GroundLease) -> LeaseFormula | None:
    """Record the lease's formula as the one it was signed with, from its start, if it has none
    on record (a new lease, or one written straight to the table): the formula an amendment
    leaves in force for the sales contracted before it. Returns the row it wrote."""
    if lease.formulas.exists():
        return None
    return LeaseFormula.objects.create(
        lease=lease, effective_on=lease.starts_on, formula=lease.resale_formula, note=AS_SIGNED
    )


def lease_terminate(
    *, lease: GroundLease, on: dt.date, reason: str, user=None
) -> GroundLease:
    """End a lease before its term (default, surrender); the record stays, marked terminated."""
    if lease.status in ENDED_STATUSES:
        raise ValidationError({"status": f"lease {lease.reference} has already ended"})
    with recorded("lease_terminate", user):
        lease.status = LeaseStatus.TERMINATED
        lease.ended_on = on
        lease.end_reason = reason
        lease.full_clean()
        lease.save(update_fields=["status", "ended_on", "end_reason"])
    return lease


def monitoring_record(
    *, lease: GroundLease, type: str, on: dt.date, notes: str = "", user=None
) -> MonitoringEvent:
    """Open a monitoring event on a lease."""
    with recorded("monitoring_record", user):
        event = MonitoringEvent(lease=lease, type=type, on=on, notes=notes)
        event.full_clean()
        event.save()
    return event


def monitoring_resolve(
    *, event: MonitoringEvent, on: dt.date, notes: str = "", user=None
) -> MonitoringEvent:
    """Close a monitoring event with its resolution date."""
    with recorded("monitoring_resolve", user):
        event.status = MonitoringStatus.RESOLVED
        event.resolved_on = on
        event.notes = f"{event.notes}\n{notes}".strip()
        event.full_clean()
        event.save()
    return event


def resale_record(*, user=None, **fields) -> Resale:
    """Record a sale of a leased home to the next household (contract signed, not yet closed)."""
    with recorded("resale_record", user):
        resale = Resale(**fields)
        resale.full_clean()
        resale.save()
    return resale


def resale_close(*, resale: Resale, closed_on: dt.date, user=None) -> GroundLease:
    """Close a resale: the lease passes to the buyer, whose price and date become its base; or,
    when the buyer is the trust itself, the lease ends that day (`lease_end_at_buy_back`).

    The seller's purchase price and date stay in the lease's history and in the resale record,
    so each home's chain of owners and prices is kept.
    """
    if resale.closed_on is not None:
        raise ValidationError({"closed_on": f"this resale closed on {resale.closed_on}"})
    check_closing_day(resale.contract_on, closed_on)
    if closed_on >= resale.lease.purchase_date:  # else history: it passes nothing
        errors = closing_errors(lease=resale.lease, seller=resale.seller, closed_on=closed_on)
        if errors:
            raise ValidationError(errors)
    with recorded("resale_close", user):
        resale.closed_on = closed_on
        resale.save(update_fields=["closed_on"])
        lease_pass_to_buyer(resale=resale)
    return resale.lease


def check_closing_day(contract_on: dt.date, closed_on: dt.date) -> None:
    """A closing happens once it has (not after today), and on or after its contract."""
    if closed_on > timezone.localdate():
        raise ValidationError({"closed_on": f"{closed_on} is after today: record a closing "
                                            "once it has happened"})  # fmt: skip
    if closed_on < contract_on:
        raise ValidationError(
            {"closed_on": f"{closed_on} is before the contract date {contract_on}"}
        )


@dataclass(frozen=True)
class Closing:
    """What a closing did to the lease besides passing it, for staff to read (`messages`)."""

    resale: Resale
    arrears_collected: Decimal
    default_cured: bool
    events_settled: tuple[MonitoringEvent, ...]
    unlisted: Holding | None
    # A buy-back (`lease_end_at_buy_back`): the lease ended, and whether the home is listed.
    bought_back: bool = False
    listed: bool = False

    def messages(self) -> list[str]:
        """The closing in sentences: who holds the lease now (or that it ended, the trust
        buying the home back), and what was settled."""
        lease, said = self.resale.lease, []
        if self.bought_back:
            said.append(
                f"Lease {lease.reference} ended on {self.resale.closed_on.isoformat()}: the "
                "trust bought the home back."
            )
        else:
            said.append(f"Lease {lease.reference} passed to {self.resale.buyer}.")
        if self.arrears_collected:
            said.append(
                f"The seller's arrears of {format_money(self.arrears_collected)} were "
                "collected from the sale (recorded on the resale); the lease owes nothing now."
            )
        if self.default_cured and self.bought_back:
            said.append("The lease was in default: the default was the seller's, settled by "
                        "the sale.")  # fmt: skip
        elif self.default_cured:
            said.append("The lease was in default: it is active again for the buyer.")
        if self.events_settled:
            labels = ", ".join(MonitoringType(event.type).label for event in self.events_settled)
            said.append(
                f"{len(self.events_settled)} of the seller's open monitoring events resolved as "
                f"settled at the closing: {labels}."
            )
        if self.unlisted is not None:
            said.append(unlisted_message(self.unlisted))
        if self.bought_back:
            said.append(buy_back_listing_message(lease.holding, listed=self.listed))
        return said


def buy_back_listing_message(holding: Holding, *, listed: bool) -> str:
    """What staff are told of the home's listing after the trust bought it back: a closing
    leaves the listing to them, since the trust decides when to offer the home again."""
    if listed:
        return f"{holding} stays listed as available."
    return f"{holding} is not listed as available; tick Available on its holding to list it."


def lease_pass_to_buyer(*, resale: Resale) -> Closing | None:
    """The lease after `resale` closed: the buyer is the lessee, at the agreed price and date,
    and the seller's debts and household matters are settled (`lease_settle_seller`).

    The step `resale_close` and the admin (a resale saved with its closing date) both take; run
    it inside their named action. A resale that closed before the lease's current purchase date
    is history (the home has changed hands since), so it leaves the lease as it is (None). A
    closing that would pass the lease is refused (ValidationError, nothing written) when the
    seller is not a lessee or the lease was not in force on the closing date (`closing_errors`).
    A sale to the trust itself passes nothing: the lease ends (`lease_end_at_buy_back`).
    """
    lease = resale.lease
    if resale.closed_on is None or resale.closed_on < lease.purchase_date:
        return None
    errors = closing_errors(lease=lease, seller=resale.seller, closed_on=resale.closed_on)
    if errors:
        raise ValidationError(errors)
    if is_buy_back(resale):
        return lease_end_at_buy_back(lease=lease, resale=resale)
    lease_take_purchase(lease=lease, resale=resale)
    closing = lease_settle_seller(lease=lease, resale=resale)
    return replace(closing, unlisted=holding_unlist_for(lease))


def is_buy_back(resale: Resale) -> bool:
    """Whether `resale`'s buyer is the land trust itself (its purchase option exercised)."""
    return resale.buyer.kind == PartyKind.TRUST


# The end reason a buy-back writes on its lease (`lease_end_at_buy_back`).
BOUGHT_BACK = "The trust bought the home back at the resale closing"


def lease_end_at_buy_back(*, lease: GroundLease, resale: Resale) -> Closing:
    """The lease after the trust bought the home back at `resale`'s closing: the seller's side
    settled as at any closing (`lease_settle_seller`), then the lease ended that day.

    A ground lease merges back into the trust's ownership when the trust buys the improvements:
    making the trust its own lessee kept a lease in force that owed the trust fees from itself,
    and overwrote the seller's purchase, the base every earlier sale is priced from. So the
    lessees and purchase stay the seller's, and the home stays off or on the public list as it
    was: the trust decides when to offer it again. A lease already ended that day (a surrender
    recorded first) keeps its own reason.
    """
    closing = lease_settle_seller(lease=lease, resale=resale)
    if not (lease.ended_on == resale.closed_on and lease.status in ENDED_STATUSES):
        lease.status = LeaseStatus.TERMINATED
        lease.ended_on = resale.closed_on
        lease.end_reason = BOUGHT_BACK
        written = {"status", "ended_on", "end_reason"}
        # Only what the ending writes, as `lease_take_purchase` does: ending a lease earlier
        # cannot break its other rules.
        lease.clean_fields(exclude=[f.name for f in lease._meta.fields if f.name not in written])
        lease.save(update_fields=sorted(written))
    return replace(closing, bought_back=True, listed=lease.holding.available)


def lease_settle_seller(*, lease: GroundLease, resale: Resale) -> Closing:
    """Settle the seller's side of `lease` at `resale`'s closing, so the buyer starts clean.

    The seller's arrears are collected from the sale proceeds (the lease's own rule: "collected
    at sale"): recorded on the resale, cleared on the lease. A lease in default is active again:
    the default was the seller's. The seller's open monitoring events about the household
    (`SETTLED_AT_RESALE`) are resolved on the closing day; those about the home stay open. Each
    write is a save, so the history keeps the seller's figures under the closing's named action.
    The home's listing is the caller's: a sale to a household unlists it, a buy-back does not.
    """
    collected = lease.arrears
    if collected:
        resale.arrears_collected = collected
        resale.save(update_fields=["arrears_collected"])
    cured = lease.status == LeaseStatus.IN_DEFAULT
    if collected or cured:
        lease.arrears = Decimal("0.00")
        lease.status = LeaseStatus.ACTIVE if cured else lease.status
        lease.save(update_fields=["arrears", "status"])
    return Closing(
        resale=resale,
        arrears_collected=collected,
        default_cured=cured,
        events_settled=settle_seller_events(lease, resale),
        unlisted=None,
    )


def settle_seller_events(lease: GroundLease, resale: Resale) -> tuple[MonitoringEvent, ...]:
    """Resolve, on the closing day, the seller's open events about the household: those of a
    kind in `SETTLED_AT_RESALE` opened by the closing day (a later one is the buyer's)."""
    events = lease.monitoring.filter(
        status__in=[MonitoringStatus.OPEN, MonitoringStatus.IN_PROGRESS],
        type__in=SETTLED_AT_RESALE,
        on__lte=resale.closed_on,
    ).order_by("on", "pk")
    passed = (
        f"the trust bought the home back from {resale.seller}"
        if is_buy_back(resale)
        else f"the lease passed from {resale.seller} to {resale.buyer}"
    )
    note = f"Settled at the resale closing on {resale.closed_on.isoformat()}: {passed}."
    settled = []
    for event in events:
        event.status = MonitoringStatus.RESOLVED
        event.resolved_on = resale.closed_on
        event.notes = f"{event.notes}\n{note}".strip()
        event.save(update_fields=["status", "resolved_on", "notes"])
        settled.append(event)
    return tuple(settled)


def lease_take_purchase(*, lease: GroundLease, resale: Resale) -> GroundLease:
    """Write `resale`'s buyer, agreed price and closing date on `lease` as its lessee and base."""
    lease.purchase_price = resale.agreed_price
    lease.purchase_date = resale.closed_on
    # Only the two fields this step writes: the lease's other rules (its dates against the
    # holding's, the holding's other leases) are for who edits those, and a closing that
    # failed on them raised a 500 after the resale form had validated.
    written = {"purchase_price", "purchase_date"}
    lease.clean_fields(exclude=[f.name for f in lease._meta.fields if f.name not in written])
    lease.save(update_fields=sorted(written))
    lease.lessees.set([resale.buyer])
    return lease


def lease_follow_corrected_closing(
    *, resale: Resale, was_closed_on: dt.date, was_buyer_id: int | None
) -> GroundLease:
    """The lease after a correction of a closed resale (its price, date or buyer).

    If the closing as it was made the lease's current base (`closing_made_base`), the lease
    takes the corrected figures, so the next resale is priced from what was really paid and
    when; a correction of an older sale is history and leaves the lease. A buy-back that ended
    the lease (`closing_ended_lease`) moves the lease's end to its corrected date. Run it
    inside the named action that saved the correction; the resale form refuses a correction
    the lease cannot follow (`buy_back_correction_errors`).
    """
    lease = resale.lease
    if resale.closed_on is None:
        return lease
    if is_buy_back(resale):
        # The trust is never its own lessee: a correction to the trust passes nothing (the
        # resale form refuses one of the closing the lease's base came from).
        ended = closing_ended_lease(lease, was_closed_on, was_buyer_id)
        if ended and lease.ended_on != resale.closed_on:
            lease.ended_on = resale.closed_on
            lease.save(update_fields=["ended_on"])
        return lease
    if not closing_made_base(lease, was_closed_on, was_buyer_id):
        return lease
    return lease_take_purchase(lease=lease, resale=resale)


def closing_ended_lease(
    lease: GroundLease, closed_on: dt.date | None, buyer_id: int | None
) -> bool:
    """Whether a closing on `closed_on` to the party `buyer_id` is the trust's buy-back that
    ended the lease: the lease ended that day and the buyer is the trust."""
    if closed_on is None or buyer_id is None or lease.ended_on != closed_on:
        return False
    trust = Party.objects.filter(pk=buyer_id, kind=PartyKind.TRUST)
    return lease.status in ENDED_STATUSES and trust.exists()


def buy_back_correction_errors(
    lease: GroundLease, *, was_closed_on: dt.date, closed_on: dt.date | None, buyer: Party | None
) -> dict[str, str]:
    """Why a correction of the buy-back that ended `lease` on `was_closed_on` cannot be
    followed by the lease, by field (empty when it can): a cleared date or another buyer would
    need the lease reopened, and a new date must fall within the lease as it was before it
    ended."""
    ended = (
        f"This closing on {was_closed_on.isoformat()} ended lease {lease.reference}: the trust "
        "bought the home back."
    )
    reopen = "reopen the lease on its page first (clear its end date, set its status)"
    if buyer is not None and buyer.kind != PartyKind.TRUST:
        return {"buyer": (
            f"{ended} Another buyer would hold the lease, which has ended: {reopen}, then "
            "record the sale to them as a resale of its own."
        )}  # fmt: skip
    if closed_on is None:
        return {"closed_on": (
            f"{ended} Clearing its date would not reopen the lease: correct the date, or "
            f"{reopen}."
        )}  # fmt: skip
    if closed_on == was_closed_on:
        return {}
    before = copy.copy(lease)
    before.ended_on, before.status = None, LeaseStatus.ACTIVE
    error = closing_date_error(before, closed_on)
    return {"closed_on": error} if error else {}


def closing_passed_to_error(lease: GroundLease, was_closed_on: dt.date, buyer: Party) -> str:
    """Why the buyer of the closing `lease`'s base came from cannot be corrected to `buyer`,
    the trust: the trust never holds a lease on its own land."""
    return (
        f"This closing on {was_closed_on.isoformat()} passed lease {lease.reference} to its "
        f"lessee; {buyer} cannot take their place, since a sale to the trust ends the lease. "
        "Record the trust's purchase as a resale of its own, from the lessee."
    )


def closing_made_base(lease: GroundLease, closed_on: dt.date | None, buyer_id: int | None) -> bool:
    """Whether a closing on `closed_on` to the party `buyer_id` is the purchase the lease's
    base is from: the lease's purchase date is that day and the buyer holds the lease."""
    if closed_on is None or buyer_id is None or lease.purchase_date != closed_on:
        return False
    return lease.lessees.filter(pk=buyer_id).exists()


def closing_errors(*, lease: GroundLease, seller: Party, closed_on: dt.date) -> dict[str, str]:
    """Why a closing on `closed_on` cannot pass `lease` from `seller` to the buyer, by field
    (empty when it can): only a lessee can sell the home, and only while the lease is in force.
    """
    errors = {}
    seller_error = closing_seller_error(lease, seller)
    if seller_error:
        errors["seller"] = seller_error
    date_error = closing_date_error(lease, closed_on)
    if date_error:
        errors["closed_on"] = date_error
    return errors


def closing_seller_error(lease: GroundLease, seller: Party) -> str | None:
    """Why `seller` cannot sell the home on `lease`: they are not one of its lessees."""
    lessees = list(lease.lessees.all())
    if seller in lessees:
        return None
    if not lessees:
        return (
            f"Lease {lease.reference} has no lessee on record, so {seller} cannot be shown to "
            "hold it: add its lessee on the lease page first."
        )
    names = " and ".join(party.name for party in lessees)
    return (
        f"{seller} is not a lessee of lease {lease.reference}: it is held by {names}. "
        f"Only a lessee can sell the home; choose {names} as the seller."
    )


def contract_date_error(lease: GroundLease, contract_on: dt.date) -> str | None:
    """Why a sale of `lease` cannot be contracted on `contract_on` (None if it can): only a
    lessee contracts to sell, so not before the current lessee's purchase (such a contract
    escaped the formula's cap as "history"). The resale form and the import both ask."""
    if contract_on >= lease.purchase_date:
        return None
    return (
        f"{contract_on.isoformat()} is before the lessee's purchase of the home on "
        f"{lease.purchase_date.isoformat()}: a lessee contracts to sell once they hold the lease"
    )


def closing_date_error(lease: GroundLease, closed_on: dt.date) -> str | None:
    """Why a closing on `closed_on` cannot pass `lease`: the lease was not in force that day."""
    if lease.in_force_on(closed_on):
        return None
    if closed_on < lease.starts_on:
        return (
            f"Lease {lease.reference} starts on {lease.starts_on.isoformat()}, after this "
            f"closing on {closed_on.isoformat()}: only a lease in force passes to a buyer."
        )
    _, stops_on = lease.period()
    if lease.ended_on:
        ended = f"ended on {stops_on.isoformat()} ({lease.get_status_display().lower()})"
    else:
        ended = f"expired on {stops_on.isoformat()}"
    return (
        f"Lease {lease.reference} {ended}, before this closing on {closed_on.isoformat()}: "
        "only a lease in force passes to a buyer. Check the closing date, or sign a new "
        "lease with the buyer."
    )
