"""Overlay layers as counties and GIS tools export them: polygons in 3D, names in an unlisted
column or padded with spaces, repaired or degenerate polygons; and which file a kind's overlays
came from, so --replace never deletes another county's map (FEMA names the flood layer
S_FLD_HAZ_AR in every county) and one map saved under two names is not listed twice.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import shapely.affinity
from click.testing import CliRunner
from django.utils import timezone
from pyproj import Transformer

from clt.cli import main
from parcels.models import Overlay
from tests.parcels import test_finder
from tests.parcels.test_finder import LAT, LON, search

pytestmark = pytest.mark.django_db

land = test_finder.land
WEST = shapely.box(LON, LAT, LON + 0.001, LAT + 0.001)
EAST = shapely.box(LON + 0.002, LAT, LON + 0.003, LAT + 0.001)
FAR_EAST = shapely.box(LON + 0.0099, LAT - 0.0001, LON + 0.0111, LAT + 0.0004)  # V6, V7, V8
BOW_TIE = shapely.Polygon([(LON, LAT), (LON + 0.001, LAT + 0.001), (LON + 0.001, LAT),
                           (LON, LAT + 0.001), (LON, LAT)])  # fmt: skip


def import_layer(path: Path, kind: str, *options: str):
    return CliRunner().invoke(main, ["import-layer", str(path), "--kind", kind, *options])


def layer(path: Path, columns: dict[str, list], geometries: list, crs: int = 4326) -> Path:
    """A file of `geometries` (given in degrees) with `columns`, written in EPSG:`crs`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = gpd.GeoDataFrame(columns, geometry=geometries, crs=4326).to_crs(crs)
    frame.to_file(path)
    return path


def stored() -> list[tuple[str, str]]:
    return list(Overlay.objects.order_by("pk").values_list("name", "source_file"))


def today() -> str:
    return f"{timezone.localdate():%Y-%m-%d}"


# --- polygons as GIS tools export them -------------------------------------------------------


def test_a_polygon_z_layer_as_arcgis_exports_it_imports_as_2d_polygons(tmp_path):
    in_3d = [shapely.force_3d(WEST, 87.5), shapely.force_3d(EAST, 88.0)]
    path = layer(tmp_path / "nbhd_z.gpkg", {"NAME": ["Belhaven", "Fondren"]}, in_3d, crs=2255)

    result = import_layer(path, "neighbourhood")

    assert result.output == "clt: imported 2 neighbourhood polygons from nbhd_z.gpkg\n"
    overlays = Overlay.objects.order_by("pk")
    assert [(o.name, o.geom.hasz) for o in overlays] == [("Belhaven", False), ("Fondren", False)]
    assert shapely.from_wkt(overlays[0].geom.wkt).equals_exact(shapely.MultiPolygon([WEST]), 1e-9)


def test_measured_polygons_lose_their_m_values_too(tmp_path):
    path = tmp_path / "zones.csv"
    path.write_text(
        "name,WKT\n"
        f'R-1,"POLYGON ZM (({LON} {LAT} 1 5, {LON + 0.001} {LAT} 1 6, {LON} {LAT + 0.001} 1 7, '
        f'{LON} {LAT} 1 5))"\n'
        f'R-2,"POLYGON M (({LON} {LAT} 5, {LON - 0.001} {LAT} 6, {LON} {LAT - 0.001} 7, '
        f'{LON} {LAT} 5))"\n'
    )

    result = import_layer(path, "zoning", "--srid", "4326")

    assert result.output == "clt: imported 2 zoning polygons from zones.csv\n"
    assert [(o.name, o.geom.hasz, o.geom.wkt.count(" M ")) for o in Overlay.objects.all()] == [
        ("R-1", False, 0), ("R-2", False, 0),
    ]  # fmt: skip


def test_a_self_intersecting_polygon_is_repaired_and_the_import_says_so(tmp_path):
    path = layer(tmp_path / "flood.gpkg", {"FLD_ZONE": ["AE", "AE"]}, [EAST, BOW_TIE])

    result = import_layer(path, "flood-zone")

    assert result.output.splitlines() == [
        "clt: imported 2 flood-zone polygons from flood.gpkg",
        "clt: repaired 1 self-intersecting polygon (row 2)",
    ]
    assert Overlay.objects.order_by("pk")[1].geom.num_geom == 2  # the bow tie's two triangles


