"""County parcel files come in whole, or not at all, and every row is accounted for."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from pyproj import Transformer

from clt.cli import main
from parcels import importing
from parcels.importing import ImportRefused, import_parcels
from parcels.models import ImportRun, Parcel

pytestmark = pytest.mark.django_db

ParcelEvent = apps.get_model("parcels", "ParcelEvent")
FT = 1200 / 3937  # US survey foot, metres
TO_FEET = Transformer.from_crs(4326, 2255, always_xy=True)
TO_DEGREES = Transformer.from_crs(2255, 4326, always_xy=True)
# West Jackson, near the Lumumba Center, in NAD83 / Mississippi West (US feet).
ORIGIN_FT = tuple(round(v) for v in TO_FEET.transform(-90.2010, 32.2990))


def lot_ft(col: int, row: int = 0, width: float = 100, depth: float = 150) -> shapely.Polygon:
    x0, y0 = ORIGIN_FT[0] + col * width, ORIGIN_FT[1] + row * depth
    return shapely.box(x0, y0, x0 + width, y0 + depth)


def county_frame(n: int = 6) -> gpd.GeoDataFrame:
    """`n` 100 x 150 ft lots in a row, with the columns `clt synth` writes."""
    return gpd.GeoDataFrame(
        {
            "apn": [f"164-010-{i:03d}" for i in range(n)],
            "address": [f"{1100 + 2 * i} W Capitol St" for i in range(n)],
            "owner": [
                "JOHNSON MARY L",
                "CITY OF JACKSON",
                "STATE OF MISSISSIPPI",
                "NEW HOPE BAPTIST CHURCH",
                "DELTA PROPERTIES LLC",
                "HILL EARL",
            ][:n],
            "land_use": ["R1", "V", "V", "E", "VC", "R1"][:n],
            "zoning": ["R-1", "R-1", "R-2", "R-2", "C-2", "R-1"][:n],
            "land_value": [4500, 3000, 2800, 9000, 12000, 5000][:n],
            "improvement_value": [62000, 0, 0, 210000, 0, 48000][:n],
            "acreage": [0.3444] * n,
            "vacant": [0, 1, 1, 0, 1, 0][:n],
            "tax_delinquent": [0, 0, 0, 0, 1, 0][:n],
        },  # fmt: skip
        geometry=[lot_ft(i) for i in range(n)],
        crs="EPSG:2255",
    )


def write(frame: gpd.GeoDataFrame, path: Path, **kwargs) -> Path:
    frame.to_file(path, engine="pyogrio", **kwargs)
    return path


def run(path: Path, tmp_path: Path, **kwargs) -> ImportRun:
    return import_parcels(path, reject_dir=tmp_path / "rejects", **kwargs)


def registry_checksum() -> tuple[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*), md5(coalesce(string_agg(
                   concat_ws('|', id, apn, owner_of_record, tax_status, retired_at,
                             ST_AsEWKB(geom), import_hash), ',' ORDER BY id), ''))
               FROM parcels_parcel"""
        )
        return cursor.fetchone()


