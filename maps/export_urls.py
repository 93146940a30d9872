"""Downloads: `/export/<layer>.geojson|.gpkg|.csv|.shp.zip`, and a CSV's CSVW metadata.

The views are thin: the same access rule and filters as the OGC API items
(`bbox`, `bbox-crs`, `datetime`, `<field>=<value>`, plus `crs` for everything but GeoJSON),
then `maps.exporting` does the work.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import re_path, reverse

from maps import exporting
from maps.exporting import Export
from maps.ogcapi import crs as crs_registry
from maps.ogcapi.params import ParamError, check_known, parse_crs, parse_filter, single
from maps.ogcapi.responses import layer_or_problem, ogc_view

app_name = "export"

# "application/geopackage+sqlite3" is GeoPackage's registered media type (OGC 12-128): the file
# format is an SQLite container. The registry itself is PostGIS only.
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3",
    "shp.zip": "application/zip",
}
# The same without parameters (text/csv's charset): what links and API descriptions name.
MEDIA_TYPE_ESSENCES = {suffix: media.split(";")[0] for suffix, media in MEDIA_TYPES.items()}
FILTER_PARAMS = ("bbox", "bbox-crs", "datetime", "crs")


def _export(request: HttpRequest, layer_name: str, *, geojson: bool) -> Export:
    layer = layer_or_problem(request, layer_name)
    allowed = [p for p in FILTER_PARAMS if p != "datetime" or layer.datetime_field]
    check_known(request.GET, [*allowed, *layer.field_names])
    crs = parse_crs(single(request.GET, "crs"))
    if geojson and crs != crs_registry.CRS84:
        raise ParamError("crs", "GeoJSON is always CRS84 longitude/latitude (RFC 7946)")
    return Export(layer, parse_filter(layer, request.GET), crs)


@ogc_view
def download(request: HttpRequest, layer_name: str, suffix: str) -> HttpResponse:
    """The layer as a file; GeoJSON and CSV stream as PostGIS writes them."""
    export = _export(request, layer_name, geojson=suffix == "geojson")
    filename = f"{export.layer.name}.{suffix}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if suffix == "csv":
        metadata = reverse("export:csv-metadata", args=(export.layer.name,))
        if request.GET.urlencode():
            metadata += "?" + request.GET.urlencode()
        headers["Link"] = (
            f'<{request.build_absolute_uri(metadata)}>; rel="describedby"; '
            'type="application/csvm+json"'
        )
        return StreamingHttpResponse(
            exporting.csv_chunks(export), content_type=MEDIA_TYPES[suffix], headers=headers
        )
    meta = exporting.provenance(export, suffix.removesuffix(".zip"))
    if suffix == "geojson":
        return StreamingHttpResponse(
            exporting.geojson_chunks(export, meta),
            content_type=MEDIA_TYPES[suffix],
            headers=headers,
        )
    return _file_response(export, suffix, meta, filename)


@ogc_view
def csv_metadata(request: HttpRequest, layer_name: str) -> HttpResponse:
    """The CSVW metadata (with provenance) of the CSV download with the same filters."""
    export = _export(request, layer_name, geojson=False)
    csv_url = reverse("export:download", args=(export.layer.name, "csv"))
    if request.GET.urlencode():
        csv_url += "?" + request.GET.urlencode()
    meta = exporting.provenance(export, "csv")
    document = exporting.csvw_metadata(export, meta, request.build_absolute_uri(csv_url))
    return HttpResponse(json.dumps(document, indent=2), content_type="application/csvm+json")


def _file_response(export: Export, suffix: str, meta: dict, filename: str) -> FileResponse:
    """Write with GDAL to a temporary file, then stream it; the file is gone once sent."""
    folder = tempfile.mkdtemp(prefix="clt-export-")
    path = Path(folder) / filename
    try:
        if suffix == "gpkg":
            exporting.write_gdal(export, "gpkg", path, meta)
        else:
            exporting.write_shapefile_zip(export, path, meta)
        handle = path.open("rb")
    finally:
        # Unlinked while open: the data lives until the response closes the handle.
        for leftover in Path(folder).iterdir():
            leftover.unlink()
        os.rmdir(folder)
    return FileResponse(
        handle, as_attachment=True, filename=filename, content_type=MEDIA_TYPES[suffix]
    )


urlpatterns = [
    re_path(
        r"^(?P<layer_name>[-\w]+)\.(?P<suffix>geojson|gpkg|csv|shp\.zip)$",
        download,
        name="download",
    ),
    re_path(r"^(?P<layer_name>[-\w]+)\.csv-metadata\.json$", csv_metadata, name="csv-metadata"),
]
