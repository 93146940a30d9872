"""Outlines a county draws with arcs (a cul-de-sac's bulb, a lot on a road's curve) keep their
shape: the arcs are stroked in the file's own CRS, where a circle is a circle."""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
from django.db import connection

from tests.parcels.test_importing import FT, ORIGIN_FT, run

pytestmark = pytest.mark.django_db

RADIUS_FT = 50
X0, Y0 = ORIGIN_FT


def _points(kind: int, points: list[tuple[float, float]]) -> bytes:
    return struct.pack("<BII", 1, kind, len(points)) + b"".join(
        struct.pack("<dd", x, y) for x, y in points
    )


# A half circle of 50 ft radius on its diameter: a CompoundCurve (an arc, then the diameter)
# bounding a CurvePolygon in a MultiSurface, in ISO WKB (shapely cannot hold arcs).
ARC = [(X0, Y0), (X0 + RADIUS_FT, Y0 + RADIUS_FT), (X0 + 2 * RADIUS_FT, Y0)]
HALF_CIRCLE_WKB = (
    struct.pack("<BII", 1, 12, 1)  # MultiSurface
    + struct.pack("<BII", 1, 10, 1)  # CurvePolygon
    + struct.pack("<BII", 1, 9, 2)  # CompoundCurve
    + _points(8, ARC)  # CircularString
    + _points(2, [ARC[-1], ARC[0]])  # LineString
)
HALF_CIRCLE_WKT = (
    f"CURVEPOLYGON(COMPOUNDCURVE(CIRCULARSTRING({X0} {Y0},{X0 + RADIUS_FT} {Y0 + RADIUS_FT},"
    f"{X0 + 2 * RADIUS_FT} {Y0}),({X0 + 2 * RADIUS_FT} {Y0},{X0} {Y0})))"
)


def geopackage(tmp_path: Path) -> Path:
    path = tmp_path / "curved.gpkg"
    pyogrio.raw.write(
        path, geometry=np.array([HALF_CIRCLE_WKB], dtype=object),
        field_data=[np.array(["164-020-001"], dtype=object)], fields=["apn"],
        geometry_type="Unknown", crs="EPSG:2255", driver="GPKG", layer="parcels",
    )  # fmt: skip
    return path


def filegdb(tmp_path: Path) -> Path:
    if shutil.which("ogr2ogr") is None:
        pytest.skip("ogr2ogr (gdal-bin) is not installed")
    path = tmp_path / "curved.gdb"
    subprocess.run(["ogr2ogr", "-f", "OpenFileGDB", "-nlt", "MULTISURFACE", str(path),
                    str(geopackage(tmp_path))], check=True, capture_output=True)  # fmt: skip
    return path


@pytest.mark.parametrize("make", [geopackage, filegdb], ids=["geopackage", "filegdb"])
def test_a_half_circle_in_state_plane_feet_keeps_its_area_and_outline(tmp_path, make):
    result = run(make(tmp_path), tmp_path)

    assert (result.status, result.new, result.rejected) == ("succeeded", 1, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT area_m2, ST_HausdorffDistance(ST_Transform(geom, 2255),
                          ST_CurveToLine(ST_GeomFromText(%s, 2255), 0.001, 1, 1))
               FROM parcels_parcel WHERE apn = '164-020-001'""",
            [HALF_CIRCLE_WKT],
        )
        area_m2, off_ft = cursor.fetchone()
    assert area_m2 == pytest.approx(math.pi * RADIUS_FT**2 / 2 * FT**2, abs=0.5)  # 364.8 m²
    assert off_ft < 0.02 / FT  # within 2 cm of the arc everywhere (it was 55 cm off)