def rejects(run: ImportRun) -> list[dict]:
    with open(run.reject_file, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# --- formats ---------------------------------------------------------------------------------


def shapefile(tmp_path: Path) -> Path:
    return write(county_frame(), tmp_path / "parcels.shp")


def zipped(tmp_path: Path, folder: str = "") -> Path:
    shp = shapefile(tmp_path / "src") if (tmp_path / "src").mkdir() is None else None
    archive = tmp_path / "parcels.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in shp.parent.glob("parcels.*"):
            z.write(part, f"{folder}{part.name}")
    return archive


def geojson_degrees(tmp_path: Path) -> Path:
    return write(county_frame().to_crs(4326), tmp_path / "parcels.geojson", driver="GeoJSON")


def filegdb(tmp_path: Path) -> Path:
    return write(county_frame(), tmp_path / "parcels.gdb", driver="OpenFileGDB", layer="parcels")


def csv_wkt(tmp_path: Path) -> Path:
    frame = county_frame().to_crs(4326)
    table = frame.drop(columns="geometry").assign(WKT=shapely.to_wkt(frame.geometry.values))
    path = tmp_path / "parcels.csv"
    table.to_csv(path, index=False)
    return path


FORMATS = {
    "shapefile": shapefile,
    "zipped shapefile": zipped,
    "zip with the shapefile in a sub-folder": lambda p: zipped(p, "Hinds_Parcels_2024/"),
    "geopackage": lambda p: write(county_frame(), p / "parcels.gpkg", layer="parcels"),
    "geojson": geojson_degrees,
    "filegdb": filegdb,
    "csv with wkt": csv_wkt,
}


@pytest.mark.parametrize("make", FORMATS.values(), ids=FORMATS.keys())
def test_each_county_format_imports_every_parcel(make, tmp_path):
    source = make(tmp_path)
    result = run(source, tmp_path, srid=4326 if source.suffix == ".csv" else None)

    assert result.status == "succeeded"
    assert (result.new, result.rejected) == (6, 0)
    assert list(Parcel.objects.values_list("apn", flat=True)) == [
        f"164-010-{i:03d}" for i in range(6)
    ]
    first = Parcel.objects.get(apn="164-010-000")
    assert first.geom.geom_type == "MultiPolygon"
    assert first.owner_of_record == "JOHNSON MARY L"


def test_state_plane_feet_land_where_they_should_in_degrees(tmp_path):
    result = run(write(county_frame(), tmp_path / "p.gpkg"), tmp_path)

    assert (result.source_srid, result.source_crs.startswith("EPSG:2255")) == (2255, True)
    parcel = Parcel.objects.get(apn="164-010-002")
    expected = TO_DEGREES.transform(ORIGIN_FT[0] + 250, ORIGIN_FT[1] + 75)
    centroid = parcel.geom.centroid
    assert centroid.x == pytest.approx(expected[0], abs=1e-7)
    assert centroid.y == pytest.approx(expected[1], abs=1e-7)
    assert parcel.source_srid == 2255


def test_lot_area_agrees_on_the_spheroid_and_in_state_plane_feet(tmp_path):
    run(write(county_frame(), tmp_path / "p.gpkg"), tmp_path)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT area_m2, ST_Area(ST_Transform(geom, 2255)), ST_Area(geom_m)
               FROM parcels_parcel WHERE apn = '164-010-001'"""
        )
        geography_m2, state_plane_ft2, metric_m2 = cursor.fetchone()
    assert state_plane_ft2 == pytest.approx(100 * 150, abs=0.01)  # 15,000 sq ft as drawn
    assert metric_m2 == pytest.approx(15000 * FT**2, rel=1e-6)  # 1,393.55 m²
    # The state-plane zone's scale error here is ~1 in 20,000; the spheroid sees the same lot.
    assert geography_m2 == pytest.approx(15000 * FT**2, rel=2e-4)


def test_fields_are_mapped_from_synth_style_columns(tmp_path):
    run(write(county_frame(), tmp_path / "p.gpkg"), tmp_path)
    rows = {p.apn: p for p in Parcel.objects.all()}
    assert [a for a, p in rows.items() if p.vacancy_status == "vacant"] == [
        "164-010-001", "164-010-002", "164-010-004",
    ]  # fmt: skip
    assert rows["164-010-000"].vacancy_status == "occupied"
    assert rows["164-010-004"].tax_status == "delinquent"
    assert rows["164-010-002"].tax_status == "forfeited"  # owned by the State
    assert str(rows["164-010-004"].assessed_land) == "12000.00"
    assert rows["164-010-004"].zoning == "C-2"


def test_a_mapping_file_and_field_flags_name_other_columns(tmp_path):
    frame = county_frame().rename(columns={"apn": "PARCELNO", "land_use": "LUC"})
    frame = frame.drop(columns="vacant")
    source = write(frame, tmp_path / "p.gpkg")
    mapping = tmp_path / "hinds.toml"
    mapping.write_text('vacant_codes = ["R1"]\n[fields]\napn = "PARCELNO"\n')

    run(source, tmp_path, mapping_file=mapping, fields={"land_use": "LUC"})

    vacant = Parcel.objects.filter(vacancy_status="vacant").values_list("apn", flat=True)
    assert list(vacant) == ["164-010-000", "164-010-005"]


# --- CRS ---------------------------------------------------------------------------------------


def date_like_geojson(path: Path) -> Path:
    """A GeoJSON whose APNs, owner and zoning GDAL would take for dates and times."""
    values = [("165-12-01", "2020-01-02T03:04:05", "1999/12/31"), ("165-12-02", "PAUL", "R-1")]
    features = [
        {"type": "Feature",
         "properties": {"apn": apn, "owner": owner, "zoning": zoning},
         "geometry": shapely.geometry.mapping(shapely.box(-90.2 + i * 0.001, 32.3,
                                                          -90.2 + (i + 1) * 0.001, 32.301))}
        for i, (apn, owner, zoning) in enumerate(values)
    ]  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


@pytest.mark.parametrize("zip_it", [False, True], ids=["geojson", "zipped geojson"])
def test_geojson_text_that_looks_like_a_date_is_kept_as_written(tmp_path, zip_it):
    source = date_like_geojson(tmp_path / "parcels.geojson")
    if zip_it:
        with zipfile.ZipFile(tmp_path / "parcels.zip", "w") as z:
            z.write(source, source.name)
        source = tmp_path / "parcels.zip"

    assert run(source, tmp_path).new == 2

    kept = Parcel.objects.order_by("apn").values_list("apn", "owner_of_record", "zoning")
    assert list(kept) == [
        ("165-12-01", "2020-01-02T03:04:05", "1999/12/31"),
        ("165-12-02", "PAUL", "R-1"),
    ]


def test_feet_file_without_crs_is_refused_with_a_srid_hint(tmp_path):
    source = write(county_frame().set_crs(None, allow_override=True), tmp_path / "noprj.shp")
    assert not source.with_suffix(".prj").exists()

    result = cli("import-parcels", str(source), "--quiet")

    assert result.exit_code == 1
    assert "declares no coordinate system" in result.output
    assert "--srid" in result.output
    assert Parcel.objects.count() == 0


def test_feet_file_without_crs_imports_with_srid(tmp_path):
    source = write(county_frame().set_crs(None, allow_override=True), tmp_path / "noprj.shp")
    result = run(source, tmp_path, srid=2255)
    assert (result.new, result.source_srid) == (6, 2255)


def test_geojson_with_feet_in_it_is_refused_as_a_wrong_crs(tmp_path):
    frame = county_frame()
    feature_collection = json.loads(frame.to_json())
    feature_collection.pop("crs", None)  # feet, with no CRS member: GeoJSON then means degrees
    source = tmp_path / "feet.geojson"
    source.write_text(json.dumps(feature_collection))

    with pytest.raises(ImportRefused, match="not degrees: the declared CRS is wrong"):
        run(source, tmp_path)


@pytest.mark.parametrize(
    ("declared", "lands"),
    [(3857, "lon 2"), (26995, "lon -71")],  # feet read as metres: Africa; off Virginia
)
def test_a_projected_crs_that_puts_the_file_elsewhere_is_refused(tmp_path, declared, lands):
    frame = county_frame().set_crs(declared, allow_override=True)  # Jackson's feet, mislabelled
    source = write(frame, tmp_path / "mislabelled.gpkg")

    with pytest.raises(ImportRefused, match="outside the area this registry keeps land in") as e:
        run(source, tmp_path)
    assert "--srid" in str(e.value) and lands in str(e.value)
    assert Parcel.objects.count() == 0


def test_the_neighbouring_state_plane_zone_is_refused(tmp_path):
    """Mississippi East (2254) for West (2255), the usual mix-up for Hinds County: the parcels
    would land 550 km east, near Columbus, Georgia, still inside the widened metric area."""
    frame = county_frame().set_crs(2254, allow_override=True)
    with pytest.raises(ImportRefused, match="outside where that CRS is used") as refused:
        run(write(frame, tmp_path / "east.gpkg"), tmp_path)
    assert "--srid 2255" in str(refused.value)
    assert Parcel.objects.count() == 0


def test_degrees_given_as_state_plane_feet_are_refused(tmp_path):
    frame = county_frame().to_crs(4326).set_crs(2255, allow_override=True)
    with pytest.raises(ImportRefused, match="outside the area this registry keeps land in"):
        run(write(frame, tmp_path / "degrees.gpkg"), tmp_path)


# --- defects -----------------------------------------------------------------------------------


def defective_frame() -> gpd.GeoDataFrame:
    frame = county_frame()
    # Lot 1 gets an inverted notch touching its ring at one point (valid to ESRI, not to OGC).
    x0, y0 = ORIGIN_FT[0] + 100, ORIGIN_FT[1]
    frame.loc[1, "geometry"] = shapely.Polygon(
        [(x0, y0), (x0 + 50, y0), (x0 + 42, y0 + 15), (x0 + 58, y0 + 15), (x0 + 50, y0),
         (x0 + 100, y0), (x0 + 100, y0 + 150), (x0, y0 + 150), (x0, y0)]
    )  # fmt: skip
    frame.loc[3, "apn"] = frame.loc[2, "apn"]  # a repeated APN
    frame.loc[5, "geometry"] = shapely.Polygon()  # an empty outline
    return frame


def test_defects_are_repaired_or_rejected_and_each_is_on_record(tmp_path):
    result = run(write(defective_frame(), tmp_path / "p.gpkg"), tmp_path)

    assert result.counts() == {
        "features_read": 6, "new": 4, "changed": 0, "unchanged": 0, "retired": 0,
        "repaired": 1, "rejected": 2,
    }  # fmt: skip
    repaired = Parcel.objects.get(apn="164-010-001")
    assert repaired.geom.valid
    assert "Ring Self-intersection" in repaired.geom_note
    listed = [(r["row"], r["APN"], r["outcome"], r["reason"]) for r in rejects(result)]
    assert listed == [
        ("2", "164-010-001", "repaired", repaired.geom_note),
        ("4", "164-010-002", "rejected",
         "APN '164-010-002' appears more than once (rows 3, 4); the first is kept"),
        ("6", "164-010-005", "rejected", "empty geometry"),
    ]  # fmt: skip
    assert repaired.geom_note.startswith(f"repaired on import {result.pk}: Ring Self-inter")
    # the original attributes ride along
    assert rejects(result)[1]["owner"] == "NEW HOPE BAPTIST CHURCH"
    assert Parcel.objects.get(apn="164-010-002").owner_of_record == "STATE OF MISSISSIPPI"


def test_a_csv_row_with_invalid_wkt_is_rejected_as_invalid_wkt_without_a_raw_warning(
    tmp_path, recwarn
):
    source = csv_wkt(tmp_path)
    lines = source.read_text().splitlines()
    lines[3] = lines[3][: lines[3].index('"POLYGON') + 20] + '"'  # row 3: the WKT cut short
    lines[5] = lines[5][: lines[5].index('"POLYGON')]  # row 5: no WKT at all
    source.write_text("\n".join(lines) + "\n")

    result = cli("import-parcels", str(source), "--quiet", "--rejects-dir", str(tmp_path))

    assert result.exit_code == 0, result.output
    assert "RuntimeWarning" not in result.output
    assert [str(w.message) for w in recwarn if "WKT" in str(w.message)] == []
    (run_,) = ImportRun.objects.all()
    assert [(r["row"], r["APN"], r["reason"]) for r in rejects(run_)] == [
        ("3", "164-010-002", "invalid WKT"),
        ("5", "164-010-004", "no geometry"),
    ]


def test_synth_city_defects_are_each_reported(tmp_path):
    synth = pytest.importorskip("clt.synth")
    summary = synth.generate_city(tmp_path / "city.gpkg", 300, 7, progress=False)

    result = run(summary.path, tmp_path)

    by_apn = {}
    for row in rejects(result):
        by_apn.setdefault(row["APN"], []).append(row["outcome"])
    assert set(summary.invalid_ring_apns) <= {a for a, o in by_apn.items() if "repaired" in o}
    assert set(summary.duplicate_apns) <= {a for a, o in by_apn.items() if "rejected" in o}
    assert set(summary.empty_geometry_apns) <= {a for a, o in by_apn.items() if "rejected" in o}
    assert result.rejected == len(summary.duplicate_apns) + len(summary.empty_geometry_apns)
    assert result.new == 300 - result.rejected


# --- re-import ----------------------------------------------------------------------------------


def test_reimport_counts_new_changed_unchanged_and_retired(tmp_path):
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)

    frame = county_frame()
    frame.loc[0, "owner"] = "JOHNSON WILLIE"  # attribute change
    frame.loc[1, "geometry"] = lot_ft(1, depth=160)  # outline change
    frame = frame.drop(index=5)  # gone from the county file
    extra = county_frame().iloc[[5]].assign(apn="164-010-006", geometry=[lot_ft(6)])
    frame = gpd.GeoDataFrame(
        [*frame.to_dict("records"), *extra.to_dict("records")], crs="EPSG:2255"
    )
    second = run(write(frame, tmp_path / "v2.gpkg"), tmp_path)

    assert (second.new, second.changed, second.unchanged, second.retired) == (1, 2, 3, 1)
    gone = Parcel.objects.get(apn="164-010-005")
    assert gone.retired_at is not None  # kept, never deleted
    assert Parcel.objects.active().count() == 6


def test_a_retired_parcel_back_in_the_file_is_restored(tmp_path):
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    run(write(county_frame(5), tmp_path / "v2.gpkg"), tmp_path)
    third = run(write(county_frame(), tmp_path / "v3.gpkg"), tmp_path)

    assert (third.new, third.changed, third.unchanged, third.retired) == (0, 1, 5, 0)
    assert Parcel.objects.get(apn="164-010-005").retired_at is None


def test_unchanged_reimport_writes_nothing(tmp_path):
    source = write(county_frame(), tmp_path / "v1.gpkg")
    run(source, tmp_path)
    before = registry_checksum()
    events = ParcelEvent.objects.count()

    again = run(source, tmp_path)

    assert (again.new, again.changed, again.unchanged, again.retired) == (0, 0, 6, 0)
    assert registry_checksum() == before
    assert ParcelEvent.objects.count() == events


def test_import_history_is_tagged_and_keeps_inserts_and_updates(tmp_path):
    first = run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    frame = county_frame()
    frame.loc[0, "owner"] = "JOHNSON WILLIE"
    second = run(write(frame, tmp_path / "v2.gpkg"), tmp_path)

    inserts = ParcelEvent.objects.filter(pgh_label="insert").select_related("pgh_context")
    assert inserts.count() == 6
    assert {e.pgh_context.metadata["import_run"] for e in inserts} == {first.pk}
    assert {e.pgh_context.metadata["action"] for e in inserts} == {"parcel_import"}
    update = ParcelEvent.objects.select_related("pgh_context").get(pgh_label="update")
    assert (update.apn, update.owner_of_record) == ("164-010-000", "JOHNSON WILLIE")
    assert update.pgh_context.metadata["import_run"] == second.pk
    assert inserts.get(apn="164-010-000").owner_of_record == "JOHNSON MARY L"


def _index_and_trigger_state() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT 'index', indexdef FROM pg_indexes
               WHERE tablename IN ('parcels_parcel', 'parcels_parcelevent')
               UNION ALL
               SELECT 'trigger ' || tgname, tgenabled::text FROM pg_trigger
               WHERE tgrelid = 'parcels_parcel'::regclass AND NOT tgisinternal
               ORDER BY 1, 2"""
        )
        return cursor.fetchall()


