"""GDAL and GEOS load, and geometry survives the database in EPSG:4326 with honest areas."""

import pytest
import shapely
from django.contrib.gis.gdal import CoordTransform, SpatialReference, gdal_version
from django.contrib.gis.geos import GEOSGeometry, geos_version
from pyproj import Transformer

from parcels.models import Parcel

# A 50 ft x 140 ft lot on a West Jackson block, in EPSG:4326 (lon, lat).
LOT_WKT = (
    "MULTIPOLYGON(((-90.21000 32.30000, -90.20984 32.30000, -90.20984 32.30038, "
    "-90.21000 32.30038, -90.21000 32.30000)))"
)


def test_gdal_and_geos_libraries_load():
    assert gdal_version().decode().startswith("3.")
    assert geos_version().decode().startswith("3.")


def test_gdal_reprojects_jackson_city_hall_to_mississippi_west_feet():
    city_hall = GEOSGeometry("POINT(-90.1848 32.2988)", srid=4326)
    city_hall.transform(CoordTransform(SpatialReference(4326), SpatialReference(2255)))
    # Mississippi West (ftUS): false easting 2,296,583.333 ft on the -90.333 meridian, and
    # Jackson lies about 14 km east of it, so x is about 2,342,000 ft.
    assert 2_330_000 < city_hall.x < 2_355_000
    # Latitude of origin 29.5 N, no false northing: 2.8 degrees north is about 1,018,000 ft.
    assert 1_010_000 < city_hall.y < 1_025_000


@pytest.mark.django_db
def test_geometry_round_trips_through_postgis_in_4326():
    parcel = Parcel.objects.create(apn="TEST-1", geom=GEOSGeometry(LOT_WKT, srid=4326))
    stored = Parcel.objects.get(pk=parcel.pk).geom
    assert stored.srid == 4326
    assert stored.equals_exact(GEOSGeometry(LOT_WKT), tolerance=1e-12)


@pytest.mark.django_db
def test_area_computed_by_the_database_matches_shapely_in_a_projected_crs():
    parcel = Parcel.objects.create(apn="TEST-2", geom=GEOSGeometry(LOT_WKT, srid=4326))
    area_db_m2 = Parcel.objects.get(pk=parcel.pk).area_m2

    lot = shapely.from_wkt(LOT_WKT)
    to_metres = Transformer.from_crs(4326, 26995, always_xy=True)  # MS West, metres
    to_feet = Transformer.from_crs(4326, 2255, always_xy=True)  # MS West, US ft
    area_metric_m2 = shapely.transform(lot, to_metres.transform, interleaved=False).area
    area_feet_m2 = (  # US survey ft² to m²
        shapely.transform(lot, to_feet.transform, interleaved=False).area * (1200 / 3937) ** 2
    )

    assert area_db_m2 == pytest.approx(area_metric_m2, rel=0.001)
    assert area_db_m2 == pytest.approx(area_feet_m2, rel=0.001)
    assert 600 < area_db_m2 < 700  # 16 m x 42 m or so


@pytest.mark.django_db
def test_parcel_without_geometry_is_allowed_while_researched():
    parcel = Parcel.objects.create(apn="TEST-3")
    assert Parcel.objects.get(pk=parcel.pk).area_m2 == 0
