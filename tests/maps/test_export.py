"""Downloads: each format read back by GDAL with the right counts, CRS, fields and provenance."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from django.db import connection

from clt.cli import main
from maps.layers import all_layers
from tests.maps import factories_ogc as f
from tests.maps.factories_ogc import download

ROOT = Path(__file__).resolve().parents[2]
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture
def street(db):
    return f.street()


def signed_area(ring) -> float:
    """Shoelace: positive for a counter-clockwise ring."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2


def decimals(number: float) -> int:
    text = repr(number)
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


# --- GeoJSON ---------------------------------------------------------------------------


def test_geojson_export_is_rfc_7946(client, street):
    doc = json.loads(download(client, "/export/trust-land.geojson"))
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc
    assert len(doc["features"]) == 4
    for feature in doc["features"]:
        for polygon in feature["geometry"]["coordinates"]:
            outer, *holes = polygon
            assert signed_area(outer) > 0, "exterior rings are counter-clockwise"
            for hole in holes:
                assert signed_area(hole) < 0, "holes are clockwise"
            for lon, lat in outer:
                assert -180 <= lon <= 180 and -90 <= lat <= 90
                assert decimals(lon) <= 7 and decimals(lat) <= 7
    holed = [ft for ft in doc["features"] if len(ft["geometry"]["coordinates"][0]) == 2]
    assert len(holed) == 1


def test_geojson_export_is_streamed(client, street):
    response = client.get("/export/vacant-lots.geojson")
    assert response.streaming
    assert response["Content-Type"] == "application/geo+json"
    assert 'filename="vacant-lots.geojson"' in response["Content-Disposition"]


def test_geojson_export_carries_provenance_as_a_foreign_member(client, street):
    doc = json.loads(download(client, "/export/vacant-lots.geojson?zoning=R-1"))
    meta = doc["metadata"]
    assert meta["layer"] == "vacant-lots"
    assert meta["filters"] == {"zoning": "R-1"}
    assert meta["crs"].endswith("CRS84")
    assert meta["generated_at"].endswith("Z")
    assert sum(source["features"] for source in meta["sources"]) == 2
    assert len(doc["features"]) == 2


def test_geojson_export_is_read_by_gdal_with_the_whitelisted_fields(client, street, tmp_path):
    path = tmp_path / "trust.geojson"
    path.write_bytes(download(client, "/export/trust-land.geojson"))
    info = pyogrio.read_info(path)
    assert info["features"] == 4
    assert info["crs"] == "EPSG:4326"
    assert set(info["fields"]) == set(all_layers()["trust-land"].field_names)


def test_geojson_export_of_an_empty_selection_is_valid(client, street):
    doc = json.loads(download(client, "/export/vacant-lots.geojson?zoning=none"))
    assert doc["features"] == []


def test_geojson_export_refuses_another_crs(client, street):
    assert client.get(f"/export/vacant-lots.geojson?crs={EPSG}2255").status_code == 400


def test_geojson_export_takes_the_items_filters(client, street):
    doc = json.loads(download(client, f"/export/vacant-lots.geojson?bbox={f.lot_bbox(4, 6)}"))
    assert sorted(ft["id"] for ft in doc["features"]) == [p.pk for p in street.vacant[:3]]


@pytest.mark.parametrize("suffix", ["geojson", "csv"])
def test_a_bbox_that_is_a_point_in_the_county_crs_exports_the_lot_under_it(client, street, suffix):
    x, y = f.county_feet(*f.lot_centre(5))  # was a 500: an envelope of zero area
    url = f"/export/vacant-lots.{suffix}?bbox={x},{y},{x},{y}&bbox-crs={EPSG}2255"
    body = download(client, url).decode()
    if suffix == "geojson":
        assert [ft["id"] for ft in json.loads(body)["features"]] == [street.vacant[1].pk]
    else:
        assert [row["id"] for row in csv.DictReader(io.StringIO(body))] == [
            str(street.vacant[1].pk)
        ]


def test_arrears_beyond_what_the_column_holds_are_a_400_not_a_500(client, street):
    client.force_login(f.staff_user())
    response = client.get("/export/leases.geojson?arrears=1e999999999")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "arrears: '1e999999999' is too large; give at most 999999999999.99"
    )