@pytest.mark.parametrize("bulk", [False, True], ids=["row-by-row", "bulk-load"])
def test_insert_events_are_written_for_the_new_parcels_only(tmp_path, monkeypatch, bulk):
    first = run(write(county_frame(4), tmp_path / "v1.gpkg"), tmp_path)
    frame = county_frame(6)
    frame.loc[0, "owner"] = "JOHNSON WILLIE"  # changed
    frame = frame.drop(index=1)  # retired
    state = _index_and_trigger_state()
    if bulk:  # the path a county's first load takes: indexes and trigger set aside, then back
        monkeypatch.setattr(importing, "BULK_LOAD_MIN_ROWS", 1)
    second = run(write(frame, tmp_path / "v2.gpkg"), tmp_path)

    assert (second.new, second.changed, second.retired) == (2, 1, 1)
    events = ParcelEvent.objects.filter(pgh_context__metadata__import_run=second.pk)
    inserted = events.filter(pgh_label="insert").order_by("apn")
    assert [e.apn for e in inserted] == ["164-010-004", "164-010-005"]
    for event in inserted:  # the event is the row as inserted
        parcel = Parcel.objects.get(pk=event.pgh_obj_id)
        expected = (parcel.pk, parcel.apn, parcel.owner_of_record)
        assert (event.id, event.apn, event.owner_of_record) == expected
        assert event.geom.equals_exact(parcel.geom, 0) and event.import_run_id == second.pk
    assert sorted(events.values_list("pgh_label", "apn")) == [
        ("insert", "164-010-004"), ("insert", "164-010-005"),
        ("update", "164-010-000"), ("update", "164-010-001"),
    ]  # fmt: skip
    assert ParcelEvent.objects.filter(pgh_label="insert").count() == first.new + 2
    assert _index_and_trigger_state() == state


