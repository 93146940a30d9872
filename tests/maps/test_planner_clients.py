"""What a city planner met reading the trust's layers with GDAL, curl and `clt export` (QA round
s19, tester A): a boolean filter as GDAL sends it (`available=1`), the map's GeoJSON wound
clockwise, `clt export -o -` writing a file named `-`, `EPSG:2255` refused though it is served,
and no ETag on the landing page, the conformance declaration and the API definition.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess

import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from django.contrib.gis.geos import MultiPolygon, Polygon

from clt.cli import main
from parcels.models import Overlay
from tests import factories
from tests.maps import factories_ogc as f
from tests.maps.factories_ogc import download

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
ITEMS = "/ogcapi/collections/trust-land/items"


@pytest.fixture
def street(db):
    """Four trust lots, the second available (`available` true), the others not."""
    return f.street()


def item_ids(client, query: str) -> list[int]:
    response = client.get(f"{ITEMS}?f=json&{query}")
    assert response.status_code == 200, response.content[:300]
    return [feature["id"] for feature in response.json()["features"]]


def ring_directions(geometry: dict) -> list[list[str]]:
    """Each polygon's rings as 'CCW' or 'CW', exterior first (RFC 7946 §3.1.6 wants
    exteriors 'CCW' and holes 'CW')."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else (
        geometry["coordinates"]
    )
    return [
        ["CCW" if shapely.LinearRing(ring).is_ccw else "CW" for ring in polygon]
        for polygon in polygons
    ]


# --- 1. a boolean filter as GDAL (and so QGIS) sends it ----------------------------------------


@pytest.mark.parametrize("written", ["1", "true", "TRUE", "True", "yes"])
def test_available_written_as_gdal_or_a_person_writes_true_selects_the_available_lot(
    client, street, written
):
    assert item_ids(client, f"available={written}") == [street.trust[1].pk]


@pytest.mark.parametrize("written", ["0", "false", "FALSE", "no"])
def test_available_written_as_false_selects_the_other_trust_lots(client, street, written):
    others = [lot.pk for i, lot in enumerate(street.trust) if i != 1]
    assert sorted(item_ids(client, f"available={written}")) == sorted(others)


@pytest.mark.parametrize("written", ["maybe", "2", "-1", "", "t"])
def test_a_boolean_that_is_neither_is_still_a_400_naming_the_field(client, street, written):
    response = client.get(f"{ITEMS}?f=json&available={written}")
    assert response.status_code == 400
    assert response.json()["detail"] == f"available: '{written}' is not true or false"


def test_the_csv_download_filters_available_written_1(client, street):
    rows = list(csv.DictReader(io.StringIO(download(client, "/export/trust-land.csv?available=1")
                                           .decode())))  # fmt: skip
    assert [(int(row["id"]), row["available"]) for row in rows] == [(street.trust[1].pk, "true")]


# --- 2. the map's GeoJSON follows the right-hand rule --------------------------------------------


def test_the_map_layers_geojson_winds_a_clockwise_flood_zone_and_its_hole_as_rfc_7946_asks(
    client, db
):
    # Drawn the wrong way round: shell clockwise, courtyard counter-clockwise.
    drawn = f.lot_at(0, clockwise=True, hole=True)
    Overlay.objects.create(kind="flood-zone", name="Zone AE", geom=drawn)
    response = client.get("/map/layers/flood-zones.geojson")
    assert response.status_code == 200
    [feature] = response.json()["features"]
    assert ring_directions(feature["geometry"]) == [["CCW", "CW"]]
    assert feature["properties"] == {"id": feature["properties"]["id"], "name": "Zone AE",
                                     "kind": "flood-zone"}  # fmt: skip
    # The same outline, only turned round: within the 6 decimals the map is sent.
    served = shapely.geometry.shape(feature["geometry"])
    assert shapely.equals_exact(served.normalize(), shapely.from_wkb(bytes(drawn.wkb)).normalize(),
                                1e-6)  # fmt: skip


def test_the_map_layers_geojson_winds_a_clockwise_easement_counter_clockwise(client, db, day):
    ring = [(-90.21, 32.30), (-90.21, 32.303), (-90.207, 32.303), (-90.207, 32.30), (-90.21, 32.30)]
    clockwise = MultiPolygon(Polygon(ring), srid=4326)
    assert not shapely.LinearRing(ring).is_ccw
    factories.easement(name="Freedom Farm farmland easement", geom=clockwise)
    [feature] = client.get("/map/layers/conserved-land.geojson").json()["features"]
    assert ring_directions(feature["geometry"]) == [["CCW"]]


