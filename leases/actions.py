"""Writes to ground leases, each a named action (see clt.history).

Each action validates with the models' rules (`full_clean`) before it writes, so bad values fail
with the field named and nothing saved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from clt.history import recorded
from leases.models import (
    GroundLease,
    LeaseFeeChange,
    LeaseStatus,
    MonitoringEvent,
    MonitoringStatus,
    Party,
    Resale,
    check_lease_parcels,
)
from parcels.models import Parcel


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
        parcels = list(parcels) or list(
            lease.holding.parcels.filter(holdingparcel__ended_on__isnull=True)
        )
        check_lease_parcels(lease.holding, parcels)
        lease.save()
        lease.lessees.set(lessees)
        lease.parcels.set(parcels)
        LeaseFeeChange.objects.create(
            lease=lease, effective_on=lease.starts_on, fee_monthly=lease.fee_monthly,
            reason="fee at signing",
        )
    return lease


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


def lease_set_formula(*, lease: GroundLease, formula: dict, user=None) -> GroundLease:
    """Replace the lease's resale formula (an amendment); the old one stays in history."""
    with recorded("lease_set_formula", user):
        lease.resale_formula = formula
        lease.full_clean()
        lease.save(update_fields=["resale_formula"])
    return lease


def lease_terminate(
    *, lease: GroundLease, on: dt.date, reason: str, user=None
) -> GroundLease:
    """End a lease before its term (default, surrender); the record stays, marked terminated."""
    if lease.status in (LeaseStatus.TERMINATED, LeaseStatus.EXPIRED):
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
    """Close a resale: the lease passes to the buyer, whose price and date become its base.

    The seller's purchase price and date stay in the lease's history and in the resale record,
    so each home's chain of owners and prices is kept.
    """
    if resale.closed_on is not None:
        raise ValidationError({"closed_on": f"this resale closed on {resale.closed_on}"})
    if closed_on > timezone.localdate():
        raise ValidationError({"closed_on": f"{closed_on} is after today: record a closing "
                                            "once it has happened"})  # fmt: skip
    if closed_on < resale.contract_on:
        raise ValidationError(
            {"closed_on": f"{closed_on} is before the contract date {resale.contract_on}"}
        )
    with recorded("resale_close", user):
        resale.closed_on = closed_on
        resale.save(update_fields=["closed_on"])
        return lease_pass_to_buyer(resale=resale)


def lease_pass_to_buyer(*, resale: Resale) -> GroundLease:
    """The lease after `resale` closed: the buyer is the lessee, at the agreed price and date.

    The step `resale_close` and the admin (a resale saved with its closing date) both take; run
    it inside their named action. A resale that closed before the lease's current purchase date
    is history (the home has changed hands since), so it leaves the lease as it is.
    """
    lease = resale.lease
    if resale.closed_on is None or resale.closed_on < lease.purchase_date:
        return lease
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
