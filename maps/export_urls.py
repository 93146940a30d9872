"""Downloads: `/export/<layer>.geojson|.gpkg|.csv|.shp.zip`, and a CSV's CSVW metadata.

The views are thin: the same access rule and filters as the OGC API items
(`bbox`, `bbox-crs`, `datetime`, `<field>=<value>`, plus `crs` for everything but GeoJSON),
then `maps.exporting` does the work. A public layer's file is built once per data version and
served from disk after that (`maps.export_cache`); a staff layer's is written for each request.
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import partial
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import re_path, reverse

from maps import export_cache, exporting
from maps.exporting import Export
from maps.ogcapi import crs as crs_registry
from maps.ogcapi.conditional import ETAG, conditional
from maps.ogcapi.params import ParamError, check_known, parse_crs, parse_filter, single
from maps.ogcapi.responses import Problem, layer_or_problem, ogc_view

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


def _revalidate(request: HttpRequest, export: Export, representation: str) -> None:
    """A 304 to a client whose copy is current (maps.ogcapi.conditional), so that a GeoPackage
    is not written again for nothing. The versions are read here, before the export reads any
    data; the provenance also reads the import runs the features came from."""
    extra = exporting.provenance_tables(export.layer)
    conditional(request, [export.layer], representation=representation, extra_tables=extra)


@ogc_view
def download(request: HttpRequest, layer_name: str, suffix: str) -> HttpResponse:
    """The layer as a file: a public layer's kept one (`_kept_file`); a staff layer's written
    now, GeoJSON and CSV streamed as PostGIS writes them."""
    export = _export(request, layer_name, geojson=suffix == "geojson")
    _revalidate(request, export, suffix)
    filename = f"{export.layer.name}.{suffix}"
    headers = {}
    if suffix == "csv":
        metadata = reverse("export:csv-metadata", args=(export.layer.name,))
        if request.GET.urlencode():
            metadata += "?" + request.GET.urlencode()
        headers["Link"] = (
            f'<{request.build_absolute_uri(metadata)}>; rel="describedby"; '
            'type="application/csvm+json"'
        )
    if export.layer.is_public:
        return _kept_file(request, export, suffix, filename, headers)
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if suffix == "csv":
        return StreamingHttpResponse(
            exporting.csv_chunks(export), content_type=MEDIA_TYPES[suffix], headers=headers
        )
    if suffix == "geojson":
        return StreamingHttpResponse(
            exporting.geojson_chunks(export, exporting.provenance(export, suffix)),
            content_type=MEDIA_TYPES[suffix],
            headers=headers,
        )
    return _file_response(export, suffix, filename)


@ogc_view
def csv_metadata(request: HttpRequest, layer_name: str) -> HttpResponse:
    """The CSVW metadata (with provenance) of the CSV download with the same filters."""
    export = _export(request, layer_name, geojson=False)
    _revalidate(request, export, "csv-metadata")
    csv_url = reverse("export:download", args=(export.layer.name, "csv"))
    if request.GET.urlencode():
        csv_url += "?" + request.GET.urlencode()
    meta = exporting.provenance(export, "csv")
    document = exporting.csvw_metadata(export, meta, request.build_absolute_uri(csv_url))
    return HttpResponse(json.dumps(document, indent=2), content_type="application/csvm+json")


def _kept_file(
    request: HttpRequest, export: Export, suffix: str, filename: str, headers: dict
) -> FileResponse:
    """The file from the export cache, under this answer's ETag: built by this request if no
    other built it already; a 503 while too many others are being built."""
    key = export_cache.key_for(getattr(request, ETAG))
    write = partial(exporting.write_download, export, suffix)
    try:
        handle = export_cache.open_or_build(key, suffix, write)
    except export_cache.Busy as exc:
        raise Problem(
            503,
            "Service unavailable",
            "A download is being prepared; try again in a minute.",
            headers={"Retry-After": str(export_cache.RETRY_AFTER_S), "Cache-Control": "no-store"},
        ) from exc
    return FileResponse(
        handle,
        as_attachment=True,
        filename=filename,
        content_type=MEDIA_TYPES[suffix],
        headers=headers,
    )


def _file_response(export: Export, suffix: str, filename: str) -> FileResponse:
    """Write with GDAL to a temporary file, then stream it; the file is gone once sent."""
    folder = tempfile.mkdtemp(prefix="clt-export-")
    path = Path(folder) / filename
    try:
        exporting.write_download(export, suffix, path)
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