# --- 3. clt export -o - and --force --------------------------------------------------------------


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """An empty working folder: `-o -` must leave nothing in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_export_to_dash_writes_the_geojson_on_stdout_and_no_file(street, elsewhere):
    result = CliRunner().invoke(main, ["export", "trust-land", "-f", "geojson", "-o", "-",
                                       "--where", "available=1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    collection = json.loads(result.stdout)
    assert [feature["id"] for feature in collection["features"]] == [street.trust[1].pk]
    assert collection["metadata"]["layer"] == "trust-land"  # the provenance, inside
    assert result.stderr == "clt: wrote trust-land to stdout (1 feature)\n"
    assert list(elsewhere.iterdir()) == []


def test_export_to_dash_writes_the_csv_alone_on_stdout(street, elsewhere):
    result = CliRunner().invoke(main, ["export", "trust-land", "-f", "csv", "-o", "-"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted(int(row["id"]) for row in rows) == sorted(lot.pk for lot in street.trust)
    assert "CSVW metadata" in result.stderr
    assert list(elsewhere.iterdir()) == []  # no `-`, no `--metadata.json`


@pytest.mark.parametrize(("fmt", "kind", "suffix"),
                         [("gpkg", "GeoPackage", "gpkg"), ("shp", "Shapefile", "shp.zip")])
def test_export_to_dash_refuses_a_format_gdal_writes_in_place(street, elsewhere, fmt, kind,
                                                              suffix):  # fmt: skip
    result = CliRunner().invoke(main, ["export", "trust-land", "-f", fmt, "-o", "-"])
    assert result.exit_code == 2
    assert f"a {kind} cannot be written to stdout ('-')" in result.stderr
    assert f"-o trust-land.{suffix}" in result.stderr
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(("fmt", "name"), [("gpkg", "tl.gpkg"), ("geojson", "tl.geojson"),
                                           ("csv", "tl.csv")])  # fmt: skip
def test_export_refuses_to_replace_a_file_without_force(street, tmp_path, fmt, name):
    output = tmp_path / name
    output.write_text("the planner's county-CRS copy")
    result = CliRunner().invoke(main, ["export", "trust-land", "-f", fmt, "-o", str(output)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: -o {output}: the file exists; pass --force to replace it"
    )
    assert output.read_text() == "the planner's county-CRS copy"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_export_with_force_replaces_the_file(street, tmp_path):
    output = tmp_path / "tl.geojson"
    output.write_text("old")
    arguments = ["export", "trust-land", "-f", "geojson", "-o", str(output), "--force"]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert len(json.loads(output.read_text())["features"]) == 4


# --- 4. a CRS written EPSG:2255 --------------------------------------------------------------


def test_items_in_epsg_2255_written_short_are_those_asked_for_by_uri(client, street):
    short = client.get(f"{ITEMS}?f=json&crs=EPSG:2255")
    by_uri = client.get(f"{ITEMS}?f=json&crs={EPSG}2255")
    assert short.status_code == 200, short.content[:300]
    assert short["Content-Crs"] == f"<{EPSG}2255>"
    assert short.json()["features"] == by_uri.json()["features"]


@pytest.mark.parametrize("written", ["EPSG:2255", "epsg:2255", "urn:ogc:def:crs:EPSG::2255"])
def test_a_bbox_in_county_feet_may_name_its_crs_as_planners_write_it(client, street, written):
    x, y = f.county_feet(*f.lot_centre(1))
    query = f"bbox={x - 1},{y - 1},{x + 1},{y + 1}&bbox-crs={written}"
    assert item_ids(client, query) == [street.trust[1].pk]


def test_a_crs_not_served_is_a_400_listing_those_served_and_how_to_write_them(client, street):
    response = client.get(f"{ITEMS}?f=json&crs=EPSG:3857")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "crs: 'EPSG:3857' is not a CRS this API serves, or not written as one: it serves "
        "OGC:CRS84, EPSG:4326, EPSG:2255, EPSG:3814, EPSG:26995, written as EPSG:2255, "
        f"[EPSG:2255] or {EPSG}2255"
    )


def test_cli_exports_in_epsg_2255_written_short(street, elsewhere):
    arguments = ["export", "trust-land", "-f", "csv", "-o", "-", "--crs", "EPSG:2255"]
    result = CliRunner().invoke(main, [*arguments, "--where", "available=1"])
    assert result.exit_code == 0, result.output
    [row] = csv.DictReader(io.StringIO(result.stdout))
    point = shapely.from_wkt(row["WKT"]).representative_point()
    x, y = f.county_feet(*f.lot_centre(1))  # the lot's middle, in US feet
    assert point.distance(shapely.Point(x, y)) < 60  # the lot is about 100 ft a side


# --- 5. ETags on the landing page, the conformance declaration and the API definition ----------


@pytest.mark.parametrize("url", ["/ogcapi/", "/ogcapi/conformance", "/ogcapi/api",
                                 "/ogcapi/?f=html", "/ogcapi/api?f=html"])  # fmt: skip
def test_the_service_documents_carry_an_etag_and_are_a_304_while_current(client, db, url):
    first = client.get(url)
    assert first.status_code == 200
    assert first["ETag"].startswith('W/"')
    assert "no-cache" in first["Cache-Control"]
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert (again.status_code, again["ETag"], again.content) == (304, first["ETag"], b"")


def test_the_api_definition_has_another_etag_for_staff_who_see_the_staff_layers(client, db):
    public = client.get("/ogcapi/api")
    client.force_login(f.staff_user())
    staff = client.get("/ogcapi/api", HTTP_IF_NONE_MATCH=public["ETag"])
    assert staff.status_code == 200
    assert "/collections/leases" in staff.json()["paths"]
    assert staff["ETag"] != public["ETag"]


def test_the_api_definition_declares_the_304_of_the_service_documents(client, db):
    paths = client.get("/ogcapi/api").json()["paths"]
    for path in ("/", "/conformance", "/api"):
        assert "304" in paths[path]["get"]["responses"], path


# --- GDAL itself ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gdal_filters_trust_land_on_available_1(live_server, tmp_path):
    made = f.street()
    output = tmp_path / "available.gpkg"
    result = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(output), f"OAPIF:{live_server.url}/ogcapi", "trust-land",
         "-where", "available=1"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "CPL_DEBUG": "OFF"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert list(pyogrio.read_dataframe(output)["apn"]) == [made.trust[1].apn]
