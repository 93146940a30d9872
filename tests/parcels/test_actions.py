"""The named actions on holdings keep each parcel's membership inside its holding's dates."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from pghistory.models import Events

from parcels.actions import holding_acquire, holding_end
from parcels.models import Holding, HoldingParcel
from tests import factories

pytestmark = pytest.mark.django_db

SOLD_ON = dt.date(2024, 6, 1)


def membership_ends(holding: Holding) -> dict[str, dt.date | None]:
    rows = HoldingParcel.objects.filter(holding=holding).values_list("parcel__apn", "ended_on")
    return dict(rows)


def test_holding_end_cuts_a_membership_dated_to_end_later_back_to_the_holdings_end():
    lot = factories.parcel(apn="164-301-001")
    holding = factories.holding(parcels=[lot])
    HoldingParcel.objects.filter(holding=holding).update(ended_on=dt.date(2024, 9, 30))
    holding_end(holding=holding, on=SOLD_ON, reason="sold")
    assert membership_ends(holding) == {"164-301-001": SOLD_ON}


def test_holding_end_ends_the_open_memberships_on_the_holdings_end():
    lots = [factories.parcel(apn="164-301-002"), factories.parcel(apn="164-301-003")]
    holding = factories.holding(parcels=lots)
    holding_end(holding=holding, on=SOLD_ON, reason="sold")
    holding.refresh_from_db()
    assert holding.ended_on == SOLD_ON
    assert membership_ends(holding) == {"164-301-002": SOLD_ON, "164-301-003": SOLD_ON}


def test_holding_end_keeps_a_membership_that_ended_earlier():
    lots = [factories.parcel(apn="164-301-004"), factories.parcel(apn="164-301-005")]
    holding = factories.holding(parcels=lots)
    HoldingParcel.objects.filter(parcel=lots[0]).update(ended_on=dt.date(2020, 1, 1))
    holding_end(holding=holding, on=SOLD_ON, reason="sold")
    assert membership_ends(holding) == {"164-301-004": dt.date(2020, 1, 1), "164-301-005": SOLD_ON}


def test_holding_end_records_the_memberships_it_cuts_back_under_its_own_name():
    staff = factories.user("ada")
    holding = factories.holding(parcels=[factories.parcel()])
    membership = HoldingParcel.objects.get(holding=holding)
    HoldingParcel.objects.filter(pk=membership.pk).update(ended_on=dt.date(2024, 9, 30))
    holding_end(holding=holding, on=SOLD_ON, reason="sold", user=staff)
    updates = Events.objects.tracks(membership).filter(pgh_label="update")
    [event] = updates.filter(pgh_context__isnull=False)  # the factory's update is untagged
    assert event.pgh_diff == {"ended_on": ["2024-09-30", "2024-06-01"]}
    assert (event.pgh_context["action"], event.pgh_context["user"]) == ("holding_end", staff.pk)


def test_holding_end_before_a_parcel_joined_is_refused_naming_it_and_nothing_is_written():
    early, late = factories.parcel(apn="164-301-006"), factories.parcel(apn="164-301-007")
    holding = factories.holding(parcels=[early], acquired_on=dt.date(2017, 3, 1))
    HoldingParcel.objects.create(holding=holding, parcel=late, began_on=dt.date(2024, 9, 1))
    with pytest.raises(ValidationError) as refused:
        holding_end(holding=holding, on=SOLD_ON, reason="sold")
    assert refused.value.message_dict == {"ended_on": [
        "164-301-007 joined the holding on 2024-09-01, after 2024-06-01: end the holding on or "
        "after 2024-09-01, or take the parcel out of it first."
    ]}  # fmt: skip
    holding.refresh_from_db()
    assert holding.ended_on is None
    assert membership_ends(holding) == {"164-301-006": None, "164-301-007": None}


def test_holding_acquire_puts_each_parcel_in_the_holding_from_the_day_it_was_acquired():
    lots = [factories.parcel(), factories.parcel()]
    holding = holding_acquire(
        name="Ewing St lots", parcels=lots, current_use="held_vacant",
        acquired_via="tax_forfeit_patent", acquired_on=dt.date(2024, 5, 1),
    )  # fmt: skip
    began = HoldingParcel.objects.filter(holding=holding).values_list("began_on", flat=True)
    assert list(began) == [dt.date(2024, 5, 1)] * 2
