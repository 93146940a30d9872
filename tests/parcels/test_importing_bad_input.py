"""A county file with a few bad rows still comes in; the bad rows are named, not fatal."""

from __future__ import annotations

import contextlib
import csv
import json
import sqlite3
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
import shapely

from parcels.importing import ImportRefused
from parcels.models import ImportRun, Overlay, Parcel
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

    with pytest.raises(
        ImportRefused, match=r"^p.geojson: the text in row 5 \(column owner\) is not UTF-8"
    ):
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


# --- zips as people make them -----------------------------------------------------------------

# An AppleDouble file's start: what macOS writes for each file's resource fork.
APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(8)
IMPORTS = {
    "import-parcels": lambda source, tmp_path: cli(
        "import-parcels", str(source), "-j", "other", "--quiet", "--rejects-dir", str(tmp_path)
    ),
    "import-layer": lambda source, tmp_path: cli(
        "import-layer", str(source), "--kind", "other", "--quiet"
    ),
}
IMPORTED = {
    "import-parcels": lambda: sorted(Parcel.objects.values_list("apn", flat=True)),
    "import-layer": lambda: sorted(Overlay.objects.values_list("attributes__apn", flat=True)),
}


def shapefile_parts(folder: Path, frame=None, name: str = "parcels") -> list[Path]:
    folder.mkdir(exist_ok=True)
    write(county_frame() if frame is None else frame, folder / f"{name}.shp")
    return sorted(folder.glob(f"{name}.*"))


def mac_zip(tmp_path: Path) -> Path:
    """The county's shapefile in a folder zipped with macOS's "Compress": an AppleDouble `._`
    file for each part under `__MACOSX/`, and the folder's .DS_Store."""
    archive = tmp_path / "mac.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in shapefile_parts(tmp_path / "src"):
            z.write(part, f"Parcels/{part.name}")
            z.writestr(f"__MACOSX/Parcels/._{part.name}", APPLEDOUBLE)
        z.writestr("Parcels/.DS_Store", b"\x00\x00\x00\x01Bud1")
        z.writestr("__MACOSX/Parcels/._.DS_Store", APPLEDOUBLE)
        z.writestr("Parcels/Thumbs.db", b"\xd0\xcf\x11\xe0")
    return archive


@pytest.mark.parametrize("command", IMPORTS.keys())
def test_a_zip_made_on_a_mac_imports_its_shapefile_past_the_resource_forks(tmp_path, command):
    result = IMPORTS[command](mac_zip(tmp_path), tmp_path)

    assert result.exit_code == 0, result.output
    assert IMPORTED[command]() == [f"164-010-{i:03d}" for i in range(6)]


def test_layer_chooses_the_shapefile_in_a_zip_holding_two(tmp_path):
    archive = tmp_path / "two.zip"
    older = county_frame(2).assign(apn=["2023-1", "2023-2"])
    with zipfile.ZipFile(archive, "w") as z:
        for part in shapefile_parts(tmp_path / "src") + shapefile_parts(
            tmp_path / "src", older, "parcels_2023"
        ):
            z.write(part, f"Hinds/{part.name}")

    refused = IMPORTS["import-parcels"](archive, tmp_path)
    chosen = cli("import-parcels", str(archive), "--layer", "parcels", "--quiet",
                 "--rejects-dir", str(tmp_path))  # fmt: skip
    by_path = cli("import-layer", str(archive), "--kind", "other", "--layer",
                  "Hinds/parcels_2023.shp")  # fmt: skip

    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: {archive}: 2 datasets (.shp, .gpkg, .geojson, .json, .fgb, .gdb) in the zip: "
        "Hinds/parcels.shp, Hinds/parcels_2023.shp; choose one with --layer NAME (--layer "
        "parcels or --layer parcels_2023)\n"
    )
    assert chosen.exit_code == 0, chosen.output
    assert Parcel.objects.count() == 6
    assert ImportRun.objects.get().source_layer == "parcels"
    assert by_path.exit_code == 0, by_path.output
    assert IMPORTED["import-layer"]() == ["2023-1", "2023-2"]


# --- text in another encoding than UTF-8 ------------------------------------------------------


def shapefile_naming_no_encoding(folder: Path, frame, encoding: str) -> Path:
    """`frame` as a shapefile whose text is in `encoding`, and says nothing of it: no .cpg, no
    code page in the .dbf's header (its byte 29, the language driver id)."""
    folder.mkdir()
    source = write(frame, folder / "hinds.shp", encoding=encoding)
    source.with_suffix(".cpg").unlink()
    dbf = source.with_suffix(".dbf")
    header = bytearray(dbf.read_bytes())
    header[29] = 0
    dbf.write_bytes(bytes(header))
    return source


