"""A finder window's edges in metres follow the box's own (QA review finding 3).

In EPSG:26995 (Transverse Mercator, central meridian -90.3333) a parallel is a curve: the box
made of the four corners alone had a straight south edge ~6 m north of the true one at the
meridian, in a box 0.3° wide, so lots just inside it were missed by adjacency and assemblages
(the vacant-lots search, asked in EPSG:4326, found them).

Three lots ~19 x 3.3 m on the meridian, their south edges 1.1 m inside the box's:
MER-0 (held by the trust), MER-1, MER-2.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection

from parcels.actions import holding_acquire
from parcels.queries import Window, assemblages, touching_holdings
from tests.parcels.test_finder import parcel

pytestmark = pytest.mark.django_db

WEST, SOUTH = -90.33340, 32.28000
WIDE_BOX = Window((-90.45, SOUTH - 0.00001, -90.15, 32.33))  # 1.1 m below the lots


def strip(number: int) -> MultiPolygon:
    west = WEST + number * 0.0002
    return MultiPolygon(Polygon.from_bbox((west, SOUTH, west + 0.0002, SOUTH + 0.00003)), srid=4326)


@pytest.fixture
def meridian_lots() -> None:
    held = parcel("MER-0", strip(0), vacancy_status="occupied", land_use="E")
    parcel("MER-1", strip(1))
    parcel("MER-2", strip(2))
    holding_acquire(
        name="Meridian Farm", parcels=[held], current_use="urban_farm",
        acquired_via="tax_forfeit_patent", acquired_on=dt.date(2018, 3, 1),
    )  # fmt: skip


def test_a_lot_just_inside_the_south_edge_of_a_wide_box_touches_trust_land(meridian_lots):
    rows = touching_holdings(0.5, window=WIDE_BOX)
    assert [(row["apn"], row["holdings"]) for row in rows] == [("MER-1", ["Meridian Farm"])]


def test_lots_just_inside_the_south_edge_of_a_wide_box_form_their_assemblage(meridian_lots):
    groups = assemblages(0.5, window=WIDE_BOX)
    assert [(g["apns"], g["holdings"]) for g in groups] == [(["MER-1", "MER-2"], ["Meridian Farm"])]


def test_the_window_is_still_answered_by_the_metric_index():
    """The densified, reprojected box is a constant the planner folds: the GiST index on the
    metric outlines answers the window (sequential and plain index scans forbidden, as an empty test
    table would otherwise be read whole)."""
    where, params = WIDE_BOX.sql("v.geom_m")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(
            f"EXPLAIN SELECT v.id FROM parcels_parcel v WHERE {where}", params
        )
        shown = "\n".join(row[0] for row in cursor.fetchall())
    # Without the vacancy filter, so the GiST index is the only one the box can use (with it,
    # a worker's statistics could make the partial btree on vacancy the planner's choice).
    assert "Bitmap Index Scan on parcel_geom_m" in shown, shown
    assert "Index Cond: (geom_m && '" in shown, shown  # the box, computed once