def test_a_polygon_left_with_almost_no_area_by_reprojection_is_left_out(tmp_path):
    """Points on one line in state-plane feet are a sliver of a few nm² once in degrees."""
    to_feet = Transformer.from_crs(4326, 2255, always_xy=True)
    x, y = to_feet.transform(LON, LAT)
    flat = shapely.Polygon([(x, y), (x + 500, y), (x + 1000, y), (x, y)])
    east = gpd.GeoSeries([EAST], crs=4326).to_crs(2255)[0]
    frame = gpd.GeoDataFrame({"FLD_ZONE": ["AE", "AE"]}, geometry=[east, flat], crs=2255)
    frame.to_file(tmp_path / "flood.gpkg")

    result = import_layer(tmp_path / "flood.gpkg", "flood-zone")

    assert result.exit_code == 0, result.output
    assert result.output == (
        "clt: imported 1 flood-zone polygon from flood.gpkg\n"
        "clt: left out 1 polygon with no area (row 2: under 1 m², or nothing left once made "
        "valid): no lot can be in it\n"
    )
    assert Overlay.objects.count() == 1


# --- names ------------------------------------------------------------------------------------


def test_a_neighbourhood_layer_without_a_name_column_is_refused_listing_its_text_columns(
    tmp_path,
):
    columns = {"NEIGH_NM": ["Belhaven", "Fondren"], "NOTES": ["", ""], "ACRES": [40.5, 61.0]}
    path = layer(tmp_path / "nbhd.gpkg", columns, [WEST, EAST])

    refused = import_layer(path, "neighbourhood")
    named = import_layer(path, "neighbourhood", "--name-field", "NEIGH_NM")

    assert refused.exit_code == 1
    assert refused.output == (
        "Error: nbhd.gpkg: no column of neighbourhood names found (none of name, nbhd_name, "
        "neighborhood, neighbourhood, label, zone, fld_zone, zone_name, district, title); its "
        "text columns: NEIGH_NM, NOTES. Name the column that holds them, e.g. --name-field "
        "NEIGH_NM. Nothing was imported\n"
    )
    assert named.exit_code == 0, named.output
    assert stored() == [("Belhaven", "nbhd.gpkg"), ("Fondren", "nbhd.gpkg")]


def test_other_kinds_without_a_name_column_are_named_by_row_and_the_import_says_so(tmp_path):
    path = layer(tmp_path / "districts.gpkg", {"CODE_DESC": ["Single family"]}, [WEST])

    result = import_layer(path, "zoning")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "clt: imported 1 zoning polygon from districts.gpkg",
        "clt: no column of names found (none of name, nbhd_name, neighborhood, neighbourhood, "
        "label, zone, fld_zone, zone_name, district, title; its text columns: CODE_DESC): the "
        "polygons are named by row (zoning 1, zoning 2, …). To name them from a column, import "
        "again with --replace --name-field CODE_DESC",
    ]
    assert stored() == [("zoning 1", "districts.gpkg")]


def test_names_lose_the_spaces_around_them_so_the_finder_matches_what_staff_type(land, tmp_path):
    names = ["Belhaven  ", " Fondren \t North"]
    path = layer(tmp_path / "nbhd.geojson", {"NBHD_NAME": names}, [FAR_EAST, WEST])

    assert import_layer(path, "neighbourhood").exit_code == 0

    assert [name for name, _ in stored()] == ["Belhaven", "Fondren North"]
    assert sorted(search(neighbourhood="Belhaven")) == ["V6", "V7", "V8"]


# --- sources: which file a kind's overlays came from -----------------------------------------

HINDS = [shapely.box(LON, LAT, LON + 0.002, LAT + 0.001), FAR_EAST]
MADISON = [shapely.affinity.translate(polygon, yoff=0.15) for polygon in HINDS]


