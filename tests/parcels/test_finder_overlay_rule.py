"""A lot is in an overlay when it overlaps it by more than half a metre (TOUCHING_M), not when it
only shares an edge with it or laps into it by a digitising sliver.

Neighbourhoods are often drawn on lot lines, and flood zones cross county parcel layers drawn
by someone else: under plain "intersects", a lot beside a neighbourhood was in it too (listed
in two), and a lot beside a flood zone was left out of "outside flood zones".

test_finder's neighbourhood: V1 and V2 share an edge; V6, V7 and V8 are a row of three.
"""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from parcels.models import Overlay, Parcel
from parcels.queries import TOUCHING_M
from tests.parcels import test_finder
from tests.parcels.test_finder import lot, search

pytestmark = pytest.mark.django_db

land = test_finder.land
DEGREES_PER_M = 1 / 94_400  # of longitude at Jackson's latitude (32.3° N)


def east_of(geom: MultiPolygon, west_m: float = 0.0, east_m: float = 0.0) -> MultiPolygon:
    """`geom`'s box with its west and east edges moved east by the given metres."""
    west, south, east, north = geom.extent
    box = Polygon.from_bbox(
        (west + west_m * DEGREES_PER_M, south, east + east_m * DEGREES_PER_M, north)
    )
    return MultiPolygon(box, srid=4326)


def test_a_neighbourhood_drawn_on_lot_lines_holds_its_lots_not_their_neighbours(land):
    Overlay.objects.create(kind="neighbourhood", name="Virden", geom=lot(1))  # V1's own lines

    assert search(neighbourhood="Virden") == ["V1"]  # V2 shares its east edge, H0 its west


def test_a_lot_lapping_into_a_neighbourhood_by_a_sliver_is_not_in_it(land):
    Overlay.objects.create(kind="neighbourhood", name="Virden", geom=east_of(lot(1), east_m=0.3))

    assert search(neighbourhood="Virden") == ["V1"]


def test_a_lot_a_metre_into_a_neighbourhood_is_in_it(land):
    Overlay.objects.create(kind="neighbourhood", name="Virden", geom=east_of(lot(1), east_m=1.0))

    assert search(neighbourhood="Virden") == ["V1", "V2"]


def test_lots_beside_a_flood_zone_are_outside_it_and_the_lot_under_it_is_not(land):
    Overlay.objects.create(kind="flood-zone", name="AE", geom=lot(1, east=0.01))  # V7's lines

    found = search(outside_flood=1)

    assert "V7" not in found
    assert {"V6", "V8"} <= set(found)


def test_a_flood_zone_a_metre_into_a_lot_leaves_it_out(land):
    """A flood zone is a hazard: any real part of a lot in it (here a 1 m strip along V8's
    west edge, 3% of it) leaves the lot out of "outside flood zones"."""
    v7 = lot(1, east=0.01)
    Overlay.objects.create(kind="flood-zone", name="AE", geom=east_of(v7, east_m=1.0))

    found = search(outside_flood=1)

    assert "V7" not in found and "V8" not in found
    assert "V6" in found


def test_a_flood_zone_narrower_than_the_allowance_meets_no_lot(land):
    """A sliver polygon (0.8 m wide, an artefact of cutting a layer) shrinks to nothing, so
    it leaves no lot out, where "intersects" left out the one it crossed."""
    v7 = lot(1, east=0.01)
    Overlay.objects.create(kind="flood-zone", name="AE", geom=east_of(v7, west_m=10, east_m=-17.5))

    assert Overlay.objects.get().core_m.empty
    assert "V7" in search(outside_flood=1)


def test_the_shrunk_outline_follows_an_edit_of_the_overlay(land):
    """`core_m` is the database's (a generated column): an outline moved by SQL or the admin
    moves it too, so the rule never reads a stale copy."""
    zone = Overlay.objects.create(kind="flood-zone", name="AE", geom=lot(1, east=0.01))
    assert "V7" not in search(outside_flood=1)

    zone.geom = lot(0, east=0.01)  # onto V6
    zone.save()

    found = search(outside_flood=1)
    assert "V6" not in found and {"V7", "V8"} <= set(found)
    zone.refresh_from_db()
    area_m2 = Parcel.objects.get(apn="V6").area_m2
    shrunk = zone.core_m.area
    assert shrunk == pytest.approx(area_m2 - 2 * 0.5 * (28.3 + 33.3), rel=0.02)


def test_the_demo_generator_measures_expected_json_by_the_same_rule():
    """make_demo.py writes the demo's overlay answers into expected.json, in shapely: a lot
    sharing an edge is out, one lapping in a metre is in, as in the registry."""
    import shapely

    from fixtures.west_jackson import make_demo

    overlay = shapely.box(0, 0, 10, 10)
    lots = {"beside": shapely.box(10, 0, 20, 10), "sliver": shapely.box(9.7, 0, 19.7, 10),
            "a metre in": shapely.box(9, 0, 19, 10)}  # fmt: skip

    assert make_demo.meeting(overlay, lots) == {"a metre in"}
    assert make_demo.OVERLAY_INSET_M == TOUCHING_M