def test_dry_run_counts_and_changes_nothing(tmp_path):
    result = run(write(county_frame(), tmp_path / "p.gpkg"), tmp_path, dry_run=True)
    assert (result.status, result.new) == ("dry_run", 6)
    assert Parcel.objects.count() == 0


def test_the_dry_run_help_says_what_a_dry_run_records():
    said = " ".join(cli("import-parcels", "--help").output.split())

    assert "change nothing" not in said
    assert "without changing any parcel; the run is recorded, as a dry run, and the reject file " \
        "written" in said


# --- atomicity -----------------------------------------------------------------------------


@pytest.fixture
def imported_once(tmp_path):
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    frame = county_frame(5)
    frame.loc[0, "owner"] = "SOMEONE ELSE"
    return write(frame, tmp_path / "v2.gpkg")


def test_failure_after_staging_leaves_the_registry_as_it_was(imported_once, tmp_path):
    before = registry_checksum()

    def fail():
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run(imported_once, tmp_path, _after_staging=fail)

    assert registry_checksum() == before
    failed = ImportRun.objects.order_by("-pk").first()
    assert failed.status == "failed"
    assert "disk full" in failed.message


def test_failure_midway_through_the_writes_leaves_the_registry_as_it_was(
    imported_once, tmp_path, monkeypatch
):
    before = registry_checksum()
    # Updates and retirements run before the insert: make the insert fail.
    monkeypatch.setattr(importing, "_insert_sql", lambda: "SELECT 1 / 0" + ", %s" * 6)

    with pytest.raises(Exception, match="division by zero"):
        run(imported_once, tmp_path)

    assert registry_checksum() == before