@pytest.mark.parametrize("encoding", ["latin1", "utf-8"])
def test_a_shapefile_naming_no_encoding_is_read_in_the_one_its_text_is_in(tmp_path, encoding):
    frame = county_frame(2).assign(owner=["PEÑA MARÍA", "ÑANDÚ LLC"])
    source = shapefile_naming_no_encoding(tmp_path / "nocpg", frame, encoding)

    parcels = IMPORTS["import-parcels"](source, tmp_path)
    overlays = IMPORTS["import-layer"](source, tmp_path)

    assert parcels.exit_code == 0, parcels.output
    assert list(Parcel.objects.order_by("apn").values_list("owner_of_record", flat=True)) == [
        "PEÑA MARÍA", "ÑANDÚ LLC",
    ]  # fmt: skip
    said = "hinds.shp names no encoding (no .cpg): its text is read as ISO-8859-1"
    assert (said in parcels.output) is (encoding == "latin1")
    assert overlays.exit_code == 0, overlays.output
    assert list(Overlay.objects.order_by("pk").values_list("attributes__owner", flat=True)) == [
        "PEÑA MARÍA", "ÑANDÚ LLC",
    ]  # fmt: skip



def test_a_shapefile_whose_cpg_is_wrong_is_refused_naming_the_cell_and_reads_with_encoding(
    tmp_path,
):
    frame = county_frame(2).assign(owner=["O’NEAL ROSA", "HILL EARL"])  # ’ is 0x92 in CP1252
    source = shapefile_naming_no_encoding(tmp_path / "wrong", frame, "cp1252")
    source.with_suffix(".cpg").write_text("UTF-8")

    refused = IMPORTS["import-parcels"](source, tmp_path)
    read = cli("import-parcels", str(source), "--encoding", "CP1252", "--quiet",
               "--rejects-dir", str(tmp_path))  # fmt: skip

    assert refused.exit_code == 1
    assert refused.output.splitlines()[-1].startswith(
        "Error: hinds.shp: the text in row 1 (column owner) is not UTF-8 (invalid byte sequence"
    )
    assert refused.output.endswith(
        "Give the encoding it is in with --encoding (e.g. --encoding CP1252), or save it as "
        "UTF-8, and import it again\n"
    )
    assert read.exit_code == 0, read.output
    assert list(Parcel.objects.order_by("apn").values_list("owner_of_record", flat=True)) == [
        "O’NEAL ROSA", "HILL EARL",
    ]  # fmt: skip


def test_encoding_is_refused_for_a_file_whose_text_must_be_utf8(tmp_path):
    source = write(county_frame(), tmp_path / "p.gpkg")

    result = cli("import-parcels", str(source), "--encoding", "CP1252", "--quiet")

    assert result.exit_code == 1
    assert result.output == (
        "Error: --encoding CP1252: only a shapefile's text can be read in a chosen encoding; "
        "p.gpkg's must be UTF-8 (save it as UTF-8 and import it again)\n"
    )

# --- odd layers -------------------------------------------------------------------------------


def measured(source: Path) -> Path:
    """The GeoPackage `source` declaring its outlines measured (M), as a GPS survey's are."""
    with contextlib.closing(sqlite3.connect(source)) as db, db:
        db.execute("UPDATE gpkg_geometry_columns SET m = 1")
    return source


@pytest.mark.parametrize("command", IMPORTS.keys())
def test_a_measured_layer_imports_without_pyogrio_s_warning(tmp_path, command):
    source = measured(write(county_frame(), tmp_path / "m.gpkg", layer="parcels"))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = IMPORTS[command](source, tmp_path)

    assert result.exit_code == 0, result.output
    assert [str(w.message) for w in caught if "Measured" in str(w.message)] == []
    assert len(IMPORTED[command]()) == 6


def test_a_layer_of_a_geometry_type_pyogrio_cannot_read_is_refused_saying_how_to_convert_it(
    tmp_path,
):
    source = write(county_frame(), tmp_path / "p.gpkg", layer="parcels", geometry_type="Unknown")
    with contextlib.closing(sqlite3.connect(source)) as db, db:
        db.execute("UPDATE gpkg_geometry_columns SET z = 1, m = 1")  # "Unknown ZM"

    result = cli("import-parcels", str(source), "--quiet")

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: {source}: its geometry type (Unknown ZM, GDAL's code 3000) cannot be read; "
        "convert its outlines to polygons, e.g. ogr2ogr -nlt MULTIPOLYGON -dim XY "
        "p-polygons.gpkg p.gpkg, then import p-polygons.gpkg"
    )


def test_a_csv_without_an_outline_column_is_told_every_name_one_may_have(tmp_path):
    source = tmp_path / "p.csv"
    source.write_text('apn,outline\n1,"POLYGON((-90.2 32.3,-90.1 32.3,-90.1 32.4,-90.2 32.3))"\n')

    with pytest.raises(ImportRefused) as refused:
        run(source, tmp_path)

    assert str(refused.value) == (
        f"{source}: the layer has no geometry (a CSV needs its outlines as WKT, in a column "
        "named wkt, geometry, geom, the_geom or shape, in any case)"
    )


def test_a_file_column_named_as_a_reject_file_column_is_marked_as_the_file_s(tmp_path):
    frame = county_frame().rename(columns={"apn": "APN"})
    frame.loc[2, "geometry"] = shapely.Polygon()

    result = run(write(frame, tmp_path / "p.gpkg"), tmp_path)

    with open(result.reject_file, newline="", encoding="utf-8") as f:
        header, row = list(csv.reader(f))
    assert header[:5] == ["row", "APN", "outcome", "reason", "APN (in file)"]
    assert len(set(header)) == len(header)
    assert (row[0], row[1], row[3], row[4]) == ("3", "164-010-002", "empty geometry",
                                                "164-010-002")  # fmt: skip