def test_many_features_stream_in_several_chunks_and_stay_valid(client, db, monkeypatch):
    # The generator's own chunks: a public layer's download is a kept file, served in the file
    # response's blocks (maps/export_cache.py), so the HTTP chunks say nothing of the COPY's.
    from django.http import QueryDict

    from maps import exporting
    from maps.ogcapi.params import parse_crs, parse_filter

    monkeypatch.setattr(exporting, "CHUNK_BYTES", 1_000)
    for i in range(60):
        f.factories.parcel(geom=f.lot_at(i))
    layer = all_layers()["vacant-lots"]
    export = exporting.Export(layer, parse_filter(layer, QueryDict()), parse_crs(None))
    chunks = list(exporting.geojson_chunks(export, exporting.provenance(export, "geojson")))
    served = download(client, "/export/vacant-lots.geojson")

    assert len(chunks) > 10
    assert all(chunk.endswith(b"\n") for chunk in chunks)  # cut between features
    assert len(json.loads(b"".join(chunks))["features"]) == 60
    assert len(json.loads(served)["features"]) == 60


# --- CSV -------------------------------------------------------------------------------


def test_csv_export_has_wkt_and_a_point_on_each_lot(client, street):
    rows = list(csv.DictReader(io.StringIO(download(client, "/export/vacant-lots.csv").decode())))
    assert len(rows) == 5
    assert list(rows[0]) == ["id", *all_layers()["vacant-lots"].field_names, "WKT", "lon", "lat"]
    for row in rows:
        outline = shapely.from_wkt(row["WKT"])
        assert outline.contains(shapely.Point(float(row["lon"]), float(row["lat"])))


@pytest.mark.parametrize(
    ("address", "cell"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1 Formula Rd", "'+1 Formula Rd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("\tTabbed St", "'\tTabbed St"),
        ("-12.50", "-12.50"),  # a number stays a number
        ("12 = Main St", "12 = Main St"),
    ],
)
def test_csv_export_keeps_spreadsheet_formulas_as_text(client, street, address, cell):
    lot = street.vacant[0]
    type(lot).objects.filter(pk=lot.pk).update(address=address)
    rows = list(csv.DictReader(io.StringIO(download(client, "/export/vacant-lots.csv").decode())))
    (row,) = [r for r in rows if r["apn"] == lot.apn]
    assert row["address"] == cell
    assert row["apn"] == lot.apn and float(row["lon"]) < 0  # other columns as they were


def test_csv_export_links_its_csvw_metadata_with_provenance(client, street):
    response = client.get("/export/vacant-lots.csv?zoning=C-2")
    link = response["Link"]
    assert 'rel="describedby"' in link
    metadata_url = link[link.index("<") + 1 : link.index(">")]
    assert metadata_url.endswith("/export/vacant-lots.csv-metadata.json?zoning=C-2")
    doc = json.loads(download(client, metadata_url.split("testserver", 1)[1]))
    assert doc["@context"] == "http://www.w3.org/ns/csvw"
    assert [c["name"] for c in doc["tableSchema"]["columns"]][-3:] == ["WKT", "lon", "lat"]
    assert doc["notes"][0]["filters"] == {"zoning": "C-2"}


def test_csv_export_is_read_by_gdal(client, street, tmp_path):
    path = tmp_path / "lots.csv"
    path.write_bytes(download(client, "/export/vacant-lots.csv"))
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == 5
    assert frame.geometry.geom_type.tolist() == ["MultiPolygon"] * 5


# --- GeoPackage and Shapefile (ogr2ogr reads committed data: transactional tests) ---------


@pytest.mark.django_db(transaction=True)
def test_geopackage_export_round_trips(client, tmp_path):
    made = f.street()
    path = tmp_path / "trust.gpkg"
    path.write_bytes(download(client, "/export/trust-land.gpkg"))
    info = pyogrio.read_info(path, layer="trust_land")
    assert info["features"] == 4
    assert info["crs"] == "EPSG:4326"
    assert set(info["fields"]) == set(all_layers()["trust-land"].field_names)
    frame = pyogrio.read_dataframe(path, layer="trust_land", fid_as_index=True)
    assert frame.loc[made.trust[1].pk, "acquired_year"] == 2017
    assert str(frame.loc[made.trust[1].pk, "acquired_on"])[:10] == "2017-03-01"
    source = made.trust[2].geom
    assert shapely.equals_exact(
        frame.loc[made.trust[2].pk, "geometry"].normalize(),
        shapely.from_wkb(bytes(source.wkb)).normalize(),
        tolerance=1e-7,
    )