def fema(folder: Path, polygons: list) -> Path:
    """A county's S_FLD_HAZ_AR.shp, FEMA's name for it in every county's download."""
    return layer(folder / "S_FLD_HAZ_AR.shp", {"FLD_ZONE": ["AE"] * len(polygons)}, polygons,
                 crs=2255)  # fmt: skip


def test_replace_refuses_to_delete_another_countys_flood_map_of_the_same_file_name(land, tmp_path):
    assert import_layer(fema(tmp_path / "hinds", HINDS), "flood-zone").exit_code == 0
    hinds = list(Overlay.objects.order_by("pk").values_list("pk", "name", "source_file"))
    madison = fema(tmp_path / "madison", MADISON)

    replacing = import_layer(madison, "flood-zone", "--replace")
    again = import_layer(madison, "flood-zone")

    assert replacing.exit_code == 1
    assert replacing.output == (
        "Error: S_FLD_HAZ_AR.shp: --replace would delete the 2 flood-zone overlays from a file "
        f"of this name (imported {today()}), and they lie apart from this file's polygons: "
        "another area's map. To keep both, rename this file after its area (with its .dbf, "
        ".shx and .prj), e.g. S_FLD_HAZ_AR_countyname.shp, and import it without --replace. "
        "Nothing was imported\n"
    )
    assert again.exit_code == 1
    assert again.output == (
        "Error: S_FLD_HAZ_AR.shp: 2 flood-zone overlays from a file of this name are already in "
        f"the registry (imported {today()}), covering another area than this file. To keep "
        "both, rename this file after its area (with its .dbf, .shx and .prj), e.g. "
        "S_FLD_HAZ_AR_countyname.shp, and import it again. Nothing was imported\n"
    )
    assert list(Overlay.objects.order_by("pk").values_list("pk", "name", "source_file")) == hinds
    assert "V7" not in search(outside_flood=1)  # Hinds' flood zone still keeps its lots out


def test_the_same_map_saved_under_another_name_is_refused_with_or_without_replace(tmp_path):
    first = layer(tmp_path / "nfhl.gpkg", {"FLD_ZONE": ["AE", "AE", "VE"]},
                  [WEST, EAST, FAR_EAST], crs=2255)  # fmt: skip
    assert import_layer(first, "flood-zone").exit_code == 0
    same = layer(tmp_path / "nfhl.geojson", {"FLD_ZONE": ["AE", "AE", "VE"]},
                 [WEST, EAST, FAR_EAST])  # fmt: skip

    results = [import_layer(same, "flood-zone"), import_layer(same, "flood-zone", "--replace")]

    refusal = (
        "Error: nfhl.geojson: 3 of its 3 polygons are already in the registry, as flood-zone "
        f"overlays from nfhl.gpkg (imported {today()}): the same map under another name. "
        "Importing it would list each area twice, and --replace is not the fix: it replaces "
        "only the overlays from a file of the same name. To update that map, import its new "
        "edition under the earlier file's name (nfhl.gpkg) with --replace. Nothing was "
        "imported\n"
    )
    assert [(r.exit_code, r.output) for r in results] == [(1, refusal), (1, refusal)]
    assert Overlay.objects.count() == 3


def test_a_file_sharing_a_polygon_or_two_with_another_is_added(tmp_path):
    assert import_layer(layer(tmp_path / "a.geojson", {"name": ["A", "B"]}, [WEST, EAST]),
                        "other").exit_code == 0  # fmt: skip
    beside = [EAST, FAR_EAST, shapely.box(LON, LAT + 0.002, LON + 0.001, LAT + 0.003)]

    result = import_layer(layer(tmp_path / "b.geojson", {"name": ["B", "C", "D"]}, beside),
                          "other")  # fmt: skip

    assert result.exit_code == 0, result.output
    assert Overlay.objects.count() == 5


