"""A county file with a few bad rows still comes in; the bad rows are named, not fatal."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest
import shapely

from parcels.importing import ImportRefused
from parcels.models import ImportRun, Parcel
from tests.parcels.test_importing import cli, county_frame, rejects, run, write

pytestmark = pytest.mark.django_db


def geojson_text(path: Path, frame, geometries: dict[int, dict]) -> Path:
    """`frame` (in degrees) as GeoJSON, with the geometry of some rows replaced by raw
    GeoJSON geometries (which shapely would refuse to build: open rings and the like)."""
    collection = json.loads(frame.to_crs(4326).to_json())
    for at, geometry in geometries.items():
        collection["features"][at]["geometry"] = geometry
    path.write_text(json.dumps(collection))
    return path


def ring(*points: tuple[float, float]) -> dict:
    return {"type": "Polygon", "coordinates": [[list(p) for p in points]]}


LON, LAT = -90.2010, 32.2990
OPEN = ring((LON, LAT), (LON + 0.001, LAT), (LON + 0.001, LAT + 0.001), (LON, LAT + 0.001))
THREE_POINTS = ring((LON, LAT), (LON + 0.001, LAT), (LON, LAT))


# --- outlines PostGIS cannot parse ------------------------------------------------------------


def test_an_open_ring_or_a_ring_of_three_points_is_rejected_and_the_rest_imports(tmp_path):
    source = geojson_text(tmp_path / "p.geojson", county_frame(), {1: OPEN, 3: THREE_POINTS})

    result = run(source, tmp_path)

    assert (result.status, result.new, result.rejected) == ("succeeded", 4, 2)
    assert [(r["row"], r["APN"], r["outcome"], r["reason"]) for r in rejects(result)] == [
        ("2", "164-010-001", "rejected", "ring not closed (its last point must repeat its first)"),
        ("4", "164-010-003", "rejected",
         "too few points in a ring (a ring needs four, the last repeating the first)"),
    ]  # fmt: skip
    assert Parcel.objects.count() == 4


def test_csv_wkt_with_an_open_ring_is_rejected_naming_the_row(tmp_path):
    frame = county_frame().to_crs(4326)
    wkt = list(shapely.to_wkt(frame.geometry.values))
    east, north = LON + 0.001, LAT + 0.001
    wkt[2] = f"POLYGON(({LON} {LAT},{east} {LAT},{east} {north},{LON} {north}))"
    wkt[4] = f"POLYGON(({LON} {LAT},{east} {LAT},{LON} {LAT}))"
    source = tmp_path / "p.csv"
    frame.drop(columns="geometry").assign(WKT=wkt).to_csv(source, index=False)

    result = cli("import-parcels", str(source), "--srid", "4326", "--quiet",
                 "--rejects-dir", str(tmp_path))  # fmt: skip

    assert result.exit_code == 0, result.output
    (run_,) = ImportRun.objects.all()
    assert [(r["row"], r["reason"][:14]) for r in rejects(run_)] == [
        ("3", "ring not close"), ("5", "too few points"),
    ]  # fmt: skip
    assert run_.new == 4


def test_an_overlay_with_an_open_ring_is_refused_naming_the_row(tmp_path):
    frame = county_frame(3)[["apn", "geometry"]].rename(columns={"apn": "name"})
    source = geojson_text(tmp_path / "flood.geojson", frame, {2: OPEN})

    result = cli("import-layer", str(source), "--kind", "flood-zone")

    assert result.exit_code == 1
    assert result.output == (
        "Error: flood.geojson: row 3: ring not closed (its last point must repeat its first); "
        "fix or remove it. Nothing was imported\n"
    )


# --- a stray feature far from the rest --------------------------------------------------------


def test_a_stray_feature_at_the_false_origin_is_rejected_and_the_file_imports(tmp_path):
    frame = county_frame()
    frame.loc[4, "geometry"] = shapely.box(0, 0, 100, 100)  # 100 ft box at (0, 0)
    source = write(frame, tmp_path / "outlier.gpkg")

    result = run(source, tmp_path, srid=2255)

    assert (result.status, result.new, result.rejected) == ("succeeded", 5, 1)
    ((row, apn, reason),) = [(r["row"], r["APN"], r["reason"]) for r in rejects(result)]
    assert (row, apn) == ("5", "164-010-004")
    assert reason.startswith("lies at lon -9")
    assert "outside where EPSG:2255 (NAD83 / Mississippi West (ftUS)) is used: longitude" in reason


def test_a_csv_row_at_lon_0_lat_0_is_rejected_and_the_file_imports(tmp_path):
    frame = county_frame().to_crs(4326)
    wkt = list(shapely.to_wkt(frame.geometry.values))
    wkt[1] = "POLYGON((0 0,1 0,1 1,0 1,0 0))"
    source = tmp_path / "p.csv"
    frame.drop(columns="geometry").assign(WKT=wkt).to_csv(source, index=False)

    result = run(source, tmp_path, srid=4326)

    assert (result.new, result.rejected) == (5, 1)
    ((row, reason),) = [(r["row"], r["reason"]) for r in rejects(result)]
    assert row == "2"
    assert reason.startswith("lies at lon 0.50, lat 0.50, outside the area this registry keeps")


def test_most_features_elsewhere_still_refuse_the_file_as_a_wrong_crs(tmp_path):
    frame = county_frame().set_crs(2254, allow_override=True)  # Mississippi East for West
    frame.loc[0, "geometry"] = shapely.box(0, 0, 100, 100)

    with pytest.raises(ImportRefused, match="outside where that CRS is used"):
        run(write(frame, tmp_path / "east.gpkg"), tmp_path)
    assert Parcel.objects.count() == 0


def test_an_overlay_polygon_far_from_the_rest_is_refused_naming_the_row(tmp_path):
    frame = county_frame(4)[["apn", "geometry"]].rename(columns={"apn": "name"})
    frame.loc[2, "geometry"] = shapely.box(0, 0, 100, 100)
    source = write(frame, tmp_path / "flood.gpkg")

    result = cli("import-layer", str(source), "--kind", "flood-zone")

    assert result.exit_code == 1
    assert result.output.startswith("Error: flood.gpkg: row 3: lies at lon -9")
    assert "outside where EPSG:2255" in result.output
    assert "far from the file's other polygons; fix or remove it" in result.output


# --- nothing importable -----------------------------------------------------------------------


def test_a_file_whose_every_row_is_rejected_is_refused_and_retires_nothing(tmp_path):
    first = run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    frame = county_frame().to_crs(4326)
    source = tmp_path / "garbage.csv"
    frame.drop(columns="geometry").assign(WKT="garbage").to_csv(source, index=False)

    result = cli("import-parcels", str(source), "--srid", "4326", "--quiet",
                 "--rejects-dir", str(tmp_path / "rejects"))  # fmt: skip

    assert result.exit_code == 1
    failed = ImportRun.objects.exclude(pk=first.pk).get()
    assert result.output.splitlines()[-1] == (
        "Error: garbage.csv: no feature could be imported: all 6 were rejected; the reason "
        f"for each is in {failed.reject_file}. Fix the file (or the mapping) and import it "
        "again. Nothing was changed"
    )
    assert failed.status == "failed"
    assert [r["reason"] for r in rejects(failed)] == ["invalid WKT"] * 6
    assert Parcel.objects.filter(retired_at__isnull=True).count() == 6


# --- APNs kept as numbers ---------------------------------------------------------------------


def test_apns_in_a_float_column_are_stored_as_whole_numbers(tmp_path):
    frame = county_frame(3).assign(apn=[123456789012055.0, 2800.0, 17.0])
    source = write(frame, tmp_path / "pins.gpkg")

    result = run(source, tmp_path)

    assert result.new == 3
    assert sorted(Parcel.objects.values_list("apn", flat=True)) == [
        "123456789012055", "17", "2800",
    ]  # fmt: skip


@pytest.mark.parametrize("pin", [2.0**53 + 2, 1234.5], ids=["beyond 2**53", "with decimals"])
def test_a_float_apn_that_is_not_an_exact_whole_number_is_refused(tmp_path, pin):
    frame = county_frame(3).assign(apn=[11.0, pin, 12.0])
    source = write(frame, tmp_path / "pins.gpkg")

    with pytest.raises(ImportRefused) as refused:
        run(source, tmp_path)

    assert str(refused.value).startswith(
        f"pins.gpkg: the APN column 'apn' holds floating-point numbers, and row 2's ({pin!r}) "
        "is not a whole number a float keeps exactly"
    )
    assert "with the APN column as text" in str(refused.value)
    assert Parcel.objects.count() == 0


# --- lists and objects in GeoJSON properties --------------------------------------------------


def test_a_list_of_owners_is_joined_and_an_object_is_kept_as_json(tmp_path):
    collection = json.loads(county_frame(3).to_crs(4326).to_json())
    owners = [["JOHNSON MARY L", "JOHNSON EARL"], ["CITY OF JACKSON"], ["HILL EARL"]]
    for feature, owner in zip(collection["features"], owners, strict=True):
        feature["properties"] |= {"owner": owner, "zoning": {"code": "R-1"}}
    collection["features"][0]["geometry"] = OPEN  # rejected: its owners go to the reject file
    source = tmp_path / "owners.geojson"
    source.write_text(json.dumps(collection))

    result = run(source, tmp_path)

    assert (result.new, result.rejected) == (2, 1)
    assert list(Parcel.objects.order_by("apn").values_list("owner_of_record", "zoning")) == [
        ("CITY OF JACKSON", '{ "code": "R-1" }'),  # GDAL's JSON text for an object
        ("HILL EARL", '{ "code": "R-1" }'),
    ]
    assert rejects(result)[0]["owner"] == "JOHNSON MARY L; JOHNSON EARL"


# --- broken containers and paths -------------------------------------------------------------


def zip_with_a_corrupt_shp(tmp_path: Path) -> Path:
    """A zipped shapefile whose compressed .shp starts with an invalid deflate block."""
    (tmp_path / "src").mkdir()
    shp = write(county_frame(), tmp_path / "src" / "parcels.shp")
    archive = tmp_path / "parcels.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for part in shp.parent.glob("parcels.*"):
            z.write(part, part.name)
    with zipfile.ZipFile(archive) as z:
        offset = z.getinfo("parcels.shp").header_offset
    data = bytearray(archive.read_bytes())
    name_length, extra_length = struct.unpack("<HH", data[offset + 26 : offset + 30])
    data[offset + 30 + name_length + extra_length] = 0xFF  # block type 3: reserved, invalid
    archive.write_bytes(bytes(data))
    return archive


@pytest.mark.parametrize("command", [["import-parcels"], ["import-layer", "--kind", "zoning"]])
def test_a_zip_whose_shapefile_is_corrupt_is_refused_naming_the_member(tmp_path, command):
    archive = zip_with_a_corrupt_shp(tmp_path)

    result = cli(command[0], str(archive), *command[1:])

    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: {archive}: the zip's member parcels.shp is corrupt (Error -3 while "
        "decompressing data: invalid block type); download or zip the file again"
    )


def test_a_mapping_path_that_cannot_be_read_is_refused(tmp_path):
    source = write(county_frame(), tmp_path / "p.gpkg")
    mapping = source / "hinds.toml"  # a path through a file: NotADirectoryError

    result = cli("import-parcels", str(source), "--quiet", "--mapping", str(mapping))

    assert result.exit_code == 1
    assert result.output == (
        f"Error: --mapping: {mapping} cannot be read (Not a directory); give the path of a "
        "TOML or JSON file\n"
    )


def test_a_shapefile_without_its_dbf_is_refused_naming_the_dbf(tmp_path):
    source = write(county_frame(), tmp_path / "parcels.shp")
    source.with_suffix(".dbf").unlink()

    result = cli("import-parcels", str(source), "--quiet")

    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: parcels.shp: the .dbf (attribute table) is missing or unreadable, so there is "
        "no APN to read"
    )


def test_text_that_is_not_utf8_is_refused_naming_the_files_row_not_the_rows_sent(tmp_path):
    collection = json.loads(county_frame().to_crs(4326).to_json())
    source = tmp_path / "p.geojson"
    source.write_text(json.dumps(collection))
    assert run(source, tmp_path).new == 6
    collection["features"][4]["properties"]["owner"] = "MUÑOZ ANA"  # rows 1-4 unchanged
    source.write_bytes(json.dumps(collection, ensure_ascii=False).encode("latin-1"))

    with pytest.raises(ImportRefused, match=r"^p.geojson: the text \(row 5\) is not UTF-8"):
        run(source, tmp_path)


# --- an empty list of vacant codes ------------------------------------------------------------


@pytest.mark.parametrize("given", ["mapping file", "flag"])
def test_an_empty_list_of_vacant_codes_means_no_code_is_vacant(tmp_path, given):
    source = write(county_frame().drop(columns="vacant"), tmp_path / "p.gpkg")
    mapping = tmp_path / "m.toml"
    mapping.write_text("vacant_codes = []\n")
    said = []
    options = {"mapping_file": mapping} if given == "mapping file" else {"vacant_codes": ()}

    run(source, tmp_path, log=said.append, **options)

    assert "  vacant land-use codes  : (none)" in "\n".join(said)
    assert not Parcel.objects.filter(vacancy_status="vacant").exists()
    assert Parcel.objects.filter(vacancy_status="occupied").count() == 6


# --- a repeated APN whose first row is rejected -----------------------------------------------


def test_a_repeated_apn_whose_first_row_is_rejected_says_none_is_kept(tmp_path):
    frame = county_frame()
    frame.loc[3, "apn"] = frame.loc[2, "apn"]
    frame.loc[2, "geometry"] = shapely.Polygon()  # the first of the two: empty

    result = run(write(frame, tmp_path / "p.gpkg"), tmp_path)

    assert [(r["row"], r["reason"]) for r in rejects(result)] == [
        ("3", "empty geometry"),
        ("4", "APN '164-010-002' appears more than once (rows 3, 4); the first, row 3, is "
              "rejected too (empty geometry), so none of them is imported"),
    ]  # fmt: skip
    assert not Parcel.objects.filter(apn="164-010-002").exists()
