"""A county's FEMA flood map (National Flood Hazard Layer, S_FLD_HAZ_AR) imported as flood zones
keeps the special flood hazard area, not zone X, which covers the rest of the county.

Imported whole, every lot in the county was "in a flood zone" and `--outside-flood` found none.

test_finder's neighbourhood: V6, V7 and V8 are a row of three vacant lots, far east; V9 farther.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from clt.cli import main
from parcels.models import Overlay
from tests.parcels import test_finder
from tests.parcels.test_finder import LAT, LON, lot, search

pytestmark = pytest.mark.django_db

land = test_finder.land
EVERYWHERE = shapely.box(LON - 0.01, LAT - 0.01, LON + 0.05, LAT + 0.01)


def outline(geom) -> shapely.Polygon:
    return shapely.from_wkt(geom[0].wkt)


def fema_file(path, rows: list[dict], columns=("FLD_ZONE", "ZONE_SUBTY", "SFHA_TF")):
    """A GeoPackage of S_FLD_HAZ_AR's columns (those given), in state-plane feet as FEMA's
    county downloads come, one polygon per row."""
    frame = gpd.GeoDataFrame(
        {column: [row.get(column) for row in rows] for column in columns},
        geometry=[row["geometry"] for row in rows], crs="EPSG:4326",
    ).to_crs(2255)  # fmt: skip
    frame.to_file(path, layer="S_FLD_HAZ_AR")
    return path


def nfhl(tmp_path):
    """Zone AE over V7; zone X (0.2% chance) over V6; zone X (minimal) and D everywhere."""
    return fema_file(tmp_path / "nfhl.gpkg", [
        {"FLD_ZONE": "X", "ZONE_SUBTY": "AREA OF MINIMAL FLOOD HAZARD", "SFHA_TF": "F",
         "geometry": EVERYWHERE},
        {"FLD_ZONE": "AE", "ZONE_SUBTY": None, "SFHA_TF": "T",
         "geometry": outline(lot(1, east=0.01))},
        {"FLD_ZONE": "X", "ZONE_SUBTY": "0.2 PCT ANNUAL CHANCE FLOOD HAZARD", "SFHA_TF": "F",
         "geometry": outline(lot(0, east=0.01))},
        {"FLD_ZONE": "D", "ZONE_SUBTY": None, "SFHA_TF": "F",
         "geometry": shapely.box(LON + 0.04, LAT, LON + 0.041, LAT + 0.001)},
    ])  # fmt: skip


def import_layer(path, *options):
    return CliRunner().invoke(main, ["import-layer", str(path), "--kind", "flood-zone", *options])


def test_a_fema_flood_map_keeps_the_special_flood_hazard_area_and_says_what_it_left_out(
    land, tmp_path
):
    result = import_layer(nfhl(tmp_path))

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "clt: imported 1 flood-zone polygon from nfhl.gpkg",
        "clt: left out zone X ×2, zone D ×1: outside FEMA's special flood hazard area "
        "(SFHA_TF = T); to import every zone, add --all-zones",
    ]
    assert [(o.name, o.attributes["SFHA_TF"]) for o in Overlay.objects.all()] == [("AE", "T")]
    found = search(outside_flood=1)
    assert "V7" not in found and {"V1", "V2", "V6", "V8", "V9"} <= set(found)


def test_all_zones_keeps_every_polygon(land, tmp_path):
    result = import_layer(nfhl(tmp_path), "--all-zones")

    assert result.exit_code == 0, result.output
    assert result.output == "clt: imported 4 flood-zone polygons from nfhl.gpkg\n"
    assert search(outside_flood=1) == []  # zone X covers the county


def test_without_the_flag_the_zone_codes_say_which_are_the_hazard_area(land, tmp_path):
    """Older or trimmed files carry FLD_ZONE alone: A and V zones (any case, padded, the
    numbered zones of older maps) are kept; X, D, open water and areas not included are not."""
    zones = ["ae ", "A12", "VE", "AREA NOT INCLUDED", "OPEN WATER", "X", "A99"]
    rows = [{"FLD_ZONE": zone, "geometry": shapely.box(LON + 0.001 * n, LAT + 0.003,
                                                        LON + 0.001 * n + 0.0005, LAT + 0.0035)}
            for n, zone in enumerate(zones)]  # fmt: skip

    result = import_layer(fema_file(tmp_path / "zones.gpkg", rows, columns=("FLD_ZONE",)))

    assert result.exit_code == 0, result.output
    assert sorted(Overlay.objects.values_list("name", flat=True)) == ["A12", "A99", "VE", "ae"]
    assert "left out zone AREA NOT INCLUDED ×1, zone OPEN WATER ×1, zone X ×1" in result.output
    assert "(FLD_ZONE A or V zones)" in result.output


def test_a_map_of_zone_x_only_is_refused_and_nothing_is_imported(land, tmp_path):
    path = fema_file(tmp_path / "x.gpkg", [
        {"FLD_ZONE": "X", "SFHA_TF": "F", "geometry": EVERYWHERE},
        {"FLD_ZONE": "X", "SFHA_TF": "F", "geometry": outline(lot(0, east=0.01))},
    ])  # fmt: skip

    result = import_layer(path)

    assert result.exit_code == 1
    assert result.output == (
        "Error: x.gpkg: no polygon lies in FEMA's special flood hazard area (SFHA_TF = T; the "
        "file holds zone X ×2), so no lot would be kept out as flooded. To import every zone as "
        "a flood zone, add --all-zones. Nothing was imported\n"
    )
    assert not Overlay.objects.exists()


def test_a_refusal_names_the_file_s_row_when_zones_before_it_were_left_out(land, tmp_path):
    """Rows are numbered as the file numbers them, not among the polygons kept."""
    flat = shapely.Polygon([(LON, LAT), (LON + 0.001, LAT), (LON + 0.002, LAT), (LON, LAT)])
    path = fema_file(tmp_path / "nfhl.gpkg", [
        {"FLD_ZONE": "X", "SFHA_TF": "F", "geometry": EVERYWHERE},
        {"FLD_ZONE": "X", "SFHA_TF": "F", "geometry": EVERYWHERE},
        {"FLD_ZONE": "AE", "SFHA_TF": "T", "geometry": flat},
    ])  # fmt: skip

    result = import_layer(path)

    assert result.exit_code == 1
    assert result.output.startswith("Error: nfhl.gpkg: no polygon has an area (row 3: ")
    assert not Overlay.objects.exists()


def test_other_flood_files_and_other_kinds_keep_every_polygon(land, tmp_path):
    """A city's own flood study (no FEMA columns), and neighbourhoods with a zone column."""
    city = gpd.GeoDataFrame({"name": ["Town Creek"]}, geometry=[EVERYWHERE], crs="EPSG:4326")
    city.to_file(tmp_path / "study.geojson", driver="GeoJSON")
    assert import_layer(tmp_path / "study.geojson").exit_code == 0
    hoods = gpd.GeoDataFrame({"name": ["Virden"], "SFHA_TF": ["F"]}, geometry=[EVERYWHERE],
                             crs="EPSG:4326")  # fmt: skip
    hoods.to_file(tmp_path / "hoods.geojson", driver="GeoJSON")
    result = CliRunner().invoke(
        main, ["import-layer", str(tmp_path / "hoods.geojson"), "--kind", "neighbourhood"]
    )
    assert result.exit_code == 0, result.output
    assert Overlay.objects.count() == 2


def test_all_zones_is_refused_for_other_kinds(tmp_path):
    result = CliRunner().invoke(
        main, ["import-layer", str(tmp_path / "x.gpkg"), "--kind", "neighbourhood", "--all-zones"]
    )
    assert result.exit_code == 2
    assert "--all-zones is for --kind flood-zone" in result.output
