"""County and FEMA files come in as they are shipped: in NAD83 degrees (the NFHL's CRS), with a
--layer the file lacks named back with the layers it has, and in a Windows shapefile's CP1252."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import shapely

from parcels import importing
from parcels.importing import ImportRefused, SourceCrs
from parcels.models import Overlay, Parcel
from tests.parcels.test_importing import cli, county_frame, rejects, run, write
from tests.parcels.test_importing_bad_input import shapefile_naming_no_encoding

pytestmark = pytest.mark.django_db

# NAD83 (FEMA's National Flood Hazard Layer), NAD83(2011) and NAD83(HARN): areas of use that
# cross the antimeridian (EPSG:4269's runs from 167.65 to -40.73).
NAD83_DEGREES = (4269, 6318, 4152)


def import_layer(path: Path, *args: str):
    return cli("import-layer", str(path), "--kind", "flood-zone", "--quiet", *args)


def import_parcels(path: Path, tmp_path: Path, *args: str):
    return cli("import-parcels", str(path), "--quiet", "--rejects-dir", str(tmp_path), *args)


def centres_in_degrees(geometries) -> np.ndarray:
    """Each outline's centre, as (lon, lat) rows."""
    centres = shapely.centroid(np.asarray(geometries))
    return np.column_stack([shapely.get_x(centres), shapely.get_y(centres)])


# --- NAD83 in degrees -----------------------------------------------------------------------


@pytest.mark.parametrize("srid", NAD83_DEGREES)
def test_parcels_in_nad83_degrees_around_jackson_import_where_they_lie(tmp_path, srid):
    frame = county_frame()  # Jackson (lon -90.20, lat 32.30), in EPSG:2255 feet
    source = write(frame.to_crs(srid), tmp_path / f"parcels_{srid}.gpkg")

    dry = import_parcels(source, tmp_path, "--dry-run")
    result = run(source, tmp_path)

    assert dry.exit_code == 0, dry.output
    assert (result.status, result.new, result.rejected, result.source_srid) == (
        "succeeded", 6, 0, srid,
    )  # fmt: skip
    stored = [shapely.from_wkb(bytes(g.wkb)) for g in
              Parcel.objects.order_by("apn").values_list("geom", flat=True)]  # fmt: skip
    expected = centres_in_degrees(frame.to_crs(4326).geometry.array)
    assert np.abs(centres_in_degrees(stored) - expected).max() < 1e-7  # degrees: 1 cm


@pytest.mark.parametrize("srid", NAD83_DEGREES)
def test_a_flood_map_in_nad83_degrees_around_jackson_imports_as_overlays(tmp_path, srid):
    frame = county_frame(2).assign(SFHA_TF=["T", "T"], FLD_ZONE=["AE", "A"])
    source = write(frame.to_crs(srid), tmp_path / "S_FLD_HAZ_AR.gpkg", layer="S_FLD_HAZ_AR")

    result = import_layer(source)

    assert result.exit_code == 0, result.output
    assert Overlay.objects.filter(kind="flood-zone").count() == 2


