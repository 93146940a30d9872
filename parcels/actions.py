"""Writes to holdings, each a named action (see clt.history)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from clt.history import recorded
from parcels.models import Holding, HoldingParcel, Parcel


def holding_acquire(
    *,
    name: str,
    parcels: Iterable[Parcel],
    current_use: str,
    acquired_via: str,
    acquired_on: dt.date,
    price: Decimal = Decimal("0"),
    deed_reference: str = "",
    user=None,
) -> Holding:
    """Record that the trust now holds `parcels` as one holding."""
    with recorded("holding_acquire", user):
        holding = Holding(
            name=name, current_use=current_use, acquired_via=acquired_via,
            acquired_on=acquired_on, price=price, deed_reference=deed_reference,
        )
        holding.full_clean()
        holding.save()
        for parcel in parcels:
            HoldingParcel.objects.create(holding=holding, parcel=parcel, began_on=acquired_on)
    return holding


def holding_change_use(*, holding: Holding, current_use: str, user=None) -> Holding:
    """Record a new current use for a holding (a lot becomes a garden)."""
    with recorded("holding_change_use", user):
        holding.current_use = current_use
        holding.full_clean()
        holding.save(update_fields=["current_use"])
    return holding


def holding_end(*, holding: Holding, on: dt.date, reason: str, user=None) -> Holding:
    """Record that the trust no longer holds this land (rare: sold, taken by eminent domain)."""
    with recorded("holding_end", user):
        holding.ended_on = on
        holding.notes = f"{holding.notes}\nEnded {on}: {reason}".strip()
        holding.full_clean()
        holding.save(update_fields=["ended_on", "notes"])
        HoldingParcel.objects.filter(holding=holding, ended_on__isnull=True).update(ended_on=on)
    return holding