@pytest.mark.django_db(transaction=True)
def test_geopackage_carries_provenance_in_its_metadata(client, tmp_path):
    f.street()
    path = tmp_path / "lots.gpkg"
    path.write_bytes(download(client, f"/export/vacant-lots.gpkg?bbox={f.lot_bbox(4, 6)}"))
    out = subprocess.run(["ogrinfo", "-so", "-al", str(path)], capture_output=True, text=True)
    assert "Feature Count: 3" in out.stdout
    meta = pyogrio.read_info(path)["dataset_metadata"]
    provenance = json.loads(meta["PROVENANCE"])
    assert provenance["layer"] == "vacant-lots"
    assert provenance["filters"]["bbox"] == [float(v) for v in f.lot_bbox(4, 6).split(",")]
    contents = subprocess.run(
        ["ogrinfo", "-ro", "-q", str(path), "-sql", "SELECT description FROM gpkg_contents"],
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "Vacant lots" in contents and "bbox=" in contents


@pytest.mark.django_db(transaction=True)
def test_geopackage_in_the_county_crs(client, tmp_path):
    f.street()
    path = tmp_path / "lots.gpkg"
    path.write_bytes(download(client, f"/export/vacant-lots.gpkg?crs={EPSG}2255"))
    info = pyogrio.read_info(path)
    assert info["crs"] == "EPSG:2255"
    minx = info["total_bounds"][0]
    assert 2_000_000 < minx < 2_500_000


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("suffix", "inside"), [("gpkg", ""), ("shp.zip", "vacant_lots.shp"), ("csv", "")]
)
def test_files_asked_for_in_epsg_4326_keep_longitude_as_x(client, tmp_path, suffix, inside):
    """EPSG:4326 is latitude first for the OGC API's JSON; GeoPackage, Shapefile and a CSV's WKT
    store x = longitude in every CRS, and GDAL reads them so (these files were in Antarctica)."""
    f.street()
    path = tmp_path / f"lots.{suffix}"
    path.write_bytes(download(client, f"/export/vacant-lots.{suffix}?crs={EPSG}4326"))
    source = f"/vsizip/{path}/{inside}" if inside else path
    csv_options = {"GEOM_POSSIBLE_NAMES": "WKT", "KEEP_GEOM_COLUMNS": "NO"}
    frame = pyogrio.read_dataframe(source, **(csv_options if suffix == "csv" else {}))
    west, south, east, north = frame.total_bounds
    assert -91 < west < east < -90 and 32 < south < north < 33  # Jackson, Mississippi
    assert set(frame.geom_type) <= {"MultiPolygon", "Polygon"}  # a shapefile has no "multi"
    if suffix == "csv":  # the point on the surface, in the same file, agrees
        assert (frame["lon"].astype(float).between(west, east)).all()


@pytest.mark.django_db(transaction=True)
def test_an_empty_shapefile_export_is_still_typed_as_polygons(client, tmp_path):
    path = tmp_path / "none.shp.zip"
    path.write_bytes(download(client, "/export/vacant-lots.shp.zip"))
    info = pyogrio.read_info(f"/vsizip/{path}/vacant_lots.shp")
    assert info["features"] == 0
    assert info["geometry_type"] in ("MultiPolygon", "Polygon")  # a shapefile has no "multi"


@pytest.mark.django_db(transaction=True)
def test_zipped_shapefile_round_trips_with_provenance(client, tmp_path):
    f.street()
    path = tmp_path / "lots.shp.zip"
    path.write_bytes(download(client, "/export/vacant-lots.shp.zip"))
    names = zipfile.ZipFile(path).namelist()
    parts = {"vacant_lots.shp", "vacant_lots.dbf", "vacant_lots.prj", "provenance.json"}
    assert parts <= set(names)
    info = pyogrio.read_info(f"/vsizip/{path}/vacant_lots.shp")
    assert info["features"] == 5
    assert info["crs"] == "EPSG:4326"
    assert {"apn", "zoning", "area_m2"} <= set(info["fields"])
    provenance = json.loads(zipfile.ZipFile(path).read("provenance.json"))
    assert provenance["format"] == "shp"


