"""Writes to holdings, each a named action (see clt.history)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q

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
    """Record that the trust no longer holds this land (rare: sold, taken by eminent domain).

    Every membership still running on `on` ends then, open or dated to end later (a parcel
    to be split off next month leaves with the rest): a membership outliving its holding is
    land the registry says both is and is not the trust's. One that ended earlier is kept."""
    with recorded("holding_end", user):
        holding.ended_on = on
        holding.notes = f"{holding.notes}\nEnded {on}: {reason}".strip()
        holding.full_clean()
        _check_no_parcel_joins_after(holding, on)
        holding.save(update_fields=["ended_on", "notes"])
        running = HoldingParcel.objects.filter(holding=holding).filter(
            Q(ended_on__isnull=True) | Q(ended_on__gt=on)
        )
        running.update(ended_on=on)
    return holding


def _check_no_parcel_joins_after(holding: Holding, on: dt.date) -> None:
    """A holding cannot end before one of its parcels joined it: the membership would end
    before it began (the database refuses it, as a 500)."""
    late = HoldingParcel.objects.filter(holding=holding, began_on__gt=on)
    first = late.select_related("parcel").order_by("began_on").first()
    if first is not None:
        raise ValidationError(
            {"ended_on": f"{first.parcel.apn} joined the holding on {first.began_on}, after "
                         f"{on}: end the holding on or after {first.began_on}, or take the "
                         "parcel out of it first."},
            code="parcel_joins_after_the_end",
        )  # fmt: skip
