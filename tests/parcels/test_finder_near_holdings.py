"""The finder's `near_holdings_m`: vacant lots within a distance of trust land, found from the
trust land (one index probe per held parcel), not from every lot (one per vacant lot, which let
a wide radius hold the database for minutes).

Squares 30 m wide are laid out in NAD83 / Mississippi West metres, along a line east of the
trust's lot H, each at a known gap from it; the far holding F has a lot of its own:

    H | gap 0: A | 5 m: B | 40 m: C | 150 m: D | 600 m: E      (all vacant but H's neighbours O)
    F (held, 3 km away) | 20 m: G      X: retired, touching H     S: held by a holding sold
    O: occupied, touching H             K: vacant, held with H (never a lot to acquire)
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.contrib.gis.measure import D
from django.db.models import Exists, OuterRef
from django.utils import timezone

from parcels import finder
from parcels.actions import holding_acquire, holding_end
from parcels.models import Parcel
from parcels.queries import held_memberships, without_jit

pytestmark = pytest.mark.django_db

METRIC = 26995
ORIGIN = Point(-90.2010, 32.2990, srid=4326).transform(METRIC, clone=True)
SIDE_M = 30.0
# Gap to H of each vacant lot east of it, in metres.
GAPS_M = {"A": 0.0, "B": 5.0, "C": 40.0, "D": 150.0, "E": 600.0}


def square_m(x0: float, y0: float = 0.0) -> MultiPolygon:
    """A 30 m square `x0` m east and `y0` m north of ORIGIN, stored in EPSG:4326 (as a county's
    file is); neighbours computed from the same numbers share their edges exactly."""
    x, y = ORIGIN.x + x0, ORIGIN.y + y0
    ring = ((x, y), (x + SIDE_M, y), (x + SIDE_M, y + SIDE_M), (x, y + SIDE_M), (x, y))
    geom = MultiPolygon(Polygon(ring), srid=METRIC)
    geom.transform(4326)
    return geom


def parcel(apn: str, geom: MultiPolygon, status: str = "vacant", **fields) -> Parcel:
    return Parcel.objects.create(apn=apn, geom=geom, vacancy_status=status, **fields)


def acquire(name: str, lots: list[Parcel]):
    return holding_acquire(
        name=name, parcels=lots, current_use="held_vacant", acquired_via="purchase",
        acquired_on=dt.date(2020, 1, 1),
    )  # fmt: skip


@pytest.fixture
def land():
    held = parcel("H", square_m(0), status="occupied")
    for apn, gap in GAPS_M.items():
        parcel(apn, square_m(SIDE_M + gap))
    parcel("O", square_m(0, SIDE_M), status="occupied")
    parcel("X", square_m(0, -SIDE_M), retired_at=timezone.now())
    kept = parcel("K", square_m(-SIDE_M))
    acquire("Lynch St lots", [held, kept])
    far = parcel("F", square_m(3000), status="occupied")
    parcel("G", square_m(3000 + SIDE_M + 20))
    acquire("Farm", [far])
    sold = parcel("S", square_m(-3000), status="occupied")
    parcel("T", square_m(-3000 - SIDE_M - 1))  # 1 m from land the trust sold
    holding = acquire("Sold house", [sold])
    holding_end(holding=holding, on=dt.date(2022, 6, 30), reason="sold")


def near(metres: float) -> list[str]:
    collection = finder.vacant_lots_geojson({"near_holdings_m": str(metres), "limit": "1000"})
    return sorted(f["properties"]["apn"] for f in collection["features"])


def near_asked_per_lot(metres: float) -> list[str]:
    """The question as it was asked before: for each vacant lot, is a held parcel within
    `metres` of it (an EXISTS per lot)? Slow on a city, plainly right on a few lots."""
    held_near = held_memberships().filter(
        parcel__geom_m__dwithin=(OuterRef("geom_m"), D(m=metres))
    )
    lots = Parcel.objects.vacant().filter(geom__isnull=False).not_held_by_trust()
    with without_jit(index_lookups=True):
        return sorted(lots.filter(Exists(held_near)).values_list("apn", flat=True))


@pytest.mark.parametrize(
    ("metres", "expected"),
    [
        (0, ["A"]),
        (4, ["A"]),
        (10, ["A", "B"]),
        (100, ["A", "B", "C", "G"]),
        (500, ["A", "B", "C", "D", "G"]),
        (1000, ["A", "B", "C", "D", "E", "G"]),
    ],
)
def test_lots_near_trust_land_are_the_vacant_lots_within_the_distance_of_held_land(
    land, metres, expected
):
    assert near(metres) == expected


@pytest.mark.parametrize("metres", [0, 4, 10, 100, 500, 1000])
def test_lots_near_trust_land_are_those_the_per_lot_question_found(land, metres):
    assert near(metres) == near_asked_per_lot(metres)


def test_each_lot_near_several_held_parcels_is_answered_once(land):
    """B is within 100 m of H and of K (both held); one feature, as before."""
    collection = finder.vacant_lots_geojson({"near_holdings_m": "100", "order": "area"})
    apns = [f["properties"]["apn"] for f in collection["features"]]
    assert len(apns) == len(set(apns)) == 4


def test_the_score_still_adds_three_for_a_lot_adjoining_trust_land(land):
    scores = {
        apn: score - area_m2 / 1000
        for apn, score, area_m2 in Parcel.objects.vacant()
        .filter(apn__in=("A", "B", "G", "T"))
        .with_score()
        .values_list("apn", "score", "area_m2")
    }
    assert scores == pytest.approx({"A": 3.0, "B": 0.0, "G": 0.0, "T": 0.0}, abs=1e-6)


def test_near_holdings_beyond_a_kilometre_is_refused_naming_the_field_and_the_maximum():
    with pytest.raises(finder.FinderError) as caught:
        finder.parse_lot_search({"near_holdings_m": "1001"})
    assert caught.value.field == "near_holdings_m"
    assert caught.value.detail == "1001 is above the maximum 1000"
