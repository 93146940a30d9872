"""Writes to holdings, each a named action (see clt.history)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q

from clt.history import recorded
from parcels.models import (
    OPEN_STAGES,
    AcquisitionEvent,
    AcquisitionStage,
    Holding,
    HoldingParcel,
    Parcel,
    latest_acquisition_step,
)


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
    """Record that the trust now holds `parcels` as one holding.

    Each membership is checked as the admin checks it (a parcel the county has retired, or in
    another holding then, is refused, and nothing is written), and each parcel whose acquisition
    pipeline is open gets its "acquired" step (`acquisition_close_for`)."""
    with recorded("holding_acquire", user):
        holding = Holding(
            name=name, current_use=current_use, acquired_via=acquired_via,
            acquired_on=acquired_on, price=price, deed_reference=deed_reference,
        )
        holding.full_clean()
        holding.save()
        for parcel in parcels:
            membership = HoldingParcel(holding=holding, parcel=parcel, began_on=acquired_on)
            membership.full_clean()
            membership.save()
            acquisition_close_for(membership)
    return holding


def acquisition_close_for(membership: HoldingParcel) -> AcquisitionEvent | None:
    """Record the "acquired" step of the membership's parcel, on the day it joined and naming
    its holding, if the parcel's acquisition pipeline is open; returns the step recorded.

    Run it inside the named action that added the membership. Without it the pipeline went on
    saying "under contract" of land the trust held. A pipeline dropped or acquired already is
    left as it is, and so is one whose latest step is dated after the parcel joined (history
    entered late: the trust held the lot once, before it pursued it again)."""
    latest = latest_acquisition_step(membership.parcel_id)
    if latest is None or latest.stage not in OPEN_STAGES or latest.on > membership.began_on:
        return None
    return AcquisitionEvent.objects.create(
        parcel_id=membership.parcel_id,
        stage=AcquisitionStage.ACQUIRED,
        on=membership.began_on,
        holding_id=membership.holding_id,
        reason=f"Joined the holding {membership.holding}",
    )


def acquisition_withdraw_for(*, holding: Holding, parcel_id: int) -> list[AcquisitionEvent]:
    """Delete the parcel's "acquired" steps naming `holding` if the holding no longer has the
    parcel at all (its row corrected to another parcel, or deleted); returns the steps deleted.

    Run it inside the named action that changed the membership (the history keeps each step
    deleted). Left, they said of a lot the trust never held that it was acquired, naming a
    holding that does not hold it (`AcquisitionEvent.clean` refuses such a step)."""
    if HoldingParcel.objects.filter(holding=holding, parcel=parcel_id).exists():
        return []
    steps = AcquisitionEvent.objects.filter(
        parcel=parcel_id, holding=holding, stage=AcquisitionStage.ACQUIRED
    )
    withdrawn = list(steps.select_related("parcel"))
    steps.delete()
    return withdrawn


def listed_message(places: list[str]) -> str:
    """What staff are told when parcels joining an available holding put them on the public
    "available now" list ("1422 Lynch St is now listed publicly as available."): the other
    side of `leases.actions.unlisted_message`."""
    named = places[0] if len(places) == 1 else f"{', '.join(places[:-1])} and {places[-1]}"
    return f"{named} {'is' if len(places) == 1 else 'are'} now listed publicly as available."


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
