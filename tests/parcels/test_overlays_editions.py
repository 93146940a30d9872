"""Overlay files as they arrive over the years: the neighbouring county's flood map under FEMA's
same file name, a new edition under a new name, a second neighbourhood file spelling the
loaded names its own way; and rows the finder cannot use as given (a drainage channel under
1 m wide, a blank SFHA_TF, a blank neighbourhood name).

test_finder's land: V6, V7 and V8 are a row of three vacant lots, far east.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from parcels.metric import metric_srid
from parcels.models import Overlay
from tests.parcels import test_finder
from tests.parcels.test_finder import LAT, LON, SIDE, search
from tests.parcels.test_overlays_sources import (
    EAST,
    FAR_EAST,
    WEST,
    fema,
    import_layer,
    layer,
    stored,
    today,
)

pytestmark = pytest.mark.django_db

land = test_finder.land
V6 = shapely.box(LON + 0.01, LAT, LON + 0.01 + SIDE, LAT + SIDE)
V7 = shapely.box(LON + 0.01 + SIDE, LAT, LON + 0.01 + 2 * SIDE, LAT + SIDE)
EVERYWHERE = shapely.box(LON - 0.01, LAT - 0.01, LON + 0.05, LAT + 0.01)


def beside(n: int) -> shapely.Polygon:
    """A small square well clear of the lots, the `n`th along a row north of them."""
    west = LON + 0.001 * n
    return shapely.box(west, LAT + 0.003, west + 0.0005, LAT + 0.0035)


# --- the neighbouring county's map under the same file name ----------------------------------

COUNTY_LINE = LAT + 0.001
LAP_M = 0.2  # the line digitised twice, a little apart: Madison's map laps into Hinds's
HINDS_AT_THE_LINE = [shapely.box(LON + 0.0099, LAT - 0.0001, LON + 0.0111, COUNTY_LINE)]


@pytest.mark.parametrize("lap_m", [0, LAP_M], ids=["meeting", "lapping-0.2m"])
def test_the_neighbouring_countys_map_meeting_at_the_county_line_is_another_area(
    land, tmp_path, lap_m
):
    """FEMA clips each county's S_FLD_HAZ_AR at the county line, and a creek's flood zone
    on it meets the other county's there: their boxes meet, their areas do not."""
    south = COUNTY_LINE - lap_m / 110_900  # metres of latitude, in degrees
    madison = [shapely.box(LON + 0.0099, south, LON + 0.0111, COUNTY_LINE + 0.001)]
    assert import_layer(fema(tmp_path / "hinds", HINDS_AT_THE_LINE), "flood-zone").exit_code == 0
    hinds = list(Overlay.objects.values_list("pk", "name", "source_file"))

    again = import_layer(fema(tmp_path / "madison", madison), "flood-zone")
    replacing = import_layer(tmp_path / "madison" / "S_FLD_HAZ_AR.shp", "flood-zone",
                             "--replace")  # fmt: skip

    assert (again.exit_code, replacing.exit_code) == (1, 1)
    assert again.output == (
        "Error: S_FLD_HAZ_AR.shp: 1 flood-zone overlay from a file of this name is already in "
        f"the registry (imported {today()}), covering another area than this file. To keep "
        "both, rename this file after its area (with its .dbf, .shx and .prj), e.g. "
        "S_FLD_HAZ_AR_countyname.shp, and import it again. Nothing was imported\n"
    )
    assert "and they lie apart from this file's polygons: another area's map" in replacing.output
    assert list(Overlay.objects.values_list("pk", "name", "source_file")) == hinds
    assert "V7" not in search(outside_flood=1)  # Hinds's flood zone still keeps its lots out


# --- --replace finding nothing to replace -----------------------------------------------------