# --- the run's final state is committed with the parcels ---------------------------------------


def test_an_unwritable_rejects_dir_is_refused_before_anything_is_imported(tmp_path):
    source = write(defective_frame(), tmp_path / "p.gpkg")
    (tmp_path / "a-file").write_text("not a folder")
    rejects_dir = tmp_path / "a-file" / "rejects"

    result = cli("import-parcels", str(source), "--quiet", "--rejects-dir", str(rejects_dir))

    assert result.exit_code == 1
    assert result.output == (
        f"Error: --rejects-dir {rejects_dir}: cannot write there (Not a directory)\n"
    )
    assert (Parcel.objects.count(), ImportRun.objects.count()) == (0, 0)


def _commit_fails():
    """Queue a foreign-key violation that PostgreSQL checks only at COMMIT (Django's foreign
    keys are DEFERRABLE INITIALLY DEFERRED): the import's commit itself fails."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO auth_user_groups (user_id, group_id) VALUES (-1, -1)")


@pytest.mark.django_db(transaction=True)
def test_a_failure_at_commit_leaves_no_run_marked_succeeded_and_no_reject_file(tmp_path):
    source = write(defective_frame(), tmp_path / "p.gpkg")

    with pytest.raises(IntegrityError):
        run(source, tmp_path, _after_staging=_commit_fails)

    (failed,) = ImportRun.objects.all()
    assert (failed.status, failed.new, failed.rejected, failed.reject_file) == ("failed", 0, 0, "")
    assert "IntegrityError" in failed.message and "nothing was changed" in failed.message
    assert list((tmp_path / "rejects").iterdir()) == []
    assert Parcel.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_run_is_committed_succeeded_with_its_counts_and_saved_no_more_after(
    tmp_path, monkeypatch
):
    source = write(defective_frame(), tmp_path / "p.gpkg")
    at_commit = []
    saves_outside_a_transaction = []
    original_save = ImportRun.save

    def save(self, *args, **kwargs):
        if self.pk is not None and not connection.in_atomic_block:
            saves_outside_a_transaction.append(self.status)
        original_save(self, *args, **kwargs)

    def snapshot_at_commit():
        values = ("status", "new", "repaired", "rejected", "reject_file", "finished_at")
        at_commit.append(ImportRun.objects.values(*values).get())

    monkeypatch.setattr(ImportRun, "save", save)
    result = run(source, tmp_path, _after_staging=lambda: transaction.on_commit(snapshot_at_commit))

    assert (result.status, result.new, result.repaired, result.rejected) == ("succeeded", 4, 1, 2)
    (committed,) = at_commit
    assert committed["status"] == "succeeded"
    assert (committed["new"], committed["repaired"], committed["rejected"]) == (4, 1, 2)
    assert committed["reject_file"] == result.reject_file and Path(result.reject_file).exists()
    assert committed["finished_at"] is not None
    assert saves_outside_a_transaction == []


@pytest.mark.django_db(transaction=True)
def test_ctrl_c_during_the_commit_says_the_import_was_committed(tmp_path):
    source = write(county_frame(), tmp_path / "p.gpkg")
    # Python's own, or SIG_IGN in a process started in the background by a shell
    before = signal.getsignal(signal.SIGINT)

    def interrupt_at_commit():
        transaction.on_commit(lambda: signal.raise_signal(signal.SIGINT))

    with pytest.raises(importing.ImportCommittedInterrupt) as caught:
        run(source, tmp_path, _after_staging=interrupt_at_commit)

    assert (caught.value.run.status, caught.value.run.new) == ("succeeded", 6)
    assert ImportRun.objects.get().status == "succeeded"
    assert Parcel.objects.count() == 6
    assert signal.getsignal(signal.SIGINT) is before  # put back


@pytest.mark.django_db(transaction=True)
def test_cli_ctrl_c_during_the_commit_reports_the_committed_import(tmp_path, monkeypatch):
    source = write(county_frame(), tmp_path / "p.gpkg")
    real_import = importing.import_parcels

    def interrupted_at_commit(*args, **kwargs):
        hook = lambda: transaction.on_commit(lambda: signal.raise_signal(signal.SIGINT))  # noqa: E731
        return real_import(*args, **kwargs, _after_staging=hook)

    monkeypatch.setattr(importing, "import_parcels", interrupted_at_commit)
    result = cli("import-parcels", str(source), "--quiet", "--rejects-dir", str(tmp_path))

    assert result.exit_code == 1
    (run_id,) = ImportRun.objects.values_list("pk", flat=True)
    assert result.output.splitlines()[-1] == (
        "Error: interrupted during the commit, which completed: the import was committed "
        f"(import run {run_id}: 6 read, 6 new, 0 changed, 0 unchanged, 0 retired, 0 repaired, "
        "0 rejected)"
    )


# --- bad input ----------------------------------------------------------------------------------


def test_zero_byte_file_is_refused(tmp_path):
    empty = tmp_path / "parcels.gpkg"
    empty.touch()
    result = cli("import-parcels", str(empty))
    assert result.exit_code == 1
    assert "is empty (0 bytes)" in result.output


def test_truncated_geopackage_is_refused_and_nothing_is_imported(tmp_path):
    source = write(county_frame(), tmp_path / "whole.gpkg")
    data = source.read_bytes()
    truncated = tmp_path / "truncated.gpkg"
    truncated.write_bytes(data[: len(data) // 3])

    result = cli("import-parcels", str(truncated), "--quiet")

    assert result.exit_code == 1
    assert "truncated.gpkg" in result.output
    assert Parcel.objects.count() == 0


def test_truncated_shapefile_is_refused(tmp_path):
    source = shapefile(tmp_path)
    data = source.read_bytes()
    source.write_bytes(data[: len(data) - 150])
    result = cli("import-parcels", str(source), "--quiet")
    assert result.exit_code == 1
    assert "parcels.shp is truncated or corrupt" in result.output
    assert Parcel.objects.count() == 0


def test_shapefile_with_a_truncated_dbf_is_refused_and_nothing_is_imported(tmp_path):
    before = registry_checksum()
    source = shapefile(tmp_path)
    dbf = source.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes()[:-200])  # the .shp and .shx intact

    result = cli("import-parcels", str(source), "--quiet")

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "Error: parcels.shp: GDAL reports 6 features but 5 could be read; the file "
        "(for a shapefile, its .dbf) looks truncated or corrupt. Nothing was imported"
    )
    assert registry_checksum() == before


def test_corrupt_zip_is_refused(tmp_path):
    bad = tmp_path / "parcels.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    result = cli("import-parcels", str(bad))
    assert result.exit_code == 1
    assert "not a readable zip archive" in result.output


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("m.json", '{"fields": ["apn"]}', "fields must be a table of parcel field = column"),
        ("m.json", '{"fields": "apn"}', "fields must be a table of parcel field = column"),
        ("m.json", "5", "expected an object with keys fields, vacant_codes, forfeited_owners; "
                        "found the number 5"),
        ("m.toml", "fields = 3", "fields must be a table of parcel field = column"),
        ("m.json", '{"fields": {"apn": 5}}', "fields.apn must be a column name (text), "
                                             "not the number 5"),
        ("m.json", '{"vacant_codes": "VAC"}', "vacant_codes must be a list of text"),
        ("m.json", '{"forfeited_owners": "STATE"}', "forfeited_owners must be a list of text"),
        ("m.json", '{"vacant_codes": [1, null]}', "vacant_codes must hold text only; 1 is "
                                                  "the number 1"),
        ("m.json", '{"vacant_codes": ["V", null]}', "vacant_codes must hold text only; null"),
        ("m.json", '{"fields": {"apn": "PARCEL_NUMBER"}}',
         'fields.apn = "PARCEL_NUMBER": the file has no column \'PARCEL_NUMBER\''),
        ("m.json", '{"fields": {"acreage": "apn"}}',
         "fields.acreage = \"apn\": 'acreage' is not a parcel field"),
    ],
)  # fmt: skip
def test_a_mapping_file_of_the_wrong_shape_is_refused_naming_file_and_key(
    tmp_path, name, text, said
):
    source = write(county_frame(), tmp_path / "p.gpkg")
    mapping = tmp_path / name
    mapping.write_text(text)

    result = cli("import-parcels", str(source), "--quiet", "--mapping", str(mapping))

    assert result.exit_code == 1
    assert result.output.startswith(f"Error: --mapping: {mapping}: {said}")
    assert len(result.output.strip().splitlines()) == 1
    assert (Parcel.objects.count(), ImportRun.objects.count()) == (0, 0)


def test_mapping_naming_a_missing_column_is_refused(tmp_path):
    source = write(county_frame(), tmp_path / "p.gpkg")
    result = cli("import-parcels", str(source), "--field", "apn=PARCEL_NUMBER")
    assert result.exit_code == 1
    assert "the file has no column 'PARCEL_NUMBER'" in result.output


def test_mixed_geometry_types_are_refused_naming_the_row(tmp_path):
    frame = county_frame().to_crs(4326)
    frame.loc[3, "geometry"] = shapely.LineString(frame.geometry[3].exterior.coords)
    source = write(frame, tmp_path / "mixed.geojson", driver="GeoJSON")

    result = cli("import-parcels", str(source), "--quiet")

    assert result.exit_code == 1
    assert "mixed geometry types (LineString ×1, Polygon ×5); row 4 is a LineString" in (
        result.output
    )
    assert Parcel.objects.count() == 0


def test_cli_reports_the_counts_and_the_reject_file(tmp_path):
    source = write(defective_frame(), tmp_path / "p.gpkg")
    result = cli("import-parcels", str(source), "--quiet", "--rejects-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "4 new, 0 changed, 0 unchanged, 0 retired, 1 repaired, 2 rejected" in result.output
    assert "-rejects.csv" in result.output


def test_filegdb_in_a_zip_imports(tmp_path):
    gdb = filegdb(tmp_path)
    archive = tmp_path / "hinds.gdb.zip"
    shutil.make_archive(str(archive).removesuffix(".zip"), "zip", tmp_path, gdb.name)
    result = run(archive, tmp_path)
    assert result.new == 6


# --- a partial file ---------------------------------------------------------------------------


@pytest.fixture
def city_and_a_district(tmp_path):
    """A 300-parcel city on record, and a file of 50 of its parcels (one district's extract)."""
    synth = pytest.importorskip("clt.synth")
    city = tmp_path / "city.gpkg"
    synth.generate_city(city, 300, 7, progress=False)
    assert run(city, tmp_path).new > 250
    district = write(gpd.read_file(city, engine="pyogrio").head(50), tmp_path / "district.gpkg")
    return city, district


def test_a_file_that_would_retire_most_of_the_county_is_refused(tmp_path, city_and_a_district):
    _, district = city_and_a_district
    before = registry_checksum()

    with pytest.raises(ImportRefused, match="would retire 2[0-9]{2} of the 2[0-9]{2} parcels"):
        run(district, tmp_path)

    assert registry_checksum() == before
    assert not Parcel.objects.filter(retired_at__isnull=False).exists()


def test_a_dry_run_warns_of_a_mass_retirement_and_counts_it(tmp_path, city_and_a_district):
    _, district = city_and_a_district
    said = []
    result = run(district, tmp_path, dry_run=True, log=said.append)
    assert result.retired > 200
    assert any("warning:" in line and "--allow-mass-retire" in line for line in said)


def test_a_mass_retirement_asked_for_is_done(tmp_path, city_and_a_district):
    _, district = city_and_a_district
    result = cli("import-parcels", str(district), "--allow-mass-retire", "--quiet",
                 "--rejects-dir", str(tmp_path / "rejects"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert Parcel.objects.filter(retired_at__isnull=False).count() > 200
