"""What the map layers show on a day: the registry's dated rule for trust land and leases.

A holding, a parcel's membership of it and a lease each have dates; trust land is what the trust
holds on the trust's day (`timezone.localdate()`), as the finder and the reports count it. So the
layers change at midnight with no write, and a tile, an ETag or a count cached yesterday must not
be served today. The day is moved by setting Django's clock (`timezone.now`), which is all the
registry reads the day from; the database is the real one.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import mapbox_vector_tile
import pytest
from django.utils import timezone

from maps import tiles
from maps.layers import get_layer
from parcels.actions import holding_end
from parcels.models import HoldingParcel, Parcel
from tests import factories
from tests.maps import factories_ogc as f
from tests.maps.factories_map import LAYER_DAY

pytestmark = pytest.mark.django_db

TODAY = LAYER_DAY



def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def apns(layer_name: str) -> set[str]:
    """The APNs the layer shows as of the trust's day now (the lease layer's features are
    leases, each listing its parcels' APNs)."""
    if layer_name == "leases":
        listed = get_layer(layer_name).rows().values_list("f_apns", flat=True)
        return {apn for each in listed for apn in each.split(", ")}
    return set(get_layer(layer_name).rows().values_list("f_apn", flat=True))


def held_lot(index: int, **holding) -> Parcel:
    """A vacant lot along the test street, in a holding of its own (`holding` fields)."""
    lot = factories.parcel(apn=f"180-000-{index:03d}", geom=f.lot_at(index))
    factories.holding(parcels=[lot], **holding)
    return lot


def items_matched(client, layer: str) -> int:
    response = client.get(f"/ogcapi/collections/{layer}/items?f=json&limit=1")
    assert response.status_code == 200
    return response.json()["numberMatched"]


# --- trust land by the dated rule ------------------------------------------------------------


def test_a_holding_whose_end_is_dated_next_month_is_trust_land_until_that_day(day):
    lot = held_lot(0)
    holding_end(holding=lot.holdings.get(), on=TODAY + dt.timedelta(days=30), reason="sale")
    assert lot.apn in apns("trust-land")
    assert lot.apn not in apns("vacant-lots")  # not a city lot to acquire: the trust has it
    day(TODAY + dt.timedelta(days=29))
    assert lot.apn in apns("trust-land")
    day(TODAY + dt.timedelta(days=30))  # the end day: no longer the trust's
    assert lot.apn not in apns("trust-land")
    assert lot.apn in apns("vacant-lots")


def test_a_lot_added_to_a_holding_later_is_acquired_on_the_day_it_joined(client, day):
    # QA (acquisitions coordinator): the lot joined a 2017 holding on 2026-11-01, yet every
    # public answer said 2017, and a `datetime` filter for November missed it.
    first = held_lot(30)
    holding = first.holdings.get()
    later = factories.parcel(apn="180-000-031", geom=f.lot_at(31))
    joined = days_ago(5)
    HoldingParcel.objects.create(holding=holding, parcel=later, began_on=joined)

    rows = {r["f_apn"]: r for r in get_layer("trust-land").rows()}
    assert rows[first.apn]["f_acquired_on"] == holding.acquired_on
    assert rows[later.apn]["f_acquired_on"] == joined
    assert rows[later.apn]["f_acquired_year"] == joined.year
    since = client.get(f"/ogcapi/collections/trust-land/items?f=json&datetime={joined}/..")
    assert [x["properties"]["apn"] for x in since.json()["features"]] == [later.apn]


def test_a_holding_acquired_with_a_future_date_is_not_trust_land_before_that_day(day):
    lot = held_lot(1, acquired_on=TODAY + dt.timedelta(days=10), available=True)
    assert lot.apn not in apns("trust-land") | apns("available")
    assert lot.apn in apns("vacant-lots")  # still a vacant lot in the city, as the finder says
    day(TODAY + dt.timedelta(days=10))
    assert lot.apn in apns("trust-land") and lot.apn in apns("available")
    assert lot.apn not in apns("vacant-lots")


def test_the_layers_agree_with_the_finder_on_what_the_trust_holds(day):
    ending, future = held_lot(2), held_lot(3, acquired_on=TODAY + dt.timedelta(days=10))
    holding_end(holding=ending.holdings.get(), on=TODAY + dt.timedelta(days=1), reason="sale")
    held = set(Parcel.objects.held_by_trust(TODAY).values_list("apn", flat=True))
    assert apns("trust-land") == held == {ending.apn}
    assert future.apn in set(Parcel.objects.not_held_by_trust(TODAY).values_list("apn", flat=True))


# --- a retired parcel the trust holds --------------------------------------------------------


def test_a_retired_parcel_the_trust_holds_stays_on_the_trust_layers(day):
    lot = held_lot(4, available=True)
    factories.lease(holding_=lot.holdings.get())
    Parcel.objects.filter(pk=lot.pk).update(retired_at=timezone.now())  # a county re-import
    assert lot.apn in apns("trust-land")
    assert lot.apn in apns("available")
    assert lot.apn in apns("leases")
    assert lot.apn not in apns("parcels") | apns("vacant-lots")  # the county's layers drop it
    gone = factories.parcel(apn="180-000-005", geom=f.lot_at(5), retired_at=timezone.now())
    for name in ("trust-land", "available", "leases", "parcels", "vacant-lots"):
        assert gone.apn not in apns(name), name  # one the trust does not hold: on none


# --- the staff lease layer --------------------------------------------------------------------