# --- privacy ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["geojson", "csv", "gpkg", "shp.zip"])
def test_staff_layer_downloads_are_401_to_anonymous(client, street, suffix):
    assert client.get(f"/export/leases.{suffix}").status_code == 401


def test_staff_download_the_staff_layer(client, street):
    client.force_login(f.staff_user())
    doc = json.loads(download(client, "/export/leases.geojson"))
    assert "arrears" in doc["features"][0]["properties"]


def test_no_export_has_a_column_outside_the_whitelist(client, street):
    for name, layer in all_layers().items():
        if not layer.is_public:
            continue
        text = download(client, f"/export/{name}.csv").decode()
        header = text.splitlines()[0].split(",") if text else []
        assert header[1:-3] == list(layer.field_names)
        assert "State of Mississippi" not in text  # the owner of record


def test_unknown_parameter_and_unknown_layer(client, street):
    assert client.get("/export/vacant-lots.geojson?owner_of_record=x").status_code == 400
    assert client.get("/export/nope.geojson").status_code == 404


# --- the CLI, as a user runs it -------------------------------------------------------


def run_clt(*args: str) -> subprocess.CompletedProcess:
    db = connection.settings_dict
    url = f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return subprocess.run(
        [sys.executable, "-m", "clt.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        timeout=120,
    )


@pytest.mark.django_db(transaction=True)
def test_cli_exports_a_filtered_geopackage(tmp_path):
    f.street()
    out = tmp_path / "r1.gpkg"
    result = run_clt(
        "export",
        "vacant-lots",
        "-f",
        "gpkg",
        "-o",
        str(out),
        "--where",
        "zoning=R-1",
        "--bbox",
        f.lot_bbox(4, 8),
    )
    assert result.returncode == 0, result.stderr
    assert pyogrio.read_info(out)["features"] == 2
    assert "2 features" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_cli_exports_every_format(tmp_path):
    f.street()
    for fmt, name in (("geojson", "a.geojson"), ("csv", "a.csv"), ("shp", "a.shp.zip")):
        result = run_clt("export", "trust-land", "-f", fmt, "-o", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
    assert len(json.loads((tmp_path / "a.geojson").read_text())["features"]) == 4
    assert (tmp_path / "a.csv-metadata.json").exists()
    assert pyogrio.read_info(f"/vsizip/{tmp_path / 'a.shp.zip'}/trust_land.shp")["features"] == 4


@pytest.mark.django_db(transaction=True)
def test_cli_says_what_is_wrong_with_a_filter(tmp_path):
    result = run_clt(
        "export",
        "vacant-lots",
        "-f",
        "csv",
        "-o",
        str(tmp_path / "x.csv"),
        "--where",
        "owner_of_record=x",
    )
    assert result.returncode == 2
    assert "owner_of_record=x" in result.stderr and "Traceback" not in result.stderr
    result = run_clt(
        "export", "vacant-lots", "-f", "csv", "-o", str(tmp_path / "x.csv"), "--bbox", "1,2,3"
    )
    assert result.returncode == 1
    assert "bbox" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["parcels", "--datetime", "2020-01-01"], "layer 'parcels' has no dates"),
        (["trust-land", "--datetime", "9999-12-31T23:00:00-05:00"], "outside the years 1 to"),
        (["trust-land", "-o", "/nonexistent-folder/x.csv"], "does not exist"),
    ],
)
def test_cli_refuses_what_it_cannot_do_rather_than_ignore_it(tmp_path, arguments, said):
    layer, *rest = arguments
    output = [] if "-o" in rest else ["-o", str(tmp_path / "x.csv")]
    result = run_clt("export", layer, "-f", "csv", *output, *rest)
    assert result.returncode != 0
    assert said in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_cli_exports_the_lot_under_a_bbox_that_is_a_point_in_the_county_crs(street, tmp_path):
    x, y = f.county_feet(*f.lot_centre(5))
    output = tmp_path / "lot.geojson"
    arguments = ["export", "vacant-lots", "-f", "geojson", "-o", str(output)]
    bbox = ["--bbox", f"{x},{y},{x},{y}", "--bbox-crs", f"{EPSG}2255"]
    result = CliRunner().invoke(main, [*arguments, *bbox])
    assert result.exit_code == 0, result.output
    features = json.loads(output.read_text())["features"]
    assert [ft["id"] for ft in features] == [street.vacant[1].pk]
    assert result.output.endswith(f"clt: wrote vacant-lots to {output} (1 feature)\n")


