"""The staff lease layer's `lease_status` is the lease's status on the layer's day, by the rule
the lease list's "status today" column reads (`leases.queries.status_on`), not its status field:
a lease recorded terminated that ends next month is still in force, so "active" until then.

The layer shows the lease in force on each parcel: a lease past its term or not yet begun is on
no parcel of it, whatever its status field says. The day is moved by Django's clock, as in
tests/maps/test_layer_dates.py; the database is the real one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import mapbox_vector_tile
import pytest
from django.contrib.auth.models import User

from leases.models import GroundLease
from maps import tiles
from parcels.models import Parcel
from tests import factories
from tests.adminpages import changelist_url, found
from tests.maps import factories_ogc as f
from tests.maps.factories_map import LAYER_DAY

pytestmark = pytest.mark.django_db

TODAY = LAYER_DAY
NEXT_MONTH = TODAY + dt.timedelta(days=30)



def leased_lot(index: int, reference: str, **lease) -> Parcel:
    """A lot along the test street, in a holding of its own, under a lease (`lease` fields)."""
    lot = factories.parcel(apn=f"181-000-{index:03d}", geom=f.lot_at(index))
    factories.lease(holding_=factories.holding(parcels=[lot]), reference=reference, **lease)
    return lot


def ending_next_month(index: int = 0) -> Parcel:
    """A lease recorded terminated whose end date is next month: in force until then."""
    return leased_lot(index, "GL-ENDS-NEXT-MONTH", status="terminated", ended_on=NEXT_MONTH)


def statuses_in_items(client) -> dict[str, str]:
    """Each lease's `lease_status` in the OGC API items of the staff layer, by reference."""
    response = client.get("/ogcapi/collections/leases/items?f=json&limit=100")
    assert response.status_code == 200
    return {ft["properties"]["lease"]: ft["properties"]["lease_status"]
            for ft in response.json()["features"]}  # fmt: skip


def statuses_in_csv(client) -> dict[str, str]:
    """Each lease's `lease_status` in the staff layer's CSV download, read back, by reference."""
    response = client.get("/export/leases.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return {row["lease"]: row["lease_status"] for row in csv.DictReader(io.StringIO(text))}


def statuses_in_tile(client, lot: Parcel) -> dict[str, str]:
    """Each lease's `lease_status` in the decoded z16 staff tile over `lot`, by reference."""
    address = tiles.TileAddress.containing(*lot.geom.point_on_surface.coords, 16)
    response = client.get(f"/tiles/leases/{address}.pbf")
    assert response.status_code == 200
    features = mapbox_vector_tile.decode(response.content)["leases"]["features"]
    return {ft["properties"]["lease"]: ft["properties"]["lease_status"] for ft in features}


@pytest.fixture
def staff(client, day):
    """A staff member with the layer's role, logged in on the trust's day (a session begun
    before the clock is moved to it would have expired)."""
    client.force_login(f.staff_user())
    return client


def move_to(client, day, date: dt.date) -> None:
    """Set the trust's day to `date` and log `client`'s user in again: a session lasts two
    weeks, and the clock may move further."""
    user = User.objects.get(pk=client.session["_auth_user_id"])
    day(date)
    client.force_login(user)


def test_a_lease_recorded_terminated_that_ends_next_month_is_active_until_then(staff, day):
    lot = ending_next_month()

    assert statuses_in_items(staff) == {"GL-ENDS-NEXT-MONTH": "active"}
    assert statuses_in_tile(staff, lot) == {"GL-ENDS-NEXT-MONTH": "active"}
    move_to(staff, day, NEXT_MONTH - dt.timedelta(days=1))  # its last day in force
    assert statuses_in_items(staff) == {"GL-ENDS-NEXT-MONTH": "active"}
    move_to(staff, day, NEXT_MONTH)  # ended: no longer in force, so on no parcel of the layer
    assert statuses_in_items(staff) == {}


def test_a_lease_past_its_term_still_recorded_active_is_not_shown_as_active(staff, day):
    leased_lot(1, "GL-TERM-RAN-OUT", starts_on=dt.date(2026, 3, 14), term_years=4)
    leased_lot(2, "GL-LAST-DAY-TODAY", starts_on=dt.date(2026, 3, 15), term_years=4)

    listed = GroundLease.objects.with_status_on(TODAY).get(reference="GL-TERM-RAN-OUT")
    assert listed.status_on == "expired"  # as the lease list says it: not in force, not shown
    assert statuses_in_items(staff) == {"GL-LAST-DAY-TODAY": "active"}
    day(TODAY + dt.timedelta(days=1))
    assert statuses_in_items(staff) == {}


def test_the_layer_and_the_lease_lists_status_today_agree_on_every_lease(staff):
    ending_next_month(3)
    leased_lot(4, "GL-IN-DEFAULT", status="in_default")
    leased_lot(5, "GL-ACTIVE")
    leased_lot(7, "GL-TERM-RAN-OUT", starts_on=dt.date(2026, 3, 14), term_years=4)
    leased_lot(8, "GL-STARTS-TOMORROW", starts_on=TODAY + dt.timedelta(days=1))
    leased_lot(9, "GL-ENDED-TODAY", status="terminated", ended_on=TODAY)

    listed = staff.get(changelist_url(GroundLease))  # the list a read-only role sees
    status_today = {lease.reference: lease.status_on for lease in found(listed)}
    assert status_today == {
        "GL-ENDS-NEXT-MONTH": "active",
        "GL-IN-DEFAULT": "in_default",
        "GL-ACTIVE": "active",
        "GL-TERM-RAN-OUT": "expired",
        "GL-STARTS-TOMORROW": "not_started",
        "GL-ENDED-TODAY": "terminated",
    }
    # The layer shows the leases in force, those the list calls active or in default today.
    in_force = {ref: status for ref, status in status_today.items()
                if status in ("active", "in_default")}  # fmt: skip
    assert statuses_in_csv(staff) == in_force
    assert statuses_in_items(staff) == in_force
