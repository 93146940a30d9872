"""The finder: vacant lots by what they are and where, lots touching trust land, assemblages.

The test neighbourhood, lots ~28 x 33 m (0.0003°), columns left to right, near the Lumumba Center:

    row 1:  V5 (vacant, 1.1 m north of H0: a gap, as real layers have)
    row 0:  H0 (held by the trust)  V1  V2  O3 (occupied)         ...  V6 V7 V8   ...  V9 (big)
            |<- a block near the trust's farm ->|                   far east        farther
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from click.testing import CliRunner
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from clt.cli import main
from parcels import finder
from parcels.actions import holding_acquire
from parcels.models import Overlay, Parcel
from parcels.queries import OutsideMetricDomain, Window, assemblages, touching_holdings

pytestmark = pytest.mark.django_db

LON, LAT = -90.2010, 32.2990
SIDE = 0.0003
GAP = 0.00001  # about 1.1 m of latitude


def square(lon: float, lat: float, side: float = SIDE) -> MultiPolygon:
    ring = ((lon, lat), (lon + side, lat), (lon + side, lat + side), (lon, lat + side), (lon, lat))
    return MultiPolygon(Polygon(ring), srid=4326)


def lot(col: int, east: float = 0.0, lat: float = LAT, width: int = 1) -> MultiPolygon:
    """Lot `col` of a row starting `east` degrees east of LON: neighbours share their edge
    coordinates exactly (computed the same way), as lots cut from one survey do."""
    west, east_edge = LON + east + col * SIDE, LON + east + (col + width) * SIDE
    north = lat + width * SIDE
    ring = ((west, lat), (east_edge, lat), (east_edge, north), (west, north), (west, lat))
    return MultiPolygon(Polygon(ring), srid=4326)


def parcel(apn: str, geom: MultiPolygon, **fields) -> Parcel:
    defaults = {"vacancy_status": "vacant", "land_use": "V", "zoning": "R-1",
                "owner_of_record": "JOHNSON MARY L", "address": f"{apn} Test St"}  # fmt: skip
    return Parcel.objects.create(apn=apn, geom=geom, **{**defaults, **fields})


@pytest.fixture
def land():
    held = parcel("H0", lot(0), vacancy_status="occupied", land_use="E")
    lots = {
        "H0": held,
        "V1": parcel("V1", lot(1), owner_of_record="CITY OF JACKSON"),
        "V2": parcel("V2", lot(2), tax_status="delinquent"),
        "O3": parcel("O3", lot(3), vacancy_status="occupied", land_use="R1"),
        "V5": parcel("V5", lot(0, lat=LAT + SIDE + GAP), zoning="R-2"),
        "V6": parcel("V6", lot(0, east=0.01), owner_of_record="STATE OF MISSISSIPPI",
                     tax_status="forfeited", land_use="VC", zoning="C-2"),
        "V7": parcel("V7", lot(1, east=0.01)),
        "V8": parcel("V8", lot(2, east=0.01)),
        "V9": parcel("V9", lot(0, east=0.02, width=2)),
        "R10": parcel("R10", lot(0, east=0.03),
                      retired_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
    }  # fmt: skip
    holding_acquire(
        name="Freedom Farm", parcels=[held], current_use="urban_farm",
        acquired_via="tax_forfeit_patent", acquired_on=dt.date(2018, 3, 1),
    )  # fmt: skip
    return lots


def apns(collection: dict) -> list[str]:
    return [f["properties"]["apn"] for f in collection["features"]]


def search(**params) -> list[str]:
    return apns(finder.vacant_lots_geojson({k: str(v) for k, v in params.items()}))


# --- vacant lots --------------------------------------------------------------------------------


def test_only_active_vacant_lots_not_held_by_the_trust_are_found(land):
    assert sorted(search()) == ["V1", "V2", "V5", "V6", "V7", "V8", "V9"]


def test_area_range_in_square_metres_and_in_acres_agree(land):
    big = Parcel.objects.get(apn="V9").area_m2  # four times the others
    assert search(min_area_m2=big - 1) == ["V9"]
    assert search(min_acres=(big - 1) / 4046.8564224) == ["V9"]
    assert sorted(search(max_area_m2=big / 2)) == ["V1", "V2", "V5", "V6", "V7", "V8"]


def test_land_use_zoning_tax_status_and_owner_filters(land):
    assert search(land_use="VC") == ["V6"]
    assert search(zoning="R-2") == ["V5"]
    assert sorted(search(tax_status="delinquent,forfeited")) == ["V2", "V6"]
    assert search(owner="city") == ["V1"]
    assert search(owner="state") == ["V6"]
    assert sorted(search(owner="private")) == ["V2", "V5", "V7", "V8", "V9"]


def test_bbox_and_polygon_filters(land):
    bbox = f"{LON - 0.001},{LAT - 0.001},{LON + 0.002},{LAT + 0.002}"
    assert sorted(search(bbox=bbox)) == ["V1", "V2", "V5"]
    around_v7 = square(LON + 0.01 + SIDE + 0.0001, LAT + 0.0001, side=0.0001)[0].wkt
    assert search(polygon=around_v7) == ["V7"]


def test_nearest_first_within_a_distance_of_a_point(land):
    near = f"{LON + 0.01 + 1.5 * SIDE},{LAT + SIDE / 2}"  # the middle of V7
    result = finder.vacant_lots_geojson({"near": near, "within_m": "100"})
    assert apns(result)[0] == "V7"
    assert sorted(apns(result)) == ["V6", "V7", "V8"]
    distances = [f["properties"]["distance_m"] for f in result["features"]]
    assert distances[0] == 0 and distances == sorted(distances)
    # V6 and V8 are one lot-width (~28 m) minus half of V7 away from the point: ~14 m.
    assert distances[1] == pytest.approx(14.1, abs=0.3)


def test_within_a_distance_of_an_address(land):
    assert sorted(search(address="V7 Test St", within_m=40)) == ["V6", "V7", "V8"]


def test_within_a_distance_of_trust_holdings(land):
    assert search(near_holdings_m=0) == ["V1"]
    assert sorted(search(near_holdings_m=2)) == ["V1", "V5"]


def test_outside_flood_zones_and_inside_a_neighbourhood(land):
    Overlay.objects.create(kind="flood-zone", name="AE", geom=square(LON + 0.01, LAT, 0.0001))
    Overlay.objects.create(
        kind="neighbourhood", name="West Jackson", geom=square(LON - 0.001, LAT - 0.001, 0.004)
    )
    assert "V6" not in search(outside_flood=1)
    assert len(search(outside_flood=1)) == 6
    assert sorted(search(neighbourhood="west jackson")) == ["V1", "V2", "V5"]


@pytest.mark.parametrize("answer", [finder.vacant_lots_geojson, finder.adjacent_lots_geojson,
                                    finder.assemblages_geojson])  # fmt: skip
def test_outside_flood_zones_is_refused_while_no_flood_zone_is_loaded(land, answer):
    """It answered every lot, as if each had been checked against flood zones not there."""
    Overlay.objects.create(kind="neighbourhood", name="West Jackson", geom=square(LON, LAT))
    with pytest.raises(finder.FinderError) as caught:
        answer({"outside_flood": "1"})
    assert caught.value.field == "outside_flood"
    assert caught.value.detail.endswith("(import it: clt import-layer FILE --kind flood-zone)")


def test_ordered_by_area_and_by_score(land):
    assert search(order="area")[0] == "V9"
    # V1 adjoins the farm (3) and is city-owned (1): the top of the documented score.
    result = finder.vacant_lots_geojson({"order": "score"})
    assert apns(result)[:2] == ["V1", "V6"]  # V6: forfeited (2) + public (1)
    assert result["features"][0]["properties"]["score"] == pytest.approx(4 + 0.93, abs=0.05)


def test_pages_do_not_overlap_and_say_whether_more_follow(land):
    first = finder.vacant_lots_geojson({"order": "area", "limit": "3"})
    third = finder.vacant_lots_geojson({"order": "area", "limit": "3", "page": "3"})
    second = finder.vacant_lots_geojson({"order": "area", "limit": "3", "page": "2"})
    assert len({*apns(first), *apns(second), *apns(third)}) == 7
    assert (first["has_next"], third["has_next"], len(apns(third))) == (True, False, 1)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bbox": "-90.1,32.3,-90.2,32.4"}, "bbox"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"min_area_m2": "500", "max_area_m2": "100"}, "min_area_m2"),
        ({"near": "-90.2,32.3", "within_m": "abc"}, "within_m"),
        ({"near": "-90.2,32.3", "within_m": "-5"}, "within_m"),
        ({"tax_status": "late"}, "tax_status"),
        ({"order": "distance"}, "order"),
        ({"address": "1 Nowhere Rd"}, "address"),
        ({"neighbourhood": "Atlantis"}, "neighbourhood"),
    ],
)
def test_bad_parameters_name_the_field(land, params, field):
    with pytest.raises(finder.FinderError) as caught:
        finder.vacant_lots_geojson(params)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ('{"type":"Polygon"}', "not a WKT or GeoJSON polygon"),
        ('{"type":"Polygon","coordinates":"x"}', "not a WKT or GeoJSON polygon"),
        ("POLYGON EMPTY", "the Polygon is empty"),
        ("MULTIPOLYGON EMPTY", "the MultiPolygon is empty"),
        ("POINT (-90.2 32.3)", "expected a polygon, got Point"),
        ("POLYGON ((0 0, 200 0, 200 1, 0 0))", "coordinates must be longitude within ±180"),
        ("POLYGON ((0 0, 1 0, 1 95, 0 0))", "coordinates must be longitude within ±180"),
    ],
)
def test_a_bad_polygon_is_refused_saying_what_is_wrong(value, detail):
    with pytest.raises(finder.FinderError) as caught:
        finder.parse_polygon(value)
    assert caught.value.field == "polygon"
    assert caught.value.detail.startswith(detail)


# --- adjacency and assemblages --------------------------------------------------------------


def test_lots_touching_trust_land_name_the_holding(land):
    rows = touching_holdings(0)
    assert [(r["apn"], r["holdings"], r["gap_m"]) for r in rows] == [("V1", ["Freedom Farm"], 0.0)]


def test_a_lot_across_a_small_gap_touches_within_the_tolerance(land):
    assert [r["apn"] for r in touching_holdings(0.5)] == ["V1"]
    rows = touching_holdings(2)
    assert [r["apn"] for r in rows] == ["V1", "V5"]
    assert rows[1]["gap_m"] == pytest.approx(1.11, abs=0.02)  # 0.00001° of latitude
    assert rows[1]["touches_apns"] == ["H0"]


def test_adjacency_in_a_window_only_looks_there(land):
    far = Window((LON + 0.005, LAT - 0.001, LON + 0.05, LAT + 0.001))
    assert touching_holdings(2, window=far) == []


def test_assemblages_are_groups_of_touching_lots_with_area_and_trust_land(land):
    groups = assemblages(0, min_lots=2)
    assert [(g["lots"], g["apns"], g["touches_trust_land"]) for g in groups] == [
        (3, ["V6", "V7", "V8"], False),
        (2, ["V1", "V2"], True),
    ]
    areas = {p.apn: p.area_m2 for p in Parcel.objects.all()}
    assert groups[0]["area_m2"] == pytest.approx(areas["V6"] + areas["V7"] + areas["V8"])
    assert groups[1]["holdings"] == ["Freedom Farm"]


def test_tolerance_joins_lots_across_a_gap_into_one_assemblage(land):
    groups = assemblages(2, min_lots=2)
    assert [g["apns"] for g in groups] == [["V6", "V7", "V8"], ["V1", "V2", "V5"]]


def test_assemblage_outline_is_the_merged_lots(land):
    group = assemblages(0, min_lots=3)[0]
    outline = json.loads(group["geometry"])
    assert outline["type"] == "MultiPolygon"  # always, for one geometry type a download
    (rings,) = outline["coordinates"]  # three lots sharing edges merge into one ring
    merged = Polygon(*rings, srid=4326)
    assert merged.area == pytest.approx(3 * SIDE * SIDE, rel=1e-6)


def test_assemblages_filter_by_lot_count_and_combined_area(land):
    areas = {p.apn: p.area_m2 for p in Parcel.objects.all()}
    assert [g["apns"] for g in assemblages(0, min_lots=3)] == [["V6", "V7", "V8"]]
    # V9 is four lots' worth on its own; three small lots together make three.
    big = assemblages(0, min_lots=1, min_area_m2=2.5 * areas["V1"])
    assert [g["apns"] for g in big] == [["V9"], ["V6", "V7", "V8"]]


def test_assemblages_honour_the_finder_filters(land):
    result = finder.assemblages_geojson({"tolerance_m": "0", "owner": "private"})
    assert [f["properties"]["apns"] for f in result["features"]] == [["V7", "V8"]]


# --- the command --------------------------------------------------------------------------------


def test_cli_lists_vacant_lots_as_csv_and_geojson(land):
    runner = CliRunner()
    as_csv = runner.invoke(main, ["vacant-lots", "--owner", "city", "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.stdout.splitlines()[1].startswith("V1,V1 Test St,CITY OF JACKSON,V,R-1,")
    as_geojson = runner.invoke(main, ["vacant-lots", "--land-use", "VC", "--format", "geojson"])
    collection = json.loads(as_geojson.stdout)
    assert collection["type"] == "FeatureCollection"
    assert apns(collection) == ["V6"]


def test_cli_adjacent_lots_and_assemblages(land):
    runner = CliRunner()
    adjacent = runner.invoke(main, ["adjacent-lots", "--tolerance-m", "2", "--format", "csv"])
    assert [line.split(",")[0] for line in adjacent.stdout.splitlines()[1:]] == ["V1", "V5"]
    groups = runner.invoke(main, ["assemblages", "--tolerance-m", "0", "--format", "table"])
    assert groups.exit_code == 0
    assert "V6 V7 V8" in groups.stdout


def test_cli_csv_keeps_a_formula_from_the_county_file_from_running_in_a_spreadsheet(land):
    parcel("-1+cmd|' /C calc'!A0", lot(0, east=0.04), land_use="VX",
           address='=HYPERLINK("http://e.x","y")', owner_of_record="\t=1+1 Tab St",
           zoning="@SUM(1+1)*cmd|' /C calc'!A0")  # fmt: skip
    result = CliRunner().invoke(main, ["vacant-lots", "--land-use", "VX", "--format", "csv"])
    assert result.exit_code == 0, result.output
    [header, row] = list(csv.reader(io.StringIO(result.stdout)))
    assert row[:6] == ["'-1+cmd|' /C calc'!A0", '\'=HYPERLINK("http://e.x","y")',
                       "'\t=1+1 Tab St", "VX", "'@SUM(1+1)*cmd|' /C calc'!A0",
                       "current"]  # fmt: skip
    # The figures the finder computed stay figures
    assert float(row[header.index("area_m2")]) > 0
    assert float(row[header.index("score")]) >= 0


def test_csv_of_lots_touching_trust_land_guards_each_list_of_apns():
    collection = {"features": [{"properties": {"touches_apns": ["=1+1", "H0"], "gap_m": 0.5}}]}
    assert finder.as_csv(collection, ("touches_apns", "gap_m")).splitlines() == [
        "touches_apns,gap_m", "'=1+1 H0,0.5"
    ]


@pytest.mark.parametrize("command", ["vacant-lots", "adjacent-lots", "assemblages"])
def test_cli_outside_flood_with_no_flood_zone_loaded_exits_non_zero_saying_how_to_load_them(
    land, command
):
    result = CliRunner().invoke(main, [command, "--outside-flood"])
    assert result.exit_code == 1, result.output
    assert result.output == (
        "Error: outside_flood: no flood-zone overlay is loaded, so no lot can be checked "
        "against one (import it: clt import-layer FILE --kind flood-zone)\n"
    )


def test_cli_bad_distance_exits_non_zero_naming_it(land):
    result = CliRunner().invoke(main, ["vacant-lots", "--near", "-90.2,32.3", "--within-m", "-5"])
    assert result.exit_code == 1
    assert "within_m: -5 is below 0" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["vacant-lots", "--near", "0,0"],
        ["vacant-lots", "--near", "0,0", "--order", "area"],
        ["vacant-lots", "--near", "0,0", "--within-m", "10"],
        ["adjacent-lots", "--near", "0,0", "--within-m", "10"],
    ],
)
def test_cli_point_outside_the_metric_crs_is_refused_naming_near(land, args):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith(
        "Error: near: 0,0 is outside the area the trust's metric CRS covers (EPSG:26995, "
    )
    assert len(result.output.strip().splitlines()) == 1


def test_a_point_outside_the_metric_crs_is_refused_by_the_query_too(land):
    with pytest.raises(OutsideMetricDomain, match="0,0 is outside the area"):
        list(Parcel.objects.vacant().within_m(Point(0, 0, srid=4326), 10))


def test_point_transforms_to_metres_the_same_way_geodjango_does(land):
    p = Point(LON, LAT, srid=4326)
    lots = Parcel.objects.vacant().within_m(p, 50).order_by("apn")
    assert [x.apn for x in lots] == ["V1", "V5"]


def test_import_layer_makes_neighbourhoods_and_flood_zones_to_filter_by(land, tmp_path):
    import geopandas as gpd
    import shapely

    neighbourhoods = gpd.GeoDataFrame(
        {"NAME": ["West Jackson", "Far East"]},
        geometry=[shapely.box(LON - 0.001, LAT - 0.001, LON + 0.003, LAT + 0.003),
                  shapely.box(LON + 0.005, LAT - 0.001, LON + 0.05, LAT + 0.001)],
        crs="EPSG:4326",
    ).to_crs(2255)  # fmt: skip
    neighbourhoods.to_file(tmp_path / "nbhd.gpkg")
    flood = gpd.GeoDataFrame(
        {"FLD_ZONE": ["AE"]}, geometry=[shapely.box(LON + 0.0199, LAT, LON + 0.0201, LAT + 0.0001)],
        crs="EPSG:4326",
    )  # fmt: skip
    flood.to_file(tmp_path / "flood.geojson", driver="GeoJSON")
    runner = CliRunner()

    result = runner.invoke(main, ["import-layer", str(tmp_path / "nbhd.gpkg"),
                                  "--kind", "neighbourhood"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "imported 2 neighbourhood polygons" in result.output
    runner.invoke(main, ["import-layer", str(tmp_path / "flood.geojson"), "--kind", "flood-zone"])

    assert sorted(search(neighbourhood="Far East")) == ["V6", "V7", "V8", "V9"]
    assert "V9" not in search(outside_flood=1)
    assert Overlay.objects.get(kind="flood-zone").name == "AE"


def test_import_layer_refuses_points(land, tmp_path):
    import geopandas as gpd
    import shapely

    gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(LON, LAT)], crs=4326).to_file(
        tmp_path / "points.geojson", driver="GeoJSON"
    )
    result = CliRunner().invoke(
        main, ["import-layer", str(tmp_path / "points.geojson"), "--kind", "other"]
    )
    assert result.exit_code == 1
    assert "overlays must be polygons" in result.output


def test_a_table_cell_cut_to_fit_says_so():
    from parcels.finder import TABLE_CELL_CHARS, as_table

    apns = ", ".join(f"165-142-{i:03d}" for i in range(7))  # 7 APNs: 89 characters
    table = as_table({"features": [{"properties": {"lots": 7, "apns": apns}}]}, ("lots", "apns"))
    row = table.splitlines()[1]
    assert row.endswith("…") and len(row.split("  ")[-1].strip()) == TABLE_CELL_CHARS
