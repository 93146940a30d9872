"""Overlay layers (clt import-layer) come in whole or not at all, and a refusal names the row."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import shapely.affinity
from click.testing import CliRunner

from clt.cli import main
from parcels.models import Overlay

pytestmark = pytest.mark.django_db

LON, LAT = -90.2010, 32.2990
SQUARE = shapely.box(LON, LAT, LON + 0.001, LAT + 0.001)
FLAT = shapely.Polygon([(LON, LAT), (LON + 0.001, LAT), (LON + 0.002, LAT), (LON, LAT)])


def import_layer(path: Path, *args: str):
    return CliRunner().invoke(main, ["import-layer", str(path), "--kind", "flood-zone", *args])


def geojson(path: Path, names: list[str], geometries: list, encoding: str = "utf-8") -> Path:
    features = [
        {"type": "Feature", "properties": {"name": name},
         "geometry": shapely.geometry.mapping(geometry)}
        for name, geometry in zip(names, geometries, strict=True)
    ]  # fmt: skip
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def existing():
    """Overlays already imported from the files' names, which --replace would delete."""
    for name in ("flood.csv", "flood.geojson"):
        Overlay.objects.create(kind="flood-zone", name="AE", source_file=name,
                               geom=shapely.to_wkt(shapely.MultiPolygon([SQUARE])))  # fmt: skip
    return list(Overlay.objects.order_by("pk").values_list("pk", "source_file"))


def test_a_csv_row_with_invalid_wkt_is_refused_naming_the_row(tmp_path, existing):
    path = tmp_path / "flood.csv"
    path.write_text(f'name,WKT\nAE,"{SQUARE.wkt}"\nX,"POLYGON((-90.2 32.3,"\n')

    result = import_layer(path, "--replace")

    assert result.exit_code == 1
    assert result.output == (
        "Error: flood.csv: row 2: invalid WKT; fix or remove it. Nothing was imported\n"
    )
    assert list(Overlay.objects.order_by("pk").values_list("pk", "source_file")) == existing


def test_a_polygon_without_area_is_left_out_naming_the_row(tmp_path, existing):
    """No lot can be in it; a FEMA map with one such sliver was refused whole (QA s19)."""
    moved = shapely.affinity.translate(SQUARE, xoff=0.0001)  # a new edition of the square
    path = geojson(tmp_path / "flood.geojson", ["AE", "flat"], [moved, FLAT])

    result = import_layer(path, "--replace")

    assert result.exit_code == 0, result.output
    assert "clt: left out 1 polygon with no area (row 2: under 1 m², or nothing left once " \
        "made valid): no lot can be in it\n" in result.output
    assert result.output.startswith("clt: imported 1 flood-zone polygon from flood.geojson\n")
    assert Overlay.objects.filter(source_file="flood.geojson").count() == 1


def test_a_file_of_polygons_without_area_is_refused(tmp_path, existing):
    path = geojson(tmp_path / "flood.geojson", ["flat"], [FLAT])

    result = import_layer(path, "--replace")

    assert result.exit_code == 1
    assert result.output == (
        "Error: flood.geojson: no polygon has an area (row 1: under 1 m², or nothing left once "
        "made valid); there is nothing to import. Nothing was imported\n"
    )
    assert list(Overlay.objects.order_by("pk").values_list("pk", "source_file")) == existing


def test_an_srid_postgis_does_not_know_is_refused(tmp_path):
    path = geojson(tmp_path / "flood.geojson", ["AE"], [SQUARE])

    result = import_layer(path, "--srid", "2218")

    assert result.exit_code == 1
    assert result.output == "Error: EPSG:2218 is not in PostGIS's spatial_ref_sys\n"
    assert Overlay.objects.count() == 0


def test_text_that_is_not_utf8_is_refused_naming_the_file_and_row(tmp_path):
    path = geojson(tmp_path / "flood.geojson", ["AE", "Café"], [SQUARE, SQUARE], "latin-1")

    result = import_layer(path)

    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: flood.geojson: the text in row 2 (column name) is not UTF-8 ("
    )
    assert result.output.endswith("Save the file as UTF-8 and import it again\n")
    assert Overlay.objects.count() == 0


def test_an_empty_layer_is_refused(tmp_path):
    path = tmp_path / "flood.gpkg"
    empty = gpd.GeoDataFrame({"name": []}, geometry=gpd.GeoSeries([], crs=4326))
    empty.to_file(path, layer="flood", geometry_type="Polygon")

    result = import_layer(path)

    assert result.exit_code == 1
    assert result.output == (
        "Error: flood.gpkg: the layer has no features; there is nothing to import\n"
    )


def test_the_same_file_imported_again_is_refused_unless_replacing(tmp_path):
    path = geojson(tmp_path / "flood.geojson", ["AE", "X"], [SQUARE, SQUARE.buffer(0.001)])
    assert import_layer(path).exit_code == 0

    again = import_layer(path)

    assert again.exit_code == 1
    assert "2 flood-zone overlays from a file of this name are already" in again.output
    assert "add --replace. Nothing was imported" in again.output
    assert Overlay.objects.count() == 2  # not 4: each flood zone listed once
    assert import_layer(path, "--replace").exit_code == 0
    assert Overlay.objects.count() == 2
    beside = shapely.box(LON + 0.002, LAT, LON + 0.003, LAT + 0.001)
    other = geojson(tmp_path / "flood-2027.geojson", ["AO"], [beside])
    assert import_layer(other).exit_code == 0  # another file: more areas, added
    assert Overlay.objects.count() == 3