def test_open_monitoring_counts_only_the_events_of_the_lease_in_force(day):
    holding = held_lot(6).holdings.get()
    old = factories.lease(
        holding_=holding, reference="GL-OLD", status="terminated", ended_on=days_ago(23),
        arrears=Decimal("300.00"),
    )  # fmt: skip
    new = factories.lease(holding_=holding, reference="GL-NEW", starts_on=days_ago(22))
    for on in (days_ago(40), days_ago(30)):  # the previous household's, never resolved
        old.monitoring.create(type="late_fee_payment", on=on)
    new.monitoring.create(type="late_fee_payment", on=days_ago(2))
    new.monitoring.create(
        type="late_fee_payment", on=days_ago(5), status="resolved", resolved_on=days_ago(1)
    )
    (row,) = get_layer("leases").rows().values("f_lease", "f_arrears", "f_open_monitoring")
    assert row == {"f_lease": "GL-NEW", "f_arrears": Decimal("0.00"), "f_open_monitoring": 1}


def test_a_lease_that_starts_next_week_reaches_the_staff_lease_tiles_that_day(client, day):
    lot = held_lot(7)
    factories.lease(holding_=lot.holdings.get(), starts_on=TODAY + dt.timedelta(days=7))
    client.force_login(factories.user("planner", role="read-only", is_staff=True))
    tile = "/tiles/leases/{}/{}/{}.pbf".format(*_tile_of(lot))
    assert lot.apn not in apns("leases")
    assert client.get(tile).status_code == 204
    day(TODAY + dt.timedelta(days=7))
    assert lot.apn in apns("leases")
    features = mapbox_vector_tile.decode(client.get(tile).content)["leases"]["features"]
    assert [feature["properties"]["apns"] for feature in features] == [lot.apn]


# --- caches keyed on the day --------------------------------------------------------------------


def test_a_trust_land_tile_of_yesterday_is_not_a_304_today(client, day):
    lot = held_lot(8)
    holding_end(holding=lot.holdings.get(), on=TODAY + dt.timedelta(days=1), reason="sale")
    tile = "/tiles/trust-land/{}/{}/{}.pbf".format(*_tile_of(lot))
    first = client.get(tile)
    assert first.status_code == 200
    assert client.get(tile, headers={"if-none-match": first["ETag"]}).status_code == 304
    day(TODAY + dt.timedelta(days=1))  # no write: only the day has changed
    second = client.get(tile, headers={"if-none-match": first["ETag"]})
    assert second.status_code == 204  # the holding has ended: nothing of the trust's there
    assert second["ETag"] != first["ETag"]


def test_only_the_tiles_of_layers_that_depend_on_the_day_change_with_it(client, day):
    lot = held_lot(9)
    urls = {name: f"/tiles/{name}/{{}}/{{}}/{{}}.pbf".format(*_tile_of(lot))
            for name in ("trust-land", "parcels")}  # fmt: skip
    etags = {name: client.get(url)["ETag"] for name, url in urls.items()}
    day(TODAY + dt.timedelta(days=1))  # the lot is still held: the same features, another day
    again = {name: client.get(url, headers={"if-none-match": etags[name]})
             for name, url in urls.items()}  # fmt: skip
    assert again["trust-land"].status_code == 200  # rebuilt for today: the day is in its SQL
    assert again["parcels"].status_code == 304  # the county's parcels: only writes change them


def test_the_tile_cache_does_not_serve_yesterdays_tile(day):
    lot = held_lot(10)
    holding_end(holding=lot.holdings.get(), on=TODAY + dt.timedelta(days=1), reason="sale")
    address = tiles.TileAddress(*_tile_of(lot))
    first = tiles.fetch(tiles.compiled_layer("trust-land"), address)
    assert first.body and tiles.fetch(tiles.compiled_layer("trust-land"), address).cached
    day(TODAY + dt.timedelta(days=1))
    compiled = tiles.compiled_layer("trust-land")
    assert compiled.layer.as_of == TODAY + dt.timedelta(days=1)
    second = tiles.fetch(compiled, address)
    assert (second.cached, second.body) == (False, b"")


def test_the_ogc_api_count_of_a_dated_layer_follows_the_day(client, day):
    tomorrow = TODAY + dt.timedelta(days=1)
    ending = held_lot(11)
    future = [held_lot(12, acquired_on=tomorrow), held_lot(14, acquired_on=tomorrow)]
    holding_end(holding=ending.holdings.get(), on=tomorrow, reason="sale")
    assert items_matched(client, "trust-land") == 1
    assert items_matched(client, "trust-land") == 1  # (now from the cache of extents)
    day(tomorrow)  # one holding ends, two begin: no write
    response = client.get("/ogcapi/collections/trust-land/items?f=json&limit=5")
    assert response.json()["numberMatched"] == 2
    assert {ft["properties"]["apn"] for ft in response.json()["features"]} == {
        lot.apn for lot in future
    }
    collection = client.get("/ogcapi/collections/trust-land?f=json").json()
    ((first, last),) = collection["extent"]["temporal"]["interval"]
    assert first.startswith("2030-03-15T") and last.startswith("2030-03-16T")  # (in UTC)


def test_an_export_of_a_dated_layer_says_which_day_it_is_as_of(client, day):
    held_lot(13)
    trust = client.get("/export/trust-land.geojson")
    meta = _metadata(trust)
    assert meta["as_of"] == TODAY.isoformat()
    assert "as_of" not in _metadata(client.get("/export/parcels.geojson"))


def _metadata(response) -> dict:
    return json.loads(b"".join(response.streaming_content))["metadata"]


def _tile_of(parcel: Parcel, z: int = 16) -> tuple[int, int, int]:
    address = tiles.TileAddress.containing(*parcel.geom.point_on_surface.coords, z)
    return address.z, address.x, address.y