def test_replace_says_how_many_overlays_it_replaced_and_from_when(tmp_path):
    path = layer(tmp_path / "nbhd.geojson", {"name": ["Belhaven", "Fondren"]}, [WEST, EAST])
    assert import_layer(path, "neighbourhood").exit_code == 0
    layer(path, {"name": ["Belhaven"]}, [WEST.union(EAST)])  # the new edition: one, merged

    result = import_layer(path, "neighbourhood", "--replace")

    assert result.output.splitlines() == [
        "clt: imported 1 neighbourhood polygon from nbhd.geojson",
        f"clt: replaced 2 neighbourhood overlays from nbhd.geojson (imported {today()})",
    ]
    assert stored() == [("Belhaven", "nbhd.geojson")]



# --- files holding several maps: a GeoPackage's layers, a zip's datasets ------------------------


def flood_layer(path: Path, name: str, polygon) -> None:
    """Write `polygon` as the layer `name` of the GeoPackage `path` (replacing it if there)."""
    gpd.GeoDataFrame({"FLD_ZONE": ["AE"]}, geometry=[polygon], crs=4326).to_file(path, layer=name)


def test_two_layers_of_one_geopackage_are_two_maps_and_replace_replaces_only_its_own(tmp_path):
    path = tmp_path / "nfhl.gpkg"
    flood_layer(path, "flood_100yr", WEST.union(EAST))
    flood_layer(path, "floodway", WEST)
    assert import_layer(path, "flood-zone", "--layer", "flood_100yr").exit_code == 0

    floodway = import_layer(path, "flood-zone", "--layer", "floodway")
    wider = shapely.affinity.scale(WEST, 1.5, 1.0)
    flood_layer(path, "floodway", wider)  # the floodway's new edition
    replaced = import_layer(path, "flood-zone", "--layer", "floodway", "--replace")

    imported = "clt: imported 1 flood-zone polygon from layer floodway of nfhl.gpkg"
    assert floodway.output == f"{imported}\n"
    assert replaced.output.splitlines() == [
        imported,
        f"clt: replaced 1 flood-zone overlay from layer floodway of nfhl.gpkg (imported {today()})",
    ]
    stored = {o.source_layer: shapely.from_wkt(o.geom.wkt) for o in Overlay.objects.all()}
    assert sorted(stored) == ["flood_100yr", "floodway"]
    assert stored["floodway"].equals(shapely.MultiPolygon([wider]))


def test_two_counties_flood_maps_in_one_zip_are_both_imported(land, tmp_path):
    hinds, madison = fema(tmp_path / "hinds", HINDS), fema(tmp_path / "madison", MADISON)
    path = tmp_path / "nfhl.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for county in (hinds, madison):
            for part in county.parent.iterdir():
                archive.write(part, f"{county.parent.name}/{part.name}")

    results = [import_layer(path, "flood-zone", "--layer", f"{county}/S_FLD_HAZ_AR.shp")
               for county in ("hinds", "madison")]  # fmt: skip

    assert [(r.exit_code, r.output.splitlines()[0]) for r in results] == [
        (0, "clt: imported 2 flood-zone polygons from layer hinds/S_FLD_HAZ_AR.shp of nfhl.zip"),
        (0, "clt: imported 2 flood-zone polygons from layer madison/S_FLD_HAZ_AR.shp of nfhl.zip"),
    ]
    assert sorted(Overlay.objects.values_list("source_file", "source_layer").distinct()) == [
        ("nfhl.zip", "hinds/S_FLD_HAZ_AR.shp"), ("nfhl.zip", "madison/S_FLD_HAZ_AR.shp")
    ]
    assert "V7" not in search(outside_flood=1)


def test_an_export_of_flood_zones_names_the_layers_its_polygons_came_from(client, tmp_path):
    path = tmp_path / "nfhl.gpkg"
    flood_layer(path, "flood_100yr", WEST.union(EAST))
    flood_layer(path, "floodway", WEST)
    for name in ("flood_100yr", "floodway"):
        assert import_layer(path, "flood-zone", "--layer", name).exit_code == 0

    response = client.get("/export/flood-zones.geojson")

    sources = json.loads(b"".join(response.streaming_content))["metadata"]["sources"]
    assert [(s["file"], s.get("layer"), s["features"]) for s in sources] == [
        ("nfhl.gpkg", "flood_100yr", 1), ("nfhl.gpkg", "floodway", 1)
    ]