def test_a_zipped_nfhl_shapefile_with_esri_s_nad83_prj_imports(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    frame = county_frame(2).assign(SFHA_TF=["T", "T"], FLD_ZONE=["AE", "A"])
    write(frame.to_crs(4269), folder / "S_FLD_HAZ_AR.shp")
    # What ArcGIS writes, and FEMA ships: an ESRI name, no EPSG code.
    (folder / "S_FLD_HAZ_AR.prj").write_text(
        'GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",SPHEROID["GRS_1980",'
        '6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
    )
    archive = tmp_path / "28049C_20250101.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in folder.iterdir():
            z.write(part, part.name)

    result = import_layer(archive)

    assert result.exit_code == 0, result.output
    assert Overlay.objects.count() == 2


@pytest.mark.parametrize("command", ["import-parcels", "import-layer"])
@pytest.mark.parametrize(
    ("where", "lon", "lat"),
    [("Paris", 2.35, 48.86), ("the Aleutians, inside NAD83's own area", 175.0, 52.0)],
)
def test_a_nad83_file_lying_elsewhere_is_still_refused(tmp_path, command, where, lon, lat):
    frame = county_frame().to_crs(4269)
    moved = frame.set_geometry(
        frame.geometry.translate(lon - -90.2010, lat - 32.2990), crs=4269
    )  # the same lots, at `where`
    source = write(moved, tmp_path / "elsewhere.gpkg")

    result = (import_parcels(source, tmp_path) if command == "import-parcels"
              else import_layer(source))  # fmt: skip

    said = f"its features lie at lon {lon:.2f}, lat {lat:.2f}, outside the area this registry"
    assert result.exit_code == 1
    assert said in result.output, where
    assert Parcel.objects.count() == Overlay.objects.count() == 0


def test_state_plane_feet_declared_as_nad83_degrees_are_refused(tmp_path):
    frame = county_frame().set_crs(4269, allow_override=True)  # Jackson's feet, mislabelled

    with pytest.raises(ImportRefused, match="declares NAD83 .degrees. but its coordinates"):
        run(write(frame, tmp_path / "feet.gpkg"), tmp_path)


def test_a_stray_feature_in_a_nad83_file_is_rejected_and_the_rest_imports(tmp_path):
    frame = county_frame().to_crs(4269)
    frame.loc[5, "geometry"] = shapely.box(0, 0, 0.001, 0.001)  # at null island

    result = run(write(frame, tmp_path / "stray.gpkg"), tmp_path)

    assert (result.status, result.new, result.rejected) == ("succeeded", 5, 1)
    ((row, reason),) = [(r["row"], r["reason"]) for r in rejects(result)]
    assert (row, reason[:30]) == ("6", "lies at lon 0.00, lat 0.00, ou")


def test_the_database_rejects_a_stray_feature_outside_an_area_crossing_the_antimeridian(
    tmp_path, monkeypatch
):
    """`_reject_far_off` reads an area whose west is greater than its east (as SourceCrs.contains
    does): it holds Jackson's lots (lon <= -80) and not the stray at null island. (No registry
    in North America has such an area: it is given here.)"""
    crossing = (170.0, 20.0, -80.0, 50.0)
    monkeypatch.setattr(importing, "_allowed_area", lambda crs: (crossing, "the given area"))
    frame = county_frame().to_crs(4326)
    frame.loc[5, "geometry"] = shapely.box(0, 0, 0.001, 0.001)

    result = run(write(frame, tmp_path / "stray.geojson", driver="GeoJSON"), tmp_path)

    assert (result.status, result.new, result.rejected) == ("succeeded", 5, 1)
    assert [(r["row"], r["reason"]) for r in rejects(result)] == [
        ("6", "lies at lon 0.00, lat 0.00, outside the given area"),
    ]


def test_an_area_crossing_the_antimeridian_holds_both_its_ends_and_not_its_gap():
    crs = SourceCrs(4269, "EPSG:4269", keep_within=(166.65, 13.92, -39.73, 87.45))
    lon = np.array([-90.21, 170.0, -179.9, 179.9, 2.35, -90.21])
    lat = np.array([32.30, 52.0, 52.0, 52.0, 48.86, 10.0])

    assert crs.contains(lon, lat).tolist() == [True, True, True, True, False, False]
    assert crs.contains(-90.21, 32.30) is True
    assert SourceCrs(4269, "EPSG:4269").contains(lon, lat).tolist() == [True] * 6


# --- a --layer the file lacks -----------------------------------------------------------------


def geopackage_of_two_layers(tmp_path: Path) -> Path:
    source = write(county_frame(), tmp_path / "NFHL_28049C.gpkg", layer="S_FLD_HAZ_AR")
    return write(county_frame(2), source, layer="S_BFE", mode="a")


def zipped_shapefile(tmp_path: Path) -> Path:
    write(county_frame(), tmp_path / "S_FLD_HAZ_AR.shp")
    archive = tmp_path / "nfhl.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("S_FLD_HAZ_AR.*"):
            z.write(part, part.name)
    return archive


def filegdb(tmp_path: Path) -> Path:
    return write(county_frame(), tmp_path / "NFHL.gdb", driver="OpenFileGDB", layer="S_FLD_HAZ_AR")


@pytest.mark.parametrize(
    ("make", "layers"),
    [(geopackage_of_two_layers, "2 layers (S_FLD_HAZ_AR, S_BFE)"),
     (zipped_shapefile, "1 layer (S_FLD_HAZ_AR)"),
     (filegdb, "1 layer (S_FLD_HAZ_AR)")],
    ids=["geopackage", "zipped shapefile", "filegdb"],
)  # fmt: skip
@pytest.mark.parametrize("command", ["import-parcels", "import-layer"])
def test_a_layer_the_file_lacks_is_refused_naming_the_layers_it_has(
    tmp_path, make, layers, command
):
    source = make(tmp_path)

    result = (import_parcels(source, tmp_path, "--layer", "nosuch") if command == "import-parcels"
              else import_layer(source, "--layer", "nosuch"))  # fmt: skip

    assert result.exit_code == 1
    assert result.output == (
        f"Error: {source} has no layer named 'nosuch' (--layer); it has {layers}; choose one "
        "with --layer\n"
    )
    assert Parcel.objects.count() == Overlay.objects.count() == 0


def test_a_layer_named_in_another_case_is_still_read(tmp_path):
    result = import_layer(geopackage_of_two_layers(tmp_path), "--layer", "s_fld_haz_ar")

    assert result.exit_code == 0, result.output
    assert Overlay.objects.count() == 6


# --- a Windows shapefile naming no encoding ---------------------------------------------------


def test_a_cp1252_shapefile_naming_no_encoding_is_read_as_cp1252(tmp_path):
    # ’ is 0x92 and – 0x96 in CP1252: C1 control characters, were they read as ISO-8859-1.
    names = ["O’Neal Park", "Cañon", "Smith–Robertson"]
    frame = county_frame(3).assign(name=names, owner=["O’NEAL ROSA", "CAÑON LLC", "HILL EARL"])
    source = shapefile_naming_no_encoding(tmp_path / "nbhd", frame, "cp1252")

    parcels = cli("import-parcels", str(source), "--rejects-dir", str(tmp_path))
    overlays = cli("import-layer", str(source), "--kind", "neighbourhood", "--name-field", "name")

    assert parcels.exit_code == 0, parcels.output
    assert "its text is read as CP1252; if names look wrong, give --encoding" in parcels.output
    assert list(Parcel.objects.order_by("apn").values_list("owner_of_record", flat=True)) == [
        "O’NEAL ROSA", "CAÑON LLC", "HILL EARL",
    ]  # fmt: skip
    assert overlays.exit_code == 0, overlays.output
    assert list(Overlay.objects.order_by("pk").values_list("name", flat=True)) == names


def test_a_shapefile_with_a_byte_cp1252_lacks_is_read_as_iso_8859_1(tmp_path):
    """0x81 is no CP1252 character: the text is not CP1252, and is read as before."""
    folder = tmp_path / "odd"
    frame = county_frame(2).assign(owner=["PEÑA MARÍA", "HILL EARL"])
    source = shapefile_naming_no_encoding(folder, frame, "latin1")
    dbf = source.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes().replace(b"HILL EARL", b"HILL\x81EARL"))

    result = run(source, tmp_path)

    assert (result.status, result.new) == ("succeeded", 2)
    assert list(Parcel.objects.order_by("apn").values_list("owner_of_record", flat=True)) == [
        "PEÑA MARÍA", "HILL\x81EARL",
    ]  # fmt: skip