def test_replace_finding_nothing_of_the_file_name_is_refused_saying_where_overlays_come_from(
    tmp_path,
):
    """Following the advice for a new edition under a new name listed every area twice."""
    old = layer(tmp_path / "nbhd.geojson", {"name": ["Belhaven", "Fondren"]}, [WEST, EAST])
    assert import_layer(old, "neighbourhood").exit_code == 0
    new = layer(tmp_path / "nbhd_2026.geojson", {"name": ["Belhaven"]}, [WEST.union(EAST)])

    result = import_layer(new, "neighbourhood", "--replace")

    assert result.exit_code == 1
    assert result.output == (
        "Error: nbhd_2026.geojson: --replace found no neighbourhood overlays from a file named "
        "nbhd_2026.geojson to replace; neighbourhood overlays come from nbhd.geojson (2, "
        f"imported {today()}). To replace an earlier edition, import the new one under the "
        "earlier file's name, in its format (ogr2ogr converts one to another), with --replace: "
        "rename a GeoPackage or GeoJSON; rename each part of a shapefile (.shp, .dbf, .shx, "
        ".prj). To add it, import it without --replace. Nothing was imported\n"
    )
    assert stored() == [("Belhaven", "nbhd.geojson"), ("Fondren", "nbhd.geojson")]


def test_replace_into_an_empty_registry_is_refused_too(tmp_path):
    path = layer(tmp_path / "nbhd.geojson", {"name": ["Belhaven"]}, [WEST])

    result = import_layer(path, "neighbourhood", "--replace")

    assert result.exit_code == 1
    assert result.output == (
        "Error: nbhd.geojson: --replace found no neighbourhood overlays from a file named "
        "nbhd.geojson, nor any other neighbourhood overlays, to replace. To add it, import it "
        "without --replace. Nothing was imported\n"
    )
    assert not Overlay.objects.exists()


# --- neighbourhood names another file has, as the finder matches names -----------------------


def test_neighbourhood_names_matching_another_files_once_folded_are_said(land, tmp_path):
    trusts = layer(tmp_path / "neighborhoods.geojson",
                   {"name": ["Béthel", "O’Neal Park", "Fondren"]}, [V6, WEST, EAST])  # fmt: skip
    assert import_layer(trusts, "neighbourhood").exit_code == 0
    countys = layer(tmp_path / "county_nbhd.geojson",
                    {"name": ["Bethel", "ONeal Park", "Fondren", "Virden"]},
                    [V7, WEST, EAST, FAR_EAST])  # fmt: skip

    result = import_layer(countys, "neighbourhood")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "clt: imported 4 neighbourhood polygons from county_nbhd.geojson",
        "clt: 3 neighbourhood names of this file match names from other files as the finder "
        "matches names (case, accents, apostrophes, spacing and dashes aside): 'Bethel' (as "
        "'Béthel' in neighborhoods.geojson), 'ONeal Park' (as 'O’Neal Park' in "
        "neighborhoods.geojson), "
        "'Fondren' (also in neighborhoods.geojson). The finder reads each such name as one "
        "neighbourhood: --neighbourhood finds the lots in both. If they are the same place, "
        "keep one file: import the one to keep under the other's file name with --replace",
    ]
    assert sorted(search(neighbourhood="Béthel")) == ["V6", "V7"]  # what the note warns of


# --- polygons the finder cannot use as given --------------------------------------------------


def channel(width_m: float) -> shapely.Polygon:
    """A drainage channel `width_m` wide running north-south through the middle of V7, in
    degrees."""
    to_m = Transformer.from_crs(4326, metric_srid(), always_xy=True)
    x, y = to_m.transform(*V7.centroid.coords[0])
    metric = shapely.box(x - width_m / 2, y - 40, x + width_m / 2, y + 40)
    return gpd.GeoSeries([metric], crs=metric_srid()).to_crs(4326)[0]


def test_a_flood_zone_narrower_than_1_m_is_said_to_keep_no_lot_out(land, tmp_path):
    path = layer(tmp_path / "flood_channel.gpkg", {"FLD_ZONE": ["AE", "AE"]},
                 [V6, channel(0.8)], crs=2255)  # fmt: skip

    result = import_layer(path, "flood-zone")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "clt: imported 2 flood-zone polygons from flood_channel.gpkg",
        "clt: 1 polygon narrower than 1 m (row 2): a lot is in an overlay when it overlaps it "
        "by more than 0.5 m, and nothing is left of it shrunk by 0.5 m, so it filters no lot",
    ]
    found = search(outside_flood=1)
    assert "V6" not in found and "V7" in found


