"""The synthetic West Jackson parcel layer: shape, place, attributes, defects and determinism.

Every test reads the GeoPackage back from disk, with pyogrio or with GDAL's own `ogrinfo`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.errors
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod, Transformer

from clt import synth
from clt.cli import main
from clt.synth import SynthSummary, generate_city

PARCELS = 2_000
SEED = 7
WEST_JACKSON_LON_LAT = (-90.21, 32.30)
US_SURVEY_FT_M = 1200 / 3937
ACRE_M2 = 43_560 * US_SURVEY_FT_M**2

requires_ogrinfo = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="no ogrinfo")


@dataclass(frozen=True)
class Layer:
    """The `parcels` layer as read back: layer info, geometries, WKB and columns."""

    info: dict
    geometry: np.ndarray
    wkb: np.ndarray
    columns: dict[str, np.ndarray]

    def usable(self) -> np.ndarray:
        """Which parcels have a valid, non-empty geometry."""
        return shapely.is_valid(self.geometry) & ~shapely.is_empty(self.geometry)


def read_layer(path: Path) -> Layer:
    meta, _, wkb, values = pyogrio.raw.read(path, layer="parcels")
    columns = dict(zip(meta["fields"], values, strict=True))
    info = pyogrio.read_info(path, layer="parcels")
    return Layer(info=info, geometry=shapely.from_wkb(wkb), wkb=wkb, columns=columns)


def city_at(path: Path, parcels: int = PARCELS, seed: int = SEED, **options) -> Layer:
    generate_city(path, parcels, seed, progress=False, **options)
    return read_layer(path)


def assert_same_parcels(a: Layer, b: Layer) -> None:
    assert a.wkb.tolist() == b.wkb.tolist()
    for name in synth.COLUMNS:
        assert a.columns[name].tolist() == b.columns[name].tolist(), name


def ogr_sql(path: Path, sql: str) -> list[str]:
    """The `apn` values `ogrinfo` returns for an SQL query on the GeoPackage."""
    done = subprocess.run(
        ["ogrinfo", "-ro", "-q", str(path), "-sql", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return re.findall(r"^\s+apn \(String\) = (\S+)$", done.stdout, flags=re.MULTILINE)


@pytest.fixture(scope="module")
def city_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synth") / "city.gpkg"


@pytest.fixture(scope="module")
def summary(city_path) -> SynthSummary:
    return generate_city(city_path, PARCELS, SEED, progress=False)


@pytest.fixture(scope="module")
def city(summary) -> Layer:
    return read_layer(summary.path)


# --- the file and its layer --------------------------------------------------------------------


def test_city_has_exactly_the_requested_number_of_parcels(summary, city):
    assert summary.parcels == PARCELS
    assert city.info["features"] == PARCELS
    assert len(city.geometry) == PARCELS


def test_layer_is_recorded_in_mississippi_west_us_feet(summary, city):
    assert summary.srid == 2255
    assert city.info["crs"] == "EPSG:2255"


def test_every_parcel_is_a_multipolygon_in_a_multipolygon_layer(city):
    assert city.info["geometry_type"] == "MultiPolygon"
    assert set(shapely.get_type_id(city.geometry)) == {shapely.GeometryType.MULTIPOLYGON}


def test_columns_have_the_assessor_names_and_types(city):
    assert list(city.info["fields"]) == [
        "apn", "address", "owner", "land_use", "zoning", "land_value", "improvement_value",
        "acreage", "vacant", "tax_delinquent",
    ]  # fmt: skip
    assert city.info["ogr_types"] == ["OFTString"] * 5 + ["OFTInteger64"] * 2 + [
        "OFTReal",
        "OFTInteger",
        "OFTInteger",
    ]


def test_summary_bbox_is_the_layer_extent(summary, city):
    assert summary.bbox == pytest.approx(city.info["total_bounds"], abs=1e-6)


def test_writing_again_replaces_the_file(tmp_path):
    path = tmp_path / "city.gpkg"
    city_at(path, 500)
    assert city_at(path, 300).info["features"] == 300


def test_a_city_of_no_parcels_is_refused(tmp_path):
    with pytest.raises(ValueError, match="parcels: must be at least 1, got 0"):
        generate_city(tmp_path / "city.gpkg", 0, SEED, progress=False)


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("missing", "there is no folder {folder}"),
        ("/sys", "Permission denied"),  # refuses new files even to root, whom chmod does not stop
    ],
)
def test_the_command_says_in_one_line_why_it_cannot_write_the_file(tmp_path, where, reason):
    folder = tmp_path / "missing" if where == "missing" else Path(where)
    output = folder / "x.gpkg"
    result = CliRunner().invoke(main, ["synth", "--parcels", "10", "--quiet", "-o", str(output)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot write {output}: {reason.format(folder=folder)}; "
        "choose a folder you may write to\n"
    )
    assert not output.exists()


def test_a_city_that_fails_half_written_leaves_no_file(tmp_path, monkeypatch):
    write = synth._write

    def disk_fills_on_the_second_chunk(path, chunk, *, append):
        if append:
            raise pyogrio.errors.DataSourceError("database or disk is full")
        write(path, chunk, append=append)

    monkeypatch.setattr(synth, "_write", disk_fills_on_the_second_chunk)
    path = tmp_path / "city.gpkg"
    with pytest.raises(synth.SynthError, match=f"cannot write {path}: database or disk is full"):
        generate_city(path, 120, SEED, progress=False, chunk_size=50)
    assert not path.exists()


# --- determinism -------------------------------------------------------------------------------


def test_the_same_seed_writes_the_same_parcels(tmp_path, city):
    assert_same_parcels(city_at(tmp_path / "again.gpkg"), city)


def test_a_different_seed_writes_different_parcels(tmp_path, city):
    other = city_at(tmp_path / "other.gpkg", seed=SEED + 1)
    assert other.wkb.tolist() != city.wkb.tolist()
    assert other.columns["owner"].tolist() != city.columns["owner"].tolist()


def test_the_chunk_size_does_not_change_the_parcels(tmp_path, city):
    assert_same_parcels(city_at(tmp_path / "chunked.gpkg", chunk_size=333), city)


def test_a_smaller_city_is_the_first_parcels_of_a_larger_one(tmp_path, city):
    smaller = city_at(tmp_path / "smaller.gpkg", 1_200)
    first = Layer(
        info={},
        geometry=city.geometry[:1_200],
        wkb=city.wkb[:1_200],
        columns={name: values[:1_200] for name, values in city.columns.items()},
    )
    assert_same_parcels(smaller, first)


# --- planted defects ---------------------------------------------------------------------------


def test_one_invalid_self_touching_ring_is_planted_where_the_summary_says(summary, city):
    invalid = ~shapely.is_valid(city.geometry) & ~shapely.is_empty(city.geometry)
    assert city.columns["apn"][invalid].tolist() == list(summary.invalid_ring_apns)
    assert len(summary.invalid_ring_apns) == 1
    assert shapely.is_valid_reason(city.geometry[invalid][0]).startswith("Ring Self-intersection")


def test_exactly_the_planted_apn_is_duplicated_on_two_different_parcels(summary, city):
    apns, counts = np.unique(city.columns["apn"], return_counts=True)
    assert apns[counts > 1].tolist() == list(summary.duplicate_apns)
    assert counts.max() == 2
    twins = city.geometry[city.columns["apn"] == summary.duplicate_apns[0]]
    assert not shapely.equals(twins[0], twins[1])


def test_one_geometry_is_empty_and_reads_back_as_an_empty_multipolygon(summary, city):
    empty = shapely.is_empty(city.geometry)
    assert city.columns["apn"][empty].tolist() == list(summary.empty_geometry_apns)
    assert len(summary.empty_geometry_apns) == 1
    assert shapely.to_wkt(city.geometry[empty][0]) == "MULTIPOLYGON EMPTY"


def test_a_city_of_a_hundred_parcels_has_one_of_each_defect(tmp_path):
    summary = generate_city(tmp_path / "small.gpkg", 100, SEED, progress=False)
    planted = summary.invalid_ring_apns, summary.duplicate_apns, summary.empty_geometry_apns
    assert [len(apns) for apns in planted] == [1, 1, 1]


def test_each_started_window_of_parcels_gets_one_more_of_each_defect(tmp_path, monkeypatch):
    monkeypatch.setattr(synth, "DEFECT_WINDOW", 1_000)  # 100,000 in production: too slow here
    summary = generate_city(tmp_path / "windows.gpkg", 2_150, SEED, progress=False)
    planted = summary.invalid_ring_apns, summary.duplicate_apns, summary.empty_geometry_apns
    assert [len(apns) for apns in planted] == [3, 3, 3]


# --- place and shape ---------------------------------------------------------------------------


def test_the_city_is_centred_within_3_km_of_west_jackson(city):
    usable = city.geometry[city.usable()]
    weights = shapely.area(usable)
    centroids = shapely.get_coordinates(shapely.centroid(usable))
    x, y = np.average(centroids, axis=0, weights=weights)

    centre_x, centre_y = Transformer.from_crs(4326, 2255, always_xy=True).transform(
        *WEST_JACKSON_LON_LAT
    )
    assert np.hypot(x - centre_x, y - centre_y) * US_SURVEY_FT_M < 3_000

    lon, lat = Transformer.from_crs(2255, 4326, always_xy=True).transform(x, y)
    _, _, distance_m = Geod(ellps="GRS80").inv(lon, lat, *WEST_JACKSON_LON_LAT)
    assert distance_m < 3_000


def test_neighbouring_parcels_touch_and_never_overlap(city):
    usable = city.geometry[city.usable()]
    left, right = shapely.STRtree(usable).query(usable, predicate="intersects")
    pairs = left < right
    shared = shapely.intersection(usable[left[pairs]], usable[right[pairs]])
    assert shapely.area(shared).max() == 0.0
    assert shapely.length(shared).sum() > 0


def test_every_parcel_shares_a_whole_side_line_with_a_neighbour_on_its_block_face(summary, city):
    usable = city.geometry[city.usable()]
    left, right = shapely.STRtree(usable).query(usable, predicate="touches")
    segments, pair = shapely.get_parts(
        shapely.line_merge(shapely.intersection(usable[left], usable[right])), return_index=True
    )
    bounds = shapely.bounds(segments)
    # Side lines run north-south; lots are at least 60 ft deep (100 ft before a rear strip sale).
    side_line = (bounds[:, 2] == bounds[:, 0]) & (bounds[:, 3] - bounds[:, 1] >= 60)
    has_side_neighbour = np.zeros(len(usable), bool)
    has_side_neighbour[left[pair[side_line]]] = True
    # A lot whose only neighbour on the face is a planted defect has no usable neighbour.
    defect_blocks = {apn[:7] for apn in summary.invalid_ring_apns + summary.empty_geometry_apns}
    blocks = np.array([apn[:7] for apn in city.columns["apn"][city.usable()]])
    assert has_side_neighbour[~np.isin(blocks, list(defect_blocks))].all()
    assert has_side_neighbour.mean() > 0.99


def test_acreage_is_the_area_in_feet_and_in_geodesic_metres(city):
    usable = city.usable()
    area_sqft = shapely.area(city.geometry[usable])
    acreage = city.columns["acreage"][usable]
    assert np.abs(acreage - area_sqft / 43_560).max() <= 0.00005

    to_lon_lat = Transformer.from_crs(2255, 4326, always_xy=True)
    geod = Geod(ellps="GRS80")
    for parcel, acres in zip(city.geometry[usable][:50], acreage[:50], strict=True):
        lon_lat = shapely.transform(parcel, lambda xy: np.column_stack(to_lon_lat.transform(*xy.T)))
        area_m2, _ = geod.geometry_area_perimeter(lon_lat)
        assert abs(area_m2) / ACRE_M2 == pytest.approx(acres, rel=1e-3, abs=1e-4)


def test_lots_are_40_to_160_ft_wide_and_100_to_180_ft_deep(city):
    single_lots = city.geometry[city.usable() & (shapely.get_num_coordinates(city.geometry) == 5)]
    bounds = shapely.bounds(single_lots)
    width_ft, depth_ft = bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]
    assert width_ft.min() >= 40 and width_ft.max() < 160
    assert depth_ft.min() >= 60 and depth_ft.max() <= 180  # 60: a lot that sold its rear strip
    assert np.median(depth_ft) >= 100


def test_some_parcels_are_two_merged_lots_and_some_have_a_detached_part(city):
    polygons = city.geometry[city.usable()]
    merged = shapely.get_num_coordinates(polygons) == 7  # the old lot corner stays as a vertex
    multipart = shapely.get_num_geometries(polygons) == 2
    assert 0.01 < merged.mean() < 0.06
    assert 0.01 < multipart.mean() < 0.04
    parts = shapely.get_parts(polygons[multipart])
    assert not shapely.touches(parts[0::2], parts[1::2]).any()  # the parts are detached


# --- attributes --------------------------------------------------------------------------------


def test_about_a_fifth_of_parcels_are_vacant(city):
    assert 0.16 < city.columns["vacant"].mean() < 0.24


def test_vacant_flag_agrees_with_land_use_and_improvement_value(city):
    vacant = city.columns["vacant"] == 1
    assert set(city.columns["land_use"][vacant]) == {"V", "VC"}
    assert not set(city.columns["land_use"][~vacant]) & {"V", "VC"}
    assert (city.columns["improvement_value"][vacant] == 0).all()
    assert (city.columns["improvement_value"][~vacant] > 0).all()
    assert (city.columns["land_value"] > 0).all()


def test_vacant_lots_are_more_often_tax_delinquent(city):
    vacant = city.columns["vacant"] == 1
    delinquent = city.columns["tax_delinquent"] == 1
    assert delinquent[vacant].mean() > 2 * delinquent[~vacant].mean()


def test_public_and_church_land_is_never_tax_delinquent(city):
    owner = city.columns["owner"]
    public = np.isin(owner, ["CITY OF JACKSON", "STATE OF MISSISSIPPI"])
    exempt = public | np.array(["CHURCH" in o for o in owner])
    assert exempt.sum() > 0
    assert (city.columns["tax_delinquent"][exempt] == 0).all()


def test_land_use_and_zoning_use_the_documented_codes(city):
    assert set(city.columns["land_use"]) <= set(synth.LAND_USE_CODES)
    assert set(city.columns["zoning"]) <= set(synth.ZONING_CODES)
    assert {"R1", "V"} <= set(city.columns["land_use"])


def test_apns_are_book_page_parcel_numbers(city):
    assert all(re.fullmatch(r"\d{3}-\d{3}-\d{3}", apn) for apn in city.columns["apn"])


def test_addresses_are_house_numbers_on_jackson_streets(city):
    addresses = city.columns["address"]
    assert all(re.fullmatch(r"\d{3,5} [WE] [A-Z][A-Za-z ]+ [A-Z][a-z]+", a) for a in addresses)
    streets = {a.split(" ", 2)[2] for a in addresses}
    assert {"Capitol St", "Amite St", "Pearl St"} <= streets
    assert len(set(addresses)) > 0.99 * len(addresses)


def test_owners_include_people_llcs_churches_the_city_and_the_state(city):
    owners = set(city.columns["owner"])
    assert {"CITY OF JACKSON", "STATE OF MISSISSIPPI"} <= owners
    assert any(o.endswith(" LLC") for o in owners)
    assert any(o.endswith(" CHURCH") for o in owners)
    assert any(o.startswith("HEIRS OF ") for o in owners)


# --- progress ----------------------------------------------------------------------------------


def test_progress_bar_goes_to_stderr_only_when_asked(tmp_path, capsys):
    generate_city(tmp_path / "quiet.gpkg", 200, SEED, progress=False)
    assert capsys.readouterr().err == ""
    generate_city(tmp_path / "loud.gpkg", 200, SEED, progress=True)
    captured = capsys.readouterr()
    assert "200/200" in captured.err
    assert captured.out == ""


# --- GDAL's own tools --------------------------------------------------------------------------


@requires_ogrinfo
def test_ogrinfo_reads_the_layer_its_crs_and_its_columns(summary):
    done = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(summary.path), "parcels"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"Feature Count: {PARCELS}\n" in done.stdout
    assert "Geometry: Multi Polygon\n" in done.stdout
    assert 'ID["EPSG",2255]' in done.stdout
    for line in ("apn: String", "land_value: Integer64", "acreage: Real", "vacant: Integer"):
        assert f"\n{line} " in done.stdout
    assert "Warning" not in done.stderr


@requires_ogrinfo
def test_ogrinfo_finds_exactly_the_planted_duplicate_and_empty_geometry(summary):
    duplicated = ogr_sql(summary.path, "SELECT apn FROM parcels GROUP BY apn HAVING COUNT(*) > 1")
    empty = ogr_sql(summary.path, "SELECT apn FROM parcels WHERE ST_IsEmpty(geom)")
    assert duplicated == list(summary.duplicate_apns)
    assert empty == list(summary.empty_geometry_apns)


@requires_ogrinfo
def test_ogrinfo_finds_exactly_the_planted_invalid_ring(summary):
    invalid = ogr_sql(
        summary.path,
        "SELECT apn FROM parcels WHERE NOT ST_IsEmpty(geom) AND ST_IsValid(geom) = 0",
    )
    assert invalid == list(summary.invalid_ring_apns)
