"""Money and booleans keep their types in every format, and Shapefile names stay readable.

A planner sorts, sums and filters arrears in QGIS: as text, `max(arrears)` of 1200.00 and 562.29
was 562.29 and `arrears > 500` missed the $1,200 lease. Each format is read back the way a
planner's tools read it: GeoPackage and Shapefile by GDAL (ogrinfo, pyogrio), GeoJSON by GDAL,
the OGC API's JSON as text, CSVW as JSON, tiles decoded with mapbox_vector_tile.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import zipfile
from decimal import Decimal

import mapbox_vector_tile
import pyogrio
import pytest

from leases.models import GroundLease
from maps.exporting import shapefile_names
from maps.layers import all_layers
from maps.tiles import TileAddress
from tests import factories
from tests.maps import factories_ogc as f
from tests.maps.factories_ogc import download

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def two_leases_in_arrears() -> f.Street:
    """The street, with its lease $1,200.00 in arrears and a second lease $562.29 in arrears:
    as text, "562.29" sorts after "1200.00"."""
    made = f.street()
    GroundLease.objects.update(arrears=Decimal("1200.00"))
    second = made.trust[3].holdings.get()
    factories.lease(holding_=second, arrears=Decimal("562.29"))
    return made


def ogrinfo(*args: str) -> str:
    result = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def field_types(source: str, layer: str) -> dict[str, str]:
    """Each field's type as `ogrinfo -so` says it: `arrears: Real (14.2)` -> {'arrears': 'Real
    (14.2)'}. A column GDAL finds NOT NULL says so after it (the lease's own arrears)."""
    summary = ogrinfo("-so", source, layer)
    found = re.findall(r"^(\w+): (\w+(?:\(\w+\))? \([\d.]+\))(?: NOT NULL)?$", summary, re.M)
    return dict(found)


# --- GeoPackage and Shapefile (ogr2ogr reads committed data: transactional tests) ---------


@pytest.mark.django_db(transaction=True)
def test_a_geopackage_holds_money_as_real_numbers_and_availability_as_booleans(client, tmp_path):
    made = two_leases_in_arrears()
    client.force_login(f.staff_user())
    leases = tmp_path / "leases.gpkg"
    leases.write_bytes(download(client, "/export/leases.gpkg"))
    assert field_types(str(leases), "leases")["arrears"].startswith("Real")
    biggest = ogrinfo("-q", str(leases), "-sql", "SELECT max(arrears) AS m FROM leases")
    assert "m (Real) = 1200" in biggest
    over = ogrinfo("-q", str(leases), "-sql", "SELECT apns FROM leases WHERE arrears > 500")
    assert sorted(re.findall(r"apns \(String\) = (\S+)", over)) == sorted(
        [made.trust[0].apn, made.trust[3].apn]
    )
    trust = tmp_path / "trust.gpkg"
    trust.write_bytes(download(client, "/export/trust-land.gpkg"))
    assert field_types(str(trust), "trust_land")["available"].startswith("Integer(Boolean)")
    frame = pyogrio.read_dataframe(trust, fid_as_index=True)
    assert frame["available"].dtype == bool
    assert frame["available"].to_dict() == {p.pk: p == made.trust[1] for p in made.trust}


@pytest.mark.django_db(transaction=True)
def test_a_shapefile_has_money_in_cents_and_short_names_a_reader_can_tell_apart(client, tmp_path):
    made = two_leases_in_arrears()
    client.force_login(f.staff_user())
    path = tmp_path / "leases.shp.zip"
    path.write_bytes(download(client, "/export/leases.shp.zip"))
    source = f"/vsizip/{path}/leases.shp"
    types = field_types(source, "leases")
    assert list(types) == [
        "id", "lease", "status", "arrears", "open_evts", "parcels", "apns", "addresses",
    ]  # fmt: skip
    assert types["arrears"] == "Real (14.2)"  # a number with cents, not text or N 24.15
    frame = pyogrio.read_dataframe(source)
    assert sorted(frame["arrears"]) == [562.29, 1200.0]
    provenance = json.loads(zipfile.ZipFile(path).read("provenance.json"))
    assert {field["name"]: field["shapefile_name"] for field in provenance["fields"]} == {
        "lease": "lease", "lease_status": "status", "arrears": "arrears",
        "open_monitoring": "open_evts", "parcels": "parcels", "apns": "apns",
        "addresses": "addresses",
    }  # fmt: skip

    trust = tmp_path / "trust.shp.zip"
    trust.write_bytes(download(client, "/export/trust-land.shp.zip"))
    source = f"/vsizip/{trust}/trust_land.shp"
    types = field_types(source, "trust_land")
    assert list(types) == [
        "id", "apn", "address", "place", "use", "available", "acq_year", "acq_date", "area_m2",
        "contact",
    ]  # fmt: skip
    assert types["available"].startswith("Integer")
    frame = pyogrio.read_dataframe(source)
    assert dict(zip(frame["apn"], frame["available"], strict=True)) == {
        p.apn: int(p == made.trust[1]) for p in made.trust
    }
    provenance = json.loads(zipfile.ZipFile(trust).read("provenance.json"))
    names = {field["name"]: field for field in provenance["fields"]}
    assert names["acquired_year"]["shapefile_name"] == "acq_year"
    assert names["acquired_on"]["shapefile_name"] == "acq_date"
    assert names["available"]["shapefile_values"] == "1 = true, 0 = false"


def test_every_layers_shapefile_names_are_unique_and_at_most_10_characters():
    for layer in all_layers().values():
        names = shapefile_names(layer)
        assert all(len(name) <= 10 for name in names), layer.name
        assert len({name.lower() for name in (*names, "id")}) == len(names) + 1, layer.name


# --- GeoJSON, the OGC API's JSON, CSV and CSVW ----------------------------------------------


@pytest.mark.django_db
def test_json_writes_money_as_numbers_with_cents_and_availability_as_true_or_false(
    client, tmp_path
):
    made = two_leases_in_arrears()
    client.force_login(f.staff_user())
    items = client.get("/ogcapi/collections/leases/items?f=json").content.decode()
    assert sorted(re.findall(r'"arrears" ?: ?([^,}]+)', items)) == ["1200.00", "562.29"]
    lot = made.trust[1]
    item = client.get(f"/ogcapi/collections/trust-land/items/{lot.pk}?f=json").json()
    assert item["properties"]["available"] is True
    path = tmp_path / "leases.geojson"
    path.write_bytes(download(client, "/export/leases.geojson"))
    info = pyogrio.read_info(path)
    assert dict(zip(info["fields"], info["dtypes"], strict=True))["arrears"] == "float64"
    path = tmp_path / "trust.geojson"
    path.write_bytes(download(client, "/export/trust-land.geojson"))
    info = pyogrio.read_info(path)
    assert dict(zip(info["fields"], info["dtypes"], strict=True))["available"] == "bool"


@pytest.mark.django_db
def test_the_ogc_api_filters_money_and_availability_as_values_not_text(client):
    made = two_leases_in_arrears()
    client.force_login(f.staff_user())
    found = client.get("/ogcapi/collections/leases/items?f=json&arrears=1200").json()
    assert [ft["properties"]["apns"] for ft in found["features"]] == [made.trust[0].apn]
    found = client.get("/ogcapi/collections/trust-land/items?f=json&available=true").json()
    assert [ft["id"] for ft in found["features"]] == [made.trust[1].pk]
    refused = client.get("/ogcapi/collections/trust-land/items?f=json&available=maybe")
    assert refused.status_code == 400
    assert refused.json()["detail"] == "available: 'maybe' is not true or false"
    api = client.get("/ogcapi/api?f=json").json()["components"]["parameters"]
    assert api["leases.arrears"]["schema"] == {"type": "number"}
    assert api["trust-land.available"]["schema"] == {"type": "boolean"}


@pytest.mark.django_db
def test_csv_and_its_csvw_type_money_as_decimal_and_availability_as_boolean(client):
    made = two_leases_in_arrears()
    client.force_login(f.staff_user())
    columns = {
        column["name"]: column["datatype"]
        for column in json.loads(download(client, "/export/leases.csv-metadata.json"))[
            "tableSchema"
        ]["columns"]
    }
    assert columns["arrears"] == "decimal"
    rows = csv.DictReader(io.StringIO(download(client, "/export/leases.csv").decode()))
    assert sorted(row["arrears"] for row in rows) == ["1200.00", "562.29"]
    metadata = json.loads(download(client, "/export/trust-land.csv-metadata.json"))
    available = [c for c in metadata["tableSchema"]["columns"] if c["name"] == "available"]
    assert available[0]["datatype"] == "boolean"
    rows = csv.DictReader(io.StringIO(download(client, "/export/trust-land.csv").decode()))
    assert {row["apn"]: row["available"] for row in rows} == {
        p.apn: "true" if p == made.trust[1] else "false" for p in made.trust
    }  # CSVW's boolean words, not PostgreSQL's t/f


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("crs", "said"),
    [
        ("", "longitude first"),
        (f"?crs={EPSG}4326", "longitude first"),
        (f"?crs={EPSG}2255", "easting first"),
    ],
)
def test_the_csvw_says_which_coordinate_the_wkt_gives_first(client, crs, said):
    f.street()
    metadata = json.loads(download(client, f"/export/vacant-lots.csv-metadata.json{crs}"))
    (wkt,) = [c for c in metadata["tableSchema"]["columns"] if c["name"] == "WKT"]
    assert said in wkt["dc:description"]
    if "4326" in crs:  # EPSG:4326 is defined latitude first; this WKT is not
        text = download(client, f"/export/vacant-lots.csv{crs}").decode()
        first = next(csv.DictReader(io.StringIO(text)))["WKT"]
        x = float(re.search(r"\(\(\((-?[\d.]+) ", first)[1])
        assert -91 < x < -90  # the longitude of Jackson


# --- tiles -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tiles_carry_money_as_numbers_and_availability_as_booleans(client):
    made = two_leases_in_arrears()
    client.force_login(f.staff_user())
    tile = _street_tile(made)
    leases = mapbox_vector_tile.decode(client.get(f"/tiles/leases/{tile}.pbf").content)
    assert sorted(ft["properties"]["arrears"] for ft in leases["leases"]["features"]) == [
        562.29, 1200.0,
    ]  # fmt: skip
    trust = mapbox_vector_tile.decode(client.get(f"/tiles/trust-land/{tile}.pbf").content)
    available = {ft["properties"]["apn"]: ft["properties"]["available"]
                 for ft in trust["trust-land"]["features"]}  # fmt: skip
    assert available == {p.apn: p == made.trust[1] for p in made.trust}
    assert all(type(value) is bool for value in available.values())


def _street_tile(made: f.Street) -> str:
    """The z14 tile with the street's trust lots (all four lie in it), as `z/x/y`."""
    (tile,) = {TileAddress.containing(*p.geom.point_on_surface.coords, 14) for p in made.trust}
    return str(tile)