def test_a_channel_just_over_1_m_wide_filters_and_is_not_said(land, tmp_path):
    path = layer(tmp_path / "flood_channel.gpkg", {"FLD_ZONE": ["AE"]}, [channel(1.1)],
                 crs=2255)  # fmt: skip

    result = import_layer(path, "flood-zone")

    assert result.output == "clt: imported 1 flood-zone polygon from flood_channel.gpkg\n"
    assert "V7" not in search(outside_flood=1)


def fema_flags(path, flags: list, zones: list | None, polygons: list):
    """A GeoPackage of S_FLD_HAZ_AR's SFHA_TF (and FLD_ZONE unless `zones` is None)."""
    columns = {"SFHA_TF": flags} | ({"FLD_ZONE": zones} if zones is not None else {})
    return layer(path, columns, polygons, crs=2255)


@pytest.mark.parametrize(
    "flags",
    [["F", None, "  ", "F"], pd.array([0, None, None, 0], dtype="Int64")],
    ids=["text", "integer"],
)
def test_a_blank_sfha_flag_is_judged_by_the_zone_code(land, tmp_path, flags):
    """Zones A and AE are the special flood hazard area whatever the flag leaves unsaid."""
    path = fema_flags(tmp_path / "nfhl.gpkg", flags, ["X", "AE", "A", "X"],
                      [EVERYWHERE, V7, beside(0), V6])  # fmt: skip

    result = import_layer(path, "flood-zone")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "clt: imported 2 flood-zone polygons from nfhl.gpkg",
        "clt: left out zone X ×2: outside FEMA's special flood hazard area (SFHA_TF = T; where "
        "it is blank, FLD_ZONE A or V zones); to import every zone, add --all-zones",
    ]
    assert sorted(Overlay.objects.values_list("name", flat=True)) == ["A", "AE"]
    found = search(outside_flood=1)
    assert "V7" not in found and "V6" in found


def test_a_map_whose_sfha_flags_are_all_blank_keeps_its_a_and_v_zones(land, tmp_path):
    path = fema_flags(tmp_path / "nfhl.gpkg", [None, None], ["X", "AE"], [EVERYWHERE, V7])

    result = import_layer(path, "flood-zone")

    assert result.exit_code == 0, result.output
    assert [o.name for o in Overlay.objects.all()] == ["AE"]
    assert "V7" not in search(outside_flood=1)


@pytest.mark.parametrize(
    ("zones", "why"),
    [(None, "whose SFHA_TF is blank, in a file without FLD_ZONE"),
     (["AE", None], "whose SFHA_TF and FLD_ZONE are blank")],
    ids=["no-zone-column", "zone-blank-too"],
)  # fmt: skip
def test_a_row_saying_neither_flag_nor_zone_is_left_out_and_why_is_said(tmp_path, zones, why):
    path = fema_flags(tmp_path / "nfhl.gpkg", ["T", None], zones, [V7, beside(0)])

    result = import_layer(path, "flood-zone")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == [
        "clt: imported 1 flood-zone polygon from nfhl.gpkg",
        f"clt: left out 1 polygon (row 2) {why}: nothing says it lies in the special flood "
        "hazard area; to import every zone, add --all-zones",
    ]  # (without FLD_ZONE, the polygons are also said to be named by row)


def test_a_neighbourhood_file_with_blank_names_is_refused_naming_the_rows(tmp_path):
    path = layer(tmp_path / "nbhd_blank.gpkg", {"NAME": ["Georgetown", "   ", None]},
                 [WEST, EAST, FAR_EAST])  # fmt: skip

    result = import_layer(path, "neighbourhood")

    assert result.exit_code == 1
    assert result.output == (
        "Error: nbhd_blank.gpkg: rows 2, 3: no name in column NAME; a neighbourhood is found "
        "by its name (the finder's --neighbourhood, the public map). Fill the names in or "
        "remove those rows. Nothing was imported\n"
    )
    assert not Overlay.objects.exists()


def test_other_kinds_name_a_blank_row_by_its_number_and_say_so(tmp_path):
    path = layer(tmp_path / "zoning.gpkg", {"ZONE": ["R-1", ""]}, [WEST, EAST])

    result = import_layer(path, "zoning")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "clt: imported 2 zoning polygons from zoning.gpkg",
        "clt: row 2: no name in column ZONE; named by row (zoning 2)",
    ]
    assert stored() == [("R-1", "zoning.gpkg"), ("zoning 2", "zoning.gpkg")]