def test_cli_says_which_arrears_the_column_cannot_hold(street, tmp_path):
    arguments = ["export", "leases", "-f", "csv", "-o", str(tmp_path / "x.csv")]
    result = CliRunner().invoke(main, [*arguments, "--where", "arrears=1e999999999"])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "Error: arrears: '1e999999999' is too large; give at most 999999999999.99"
    )
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("fmt", ["geojson", "csv"])
def test_cli_says_in_one_line_that_it_cannot_write_the_file(street, fmt):
    output = f"/proc/p.{fmt}"  # /proc makes no new file, even for root
    result = CliRunner().invoke(main, ["export", "trust-land", "-f", fmt, "-o", output])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: cannot write {output}: No such file or directory; choose a folder you may write to"
    )


def test_a_cli_export_that_fails_midway_leaves_the_earlier_file_and_no_part(
    street, tmp_path, monkeypatch
):
    from maps import exporting

    def disk_fills(export, meta):
        yield b'{"type":"FeatureCollection",'
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exporting, "geojson_chunks", disk_fills)
    output = tmp_path / "trust.geojson"
    output.write_text("yesterday's export")
    arguments = ["export", "trust-land", "-f", "geojson", "-o", str(output), "--force"]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 1
    assert f"cannot write {output}: No space left on device" in result.output
    assert output.read_text() == "yesterday's export"
    assert sorted(tmp_path.iterdir()) == [output]


@pytest.mark.parametrize("name", ["out.dat", "out"])
def test_cli_refuses_a_shapefile_name_it_would_turn_into_a_folder(street, tmp_path, name):
    output = tmp_path / name
    result = CliRunner().invoke(main, ["export", "trust-land", "-f", "shp", "-o", str(output)])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: {name}: a Shapefile is written as NAME.shp or, zipped, NAME.shp.zip; "
        f"give -o {tmp_path / 'out.shp.zip'} (or .shp)"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_cli_writes_a_shapefile_named_shp_with_its_parts_beside_it(tmp_path):
    f.street()
    result = run_clt("export", "trust-land", "-f", "shp", "-o", str(tmp_path / "trust.shp"))
    assert result.returncode == 0, result.stderr
    assert pyogrio.read_info(tmp_path / "trust.shp")["features"] == 4
    assert {p.suffix for p in tmp_path.iterdir()} >= {".shp", ".shx", ".dbf", ".prj", ".json"}


@pytest.mark.django_db(transaction=True)
def test_an_abandoned_download_leaves_the_database_connection_usable(monkeypatch):
    # psycopg cancels the COPY and drains it; in autocommit (as in production) the same
    # connection then serves the next query. (Inside a test transaction the cancel would abort
    # the transaction, hence transaction=True.)
    # A public layer's download is a kept file now (maps/export_cache.py); a staff layer's
    # still streams from the COPY, through this same generator.
    from django.http import QueryDict

    from maps import exporting
    from maps.layers import all_layers
    from maps.ogcapi.params import parse_crs, parse_filter

    monkeypatch.setattr(exporting, "CHUNK_BYTES", 1_000)
    for i in range(30):
        f.factories.parcel(geom=f.lot_at(i))
    layer = all_layers()["vacant-lots"]
    export = exporting.Export(layer, parse_filter(layer, QueryDict()), parse_crs(None))
    stream = exporting.geojson_chunks(export, exporting.provenance(export, "geojson"))
    next(stream), next(stream)
    raw = connection.connection
    stream.close()  # what the WSGI server does when the client hangs up mid-download
    assert not raw.closed
    assert raw.execute("SELECT count(*) FROM parcels_parcel").fetchone()[0] == 30
