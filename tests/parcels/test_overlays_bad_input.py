"""Overlay layers: attributes kept as JSON holds them, a name for every polygon, and large
layers written in batches with a progress bar."""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from clt.cli import main
from parcels.models import Overlay
from tests.parcels.test_overlays import LAT, LON, SQUARE, geojson, import_layer

pytestmark = pytest.mark.django_db


def test_a_null_name_falls_back_and_lists_and_objects_are_kept_as_json(tmp_path):
    properties = [
        {"name": None, "owners": ["CITY", "COUNTY"], "meta": {"source": "FEMA", "year": 2020}},
        {"name": ["AE", "X"], "owners": ["STATE"], "meta": {"source": "FEMA", "year": 2021}},
    ]
    features = [{"type": "Feature", "properties": p, "geometry": SQUARE.__geo_interface__}
                for p in properties]  # fmt: skip
    path = tmp_path / "flood.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    result = CliRunner().invoke(main, ["import-layer", str(path), "--kind", "flood-zone"])

    assert result.exit_code == 0, result.output
    kept = list(Overlay.objects.order_by("pk").values_list("name", "attributes"))
    assert [name for name, _ in kept] == ["flood-zone 1", "AE; X"]
    assert kept[0][1]["owners"] == ["CITY", "COUNTY"]
    assert kept[1][1]["meta"] == {"source": "FEMA", "year": 2021}


@pytest.mark.parametrize("quiet", [False, True], ids=["progress", "quiet"])
def test_a_large_layer_is_imported_in_batches_with_progress_unless_quiet(tmp_path, quiet):
    squares = [shapely.box(LON + i * 1e-4, LAT, LON + (i + 1) * 1e-4, LAT + 1e-4)
               for i in range(2_001)]  # more than one batch  # fmt: skip
    frame = gpd.GeoDataFrame({"name": [f"Z{i}" for i in range(2_001)]}, geometry=squares,
                             crs=4326)  # fmt: skip
    path = tmp_path / "zones.gpkg"
    frame.to_file(path, engine="pyogrio")

    result = CliRunner().invoke(
        main, ["import-layer", str(path), "--kind", "zoning", *(["--quiet"] if quiet else [])]
    )

    assert result.exit_code == 0, result.output
    assert ("/2001 [" in result.output) is not quiet  # the bar
    assert result.output.endswith("clt: imported 2,001 zoning polygons from zones.gpkg\n")
    assert list(Overlay.objects.order_by("pk").values_list("name", flat=True)[1999:]) == [
        "Z1999", "Z2000",
    ]  # fmt: skip


def test_the_apps_own_shapefile_download_imports_again_past_its_provenance_json(tmp_path):
    folder = tmp_path / "download"
    folder.mkdir()
    zones = gpd.GeoDataFrame({"name": ["AE", "X"]}, geometry=[SQUARE, SQUARE.buffer(0.001)],
                             crs=4326)  # fmt: skip
    zones.to_file(folder / "flood_zones.shp", engine="pyogrio")
    provenance = {  # as maps.exporting writes it beside the shapefile
        "layer": "flood-zones", "format": "shp", "crs": "http://www.opengis.net/def/crs/EPSG/0/4326",
        "fields": [{"name": "name", "type": "text", "title": "Name", "shapefile_name": "name"}],
        "sources": [],
    }  # fmt: skip
    archive = tmp_path / "fz.shp.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in sorted(folder.iterdir()):
            z.write(part, part.name)
        z.writestr("provenance.json", json.dumps(provenance, indent=2))

    result = import_layer(archive)

    assert result.exit_code == 0, result.output
    assert sorted(Overlay.objects.values_list("name", flat=True)) == ["AE", "X"]


def test_a_layer_mixing_lines_with_polygons_is_refused_naming_the_row_and_its_type(tmp_path):
    edge = shapely.LineString([(LON, LAT), (LON + 0.001, LAT)])
    path = geojson(tmp_path / "flood_mixed.geojson", ["AE", "X", "edge"], [SQUARE, SQUARE, edge])

    result = import_layer(path)

    assert result.exit_code == 1
    assert result.output == (
        "Error: flood_mixed.geojson: mixed geometry types (LineString ×1, Polygon ×2); row 3 is "
        "a LineString. Overlays must be polygons: export the polygon layer alone, then import "
        "again. Nothing was imported\n"
    )
    assert Overlay.objects.count() == 0
