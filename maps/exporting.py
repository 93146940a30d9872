"""Downloads of a layer: GeoJSON and CSV streamed from PostGIS; GeoPackage and Shapefile by GDAL.

Every export reads the layer through `maps.ogcapi.query.layer_sql` (its whitelisted SELECT with
the OGC items filters) and carries its provenance: which layer, which filters, when, from which
county files.

* GeoJSON (RFC 7946: CRS84 longitude/latitude, outer rings counter-clockwise, 7 decimals, no
  `crs` member) is written row by row by PostGIS and streamed through `COPY ... TO STDOUT`: the
  app holds one chunk (~256 kB) at a time, whatever the layer's size. Provenance is the
  top-level foreign member `metadata` (RFC 7946 §6.1), written before the features.
* CSV is streamed the same way: `id`, the fields, `WKT` (the geometry), and `lon`/`lat` of
  `ST_PointOnSurface` (a point inside the feature, unlike the centroid). Provenance follows
  W3C CSV on the Web: a sidecar `<file>.csv-metadata.json` (the name CSVW looks for), linked
  from the HTTP response by `Link: <...>; rel="describedby"`. Comment lines inside the CSV
  would break the readers planners use (Excel, GDAL, pandas).
* GeoPackage and zipped Shapefile are written by `ogr2ogr` reading PostGIS directly (its own
  connection and cursor, so the app's memory stays flat), into a file that is then sent.
  GeoPackage provenance is the layer's `gpkg_contents.description` plus
  the full record as dataset metadata (`gpkg_metadata`); a Shapefile has no metadata slot, so
  the zip carries `provenance.json` beside it, with each field's Shapefile name (at most 10
  characters: `LayerField.shapefile_name`) beside its full one.

On the web, a public layer's download of any format is written to a file once per data
version and kept (maps/export_cache.py): a slow client then reads a file, not a COPY holding one
of the pool's database connections. A staff layer's is written for each request.

Fields keep their declared types in every format: money (`decimal`) is a JSON number with its
cents as PostgreSQL writes them (`562.29`, `0.00`), a GeoPackage REAL, a Shapefile N(14,2) and a
CSVW `decimal`; a `boolean` is JSON true/false, a GeoPackage boolean, a Shapefile integer 1/0 (the
DBF logical type is not written by GDAL) and `true`/`false` in a CSV. As text, `max(arrears)` or
`arrears > 500` in a GIS compared strings.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PureWindowsPath
from typing import BinaryIO

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max
from django.db.models.expressions import RawSQL

from clt.spreadsheets import FORMULA_START
from maps.export_cache import give_back_pooled_connection
from maps.layers import Layer, LayerField
from maps.ogcapi import crs as crs_registry
from maps.ogcapi.crs import Crs
from maps.ogcapi.params import FeatureFilter
from maps.ogcapi.query import feature_json_sql, geometry_sql, layer_sql

FORMATS = ("geojson", "gpkg", "csv", "shp")
# Formats written front to back, which a pipe can take: GDAL writes a GeoPackage (a SQLite
# database) and a Shapefile (a set of files) in place, going back over what it wrote.
STREAMABLE = ("geojson", "csv")
CHUNK_BYTES = 256 * 1024
# COPY's CSV mode with control characters as delimiter and quote passes JSON text through
# untouched (PostgreSQL's JSON escapes every control character), where the text mode would
# double every backslash.
COPY_RAW = "WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"
SQL_TYPES = {
    "integer": "integer",
    "number": "double precision",
    # The money columns' own precision (parcels.models.money): GDAL carries a numeric's width
    # and scale into the Shapefile (N 14.2), where a bare numeric became N 24.15.
    "decimal": "numeric(14, 2)",
    "boolean": "boolean",
    "date": "date",
}
CSVW_TYPES = {
    "integer": "integer",
    "number": "double",
    "decimal": "decimal",
    "boolean": "boolean",
    "date": "date",
}


class ExportError(ValueError):
    """An export that cannot be made (bad format, GDAL failed); the message says why."""


@dataclass(frozen=True)
class Export:
    """What to export: a layer, a filter and an output CRS (GeoJSON is always CRS84)."""

    layer: Layer
    filter: FeatureFilter = FeatureFilter()
    crs: Crs = crs_registry.CRS84

    def sql(self) -> tuple[str, list]:
        return layer_sql(self.layer, self.filter)


# --- provenance ------------------------------------------------------------------------


def provenance(export: Export, fmt: str) -> dict:
    """Where an export comes from: layer, filters, CRS, time, software and county files; the
    day its features are as of, for a layer built for one (held now, leases in force); and, in
    a Shapefile's, each field's name there."""
    layer = export.layer
    return {
        "layer": layer.name,
        "title": layer.title,
        "description": layer.description,
        "audience": layer.audience.value,
        "publisher": settings.CLT_NAME,
        "format": fmt,
        "crs": crs_registry.CRS84.uri if fmt == "geojson" else export.crs.uri,
        "filters": export.filter.describe(),
        **({"as_of": layer.as_of.isoformat()} if layer.as_of else {}),
        "fields": [_field_record(f, fmt) for f in layer.fields],
        "generated_at": _iso(dt.datetime.now(dt.UTC)),
        "generator": f"clt {clt_version()}",
        "sources": source_imports(export),
    }


def _field_record(field: LayerField, fmt: str) -> dict:
    """A field as provenance describes it; in a Shapefile's, with its (short) name there."""
    record = {"name": field.name, "type": field.type, "title": field.title}
    if fmt == "shp":
        record["shapefile_name"] = field.shapefile_name
        if field.type == "boolean":
            record["shapefile_values"] = "1 = true, 0 = false"
    return record


def source_imports(export: Export) -> list[dict]:
    """The imports (county files) the exported features came from, with counts and dates.

    Parcels name their `import_run` (file, checksum, when); other models their `source_file`
    (and `source_layer`: which of a file's layers, when it holds several).
    A layer made of parcels (the leases) names the imports of its features' parcels, with how
    many of the exported features each drew parcels from (`features`) and how many parcels
    (`parcels`): a lease whose parcels came from two files is counted under both.
    """
    layer = export.layer
    model = _source_model(layer)
    fields = {f.name for f in model._meta.get_fields()}
    keys = [k for k in ("import_run", "source_file", "source_layer") if k in fields]
    if not keys:
        return []
    updated = next((Max(k) for k in ("updated_at", "imported_at") if k in fields), None)
    sql, params = export.sql()
    # MATERIALIZED: the layer's query runs once. As a plain IN subquery, stale statistics (a
    # table the planner believes holds one row) led PostgreSQL to re-run it for every parcel in
    # a nested-loop semi-join: 226 s for a 385-parcel layer.
    exported = (
        f"WITH exported AS MATERIALIZED (SELECT f.id FROM ({sql}) AS f) SELECT id FROM exported"
    )
    if layer.parts is None:
        records = model.objects.filter(pk__in=RawSQL(exported, params))
        counts = {"features": Count("pk")}
    else:
        records = layer.parts().filter(part_of__in=RawSQL(exported, params))
        counts = {
            "features": Count("part_of", distinct=True),
            "parcels": Count("pk", distinct=True),  # a co-op's lots under a lease per unit: once
        }
    rows = (
        records.order_by()
        .values(*keys)
        .annotate(**counts, **({"last_updated": updated} if updated else {}))
        .order_by(*keys)
    )
    runs = _import_runs({row.get("import_run") for row in rows} - {None})
    sources = []
    for row in rows:
        run = runs.get(row.get("import_run"))
        source = {
            "import": run.pk if run else None,
            # A file's name only: a staff member's local folders are nobody's business.
            "file": _basename(run.source_file if run else row.get("source_file")),
            "features": row["features"],
            **({"parcels": row["parcels"]} if "parcels" in row else {}),
        }
        if row.get("source_layer"):
            source["layer"] = row["source_layer"]
        if run:
            source["sha256"] = run.source_sha256
            source["imported_at"] = _iso(run.finished_at or run.started_at)
        if row.get("last_updated"):
            source["last_updated"] = _iso(row["last_updated"])
        sources.append(source)
    return sources


def provenance_tables(layer: Layer) -> frozenset[str]:
    """The tables `source_imports` reads besides the layer's own: the import runs its features
    name (a run's file, checksum and finish time are in every export's provenance)."""
    model = _source_model(layer)
    run = next((f for f in model._meta.get_fields() if f.name == "import_run"), None)
    return frozenset({run.related_model._meta.db_table}) if run else frozenset()


def _source_model(layer: Layer):
    """The model whose records name the files a layer's features came from: its features',
    or, for a layer made of parcels (the leases), the parcels'."""
    return (layer.parts or layer.queryset)().model


def _import_runs(ids: set) -> dict:
    if not ids:
        return {}
    from parcels.models import ImportRun

    return ImportRun.objects.in_bulk(list(ids))


def _basename(path: str | None) -> str | None:
    return PureWindowsPath(path).name if path else None


def _iso(moment: dt.datetime | None) -> str | None:
    return (
        moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        if moment
        else None
    )


def clt_version() -> str:
    """The installed app's version, as provenance names the generator."""
    try:
        return version("clt")
    except PackageNotFoundError:
        return "unknown"


# --- GeoJSON and CSV: streamed from PostGIS -------------------------------------------


def geojson_chunks(export: Export, meta: dict) -> Iterator[bytes]:
    """A FeatureCollection, in chunks: the head, the features as PostGIS writes them, the tail."""
    sql, params = export.sql()
    features = f"SELECT {feature_json_sql(export.layer, crs_registry.CRS84)} FROM ({sql}) AS f"
    head = '{"type":"FeatureCollection","metadata":' + json.dumps(meta) + ',"features":[\n'
    yield head.encode()
    separator = b""
    for block in _copy_rows(f"COPY ({features}) TO STDOUT {COPY_RAW}", params):
        # Rows end in "\n"; features are separated by ",\n".
        yield separator + block[:-1].replace(b"\n", b",\n") + b"\n"
        separator = b","
    yield b"]}\n"


def csv_cell_sql(name: str, field_type: str) -> str:
    """The column as a CSV cell, made safe in SQL as `clt.spreadsheets.spreadsheet_safe` makes
    a cell in Python: a text value that would start a formula gets a leading apostrophe."""
    column = f'f."{name}"'
    if field_type == "boolean":  # COPY writes t/f; CSVW and spreadsheets read true/false
        return f'{column}::text AS "{name}"'
    if field_type != "string":
        return column
    return (
        f"CASE WHEN {column} ~ '{FORMULA_START}' THEN '''' || {column} "
        f'ELSE {column} END AS "{name}"'
    )


def csv_chunks(export: Export) -> Iterator[bytes]:
    """The layer as CSV with a header: id, fields, WKT (x = easting or longitude), lon, lat."""
    sql, params = export.sql()
    cells = (csv_cell_sql(f.name, f.type) for f in export.layer.fields)
    columns = ", ".join(["f.id", *cells])
    decimals = int(export.crs.decimals)
    # WKT in a CSV is x = longitude in every CRS, as GDAL and QGIS read it; the OGC API's axis
    # order put Jackson at x = 32, y = -90 (and disagreed with the file's own lon/lat columns).
    geometry = geometry_sql(export.crs, axis_order=False)
    select = (
        f'SELECT {columns}, ST_AsText({geometry}, {decimals}) AS "WKT", '
        "round(ST_X(s.p)::numeric, 7) AS lon, round(ST_Y(s.p)::numeric, 7) AS lat "
        f"FROM ({sql}) AS f CROSS JOIN LATERAL (SELECT ST_PointOnSurface(f.geom) AS p) AS s"
    )
    yield from _copy_rows(f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)", params)


def csvw_metadata(export: Export, meta: dict, csv_url: str) -> dict:
    """The CSV's W3C CSVW metadata document, with the provenance as a note."""
    columns = [
        {
            "name": "id",
            "titles": "id",
            "datatype": "integer",
            "dc:description": export.layer.id_title,
        },
        *(
            {
                "name": f.name,
                "titles": f.name,
                "datatype": CSVW_TYPES.get(f.type, "string"),
                "dc:description": f.title,
            }
            for f in export.layer.fields
        ),
        {
            "name": "WKT",
            "titles": "WKT",
            "datatype": "string",
            "dc:description": f"The geometry as WKT in {export.crs.uri}, {_x_first(export.crs)}",
        },
        {
            "name": "lon",
            "titles": "lon",
            "datatype": "double",
            "dc:description": "Longitude (CRS84) of a point on the feature's surface",
        },
        {
            "name": "lat",
            "titles": "lat",
            "datatype": "double",
            "dc:description": "Latitude (CRS84) of a point on the feature's surface",
        },
    ]
    return {
        "@context": "http://www.w3.org/ns/csvw",
        "url": csv_url,
        "dc:title": export.layer.title,
        "dc:description": export.layer.description,
        "dc:publisher": settings.CLT_NAME,
        "dc:created": meta["generated_at"],
        "tableSchema": {"columns": columns, "primaryKey": "id"},
        "notes": [{"type": "provenance", **meta}],
    }


def _x_first(crs: Crs) -> str:
    """Which coordinate a CSV's WKT gives first: x, as GDAL and QGIS read WKT, whatever the
    CRS's own axis order (EPSG:4326 is defined latitude first; this WKT is not)."""
    if crs.srid == 4326:
        return "longitude first (x = longitude, y = latitude)"
    return "easting first (x = easting, y = northing)"


def _copy_rows(copy_sql: str, params: list) -> Iterator[bytes]:
    """The output of a COPY TO STDOUT in blocks of whole rows of about CHUNK_BYTES."""
    # COPY takes no bind parameters: psycopg quotes them into the statement client-side.
    statement = connection.ops.compose_sql(copy_sql, params)
    connection.ensure_connection()
    buffered: list[bytes] = []
    size = 0
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for data in copy:
            buffered.append(bytes(data))
            size += len(data)
            if size >= CHUNK_BYTES:
                block = b"".join(buffered)
                cut = block.rfind(b"\n") + 1
                yield block[:cut]
                buffered, size = [block[cut:]], len(block) - cut
    if size:
        yield b"".join(buffered)


# --- GeoPackage and Shapefile: ogr2ogr from PostGIS -----------------------------------


def write_gdal(export: Export, fmt: str, path: Path, meta: dict) -> Path:
    """Write a GeoPackage (`gpkg`) or Shapefile (`shp`) at `path` with ogr2ogr."""
    if fmt not in ("gpkg", "shp"):
        raise ExportError(f"GDAL writes gpkg or shp here, not '{fmt}'")
    sql, params = export.sql()
    names = shapefile_names(export.layer) if fmt == "shp" else export.layer.field_names
    select = ", ".join(
        [
            "f.id",
            f"{geometry_sql(export.crs, axis_order=False)} AS geom",
            *(
                f'(f."{lf.name}")::{SQL_TYPES.get(lf.type, "text")} AS "{name}"'
                for lf, name in zip(export.layer.fields, names, strict=True)
            ),
        ]
    )
    statement = connection.ops.compose_sql(f"SELECT {select} FROM ({sql}) AS f", params)
    layer_name = export.layer.name.replace("-", "_")
    srs = "EPSG:4326" if export.crs.srid == 4326 else f"EPSG:{export.crs.srid}"
    command = [
        "ogr2ogr",
        "-f",
        "GPKG" if fmt == "gpkg" else "ESRI Shapefile",
        str(path),
        _pg_datasource(),
        "-sql",
        statement,
        "-nln",
        layer_name,
        "-a_srs",
        srs,
        "-nlt",  # every layer is parcels or overlays; typed even when the export is empty
        "MULTIPOLYGON",
        "-lco",
        "FID=id" if fmt == "gpkg" else "ENCODING=UTF-8",
    ]
    if fmt == "gpkg":
        command += [
            "-lco",
            f"IDENTIFIER={export.layer.title}",
            "-lco",
            f"DESCRIPTION={_summary(meta)}",
            "-mo",
            f"PROVENANCE={json.dumps(meta)}",
        ]
    give_back_pooled_connection()  # ogr2ogr reads with its own: the pool's are for the others
    result = subprocess.run(
        command, capture_output=True, text=True, env=_pg_environment(), check=False
    )
    if result.returncode != 0:
        raise ExportError(f"ogr2ogr could not write {path.name}: {result.stderr.strip()[-500:]}")
    return path


def shapefile_names(layer: Layer) -> tuple[str, ...]:
    """The layer's field names in a Shapefile: each at most 10 characters and unique (beside
    `id`), or an ExportError naming the declaration to fix; GDAL would cut them silently."""
    names = tuple(f.shapefile_name for f in layer.fields)
    too_long = [name for name in names if len(name) > 10]
    twice = {name for name in names if names.count(name) > 1 or name == "id"}
    if too_long or twice:
        raise ExportError(
            f"layer {layer.name}: Shapefile field names must be unique and at most 10 "
            f"characters; declare a short_name for {', '.join(sorted({*too_long, *twice}))}"
        )
    return names


def write_shapefile_zip(export: Export, path: Path, meta: dict) -> Path:
    """A zip of the Shapefile's parts and `provenance.json`."""
    stem = export.layer.name.replace("-", "_")
    with tempfile.TemporaryDirectory(prefix="clt-shp-") as folder:
        shp = Path(folder) / f"{stem}.shp"
        write_gdal(export, "shp", shp, meta)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(folder).iterdir()):
                archive.write(part, part.name)
            archive.writestr("provenance.json", json.dumps(meta, indent=2))
    return path


def _summary(meta: dict) -> str:
    filters = ", ".join(f"{k}={v}" for k, v in meta["filters"].items()) or "none"
    files = ", ".join(s["file"] or "unknown" for s in meta["sources"]) or "none"
    return (
        f"{meta['title']} from {meta['publisher']}, exported {meta['generated_at']} by "
        f"{meta['generator']}; filters: {filters}; county files: {files}"
    )


def _pg_datasource() -> str:
    db = connection.settings_dict
    parts = {
        "dbname": db["NAME"],
        "host": db.get("HOST"),
        "port": db.get("PORT"),
        "user": db.get("USER"),
    }
    return "PG:" + " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


def _pg_environment() -> dict:
    """The environment for ogr2ogr: the password by PGPASSWORD, never on a command line."""
    env = dict(os.environ)
    password = connection.settings_dict.get("PASSWORD")
    if password:
        env["PGPASSWORD"] = password
    return env


# --- files (the web's downloads, the CLI) ----------------------------------------------


def write_download(export: Export, suffix: str, path: Path) -> None:
    """Write at `path` the file `/export/<layer>.<suffix>` serves (suffix: geojson, csv, gpkg
    or shp.zip), with its provenance; a CSV's is its CSVW metadata, which has a URL of its own."""
    if suffix == "csv":
        _stream_to(path, csv_chunks(export))
        return
    fmt = suffix.removesuffix(".zip")
    meta = provenance(export, fmt)
    if fmt == "geojson":
        _stream_to(path, geojson_chunks(export, meta))
    elif fmt == "gpkg":
        write_gdal(export, "gpkg", path, meta)
    else:
        write_shapefile_zip(export, path, meta)


def write_file(export: Export, fmt: str, path: Path) -> dict:
    """Write an export to `path` (CSV gets its CSVW sidecar); returns the provenance.

    A file that cannot be written (a missing or read-only folder, a full disk) is an
    ExportError naming it, and leaves no part of the export behind.
    """
    _check_format(export, fmt)
    if fmt == "shp":
        _check_shapefile_name(path)
    meta = provenance(export, fmt)
    try:
        _write_format(export, fmt, path, meta)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ExportError(
            f"cannot write {path}: {reason}; choose a folder you may write to"
        ) from exc
    return meta


def write_stream(export: Export, fmt: str, out: BinaryIO) -> dict:
    """Write a GeoJSON or CSV export to `out` (stdout, for `clt export -o -`); returns the
    provenance.

    The GeoJSON carries its provenance inside. The CSV goes alone, as `clt report --csv -`
    writes its CSV: its CSVW metadata is a second document, which a pipe has no place for (and
    on stderr it would be mixed with the messages for people).
    """
    _check_format(export, fmt)
    if fmt not in STREAMABLE:
        raise ExportError(
            f"{fmt} cannot be written to a stream; write {' or '.join(STREAMABLE)}, or a file"
        )
    meta = provenance(export, fmt)
    for chunk in geojson_chunks(export, meta) if fmt == "geojson" else csv_chunks(export):
        out.write(chunk)
    out.flush()
    return meta


def _check_format(export: Export, fmt: str) -> None:
    """Refuse a format there is no writer for, and GeoJSON in a CRS other than CRS84."""
    if fmt not in FORMATS:
        raise ExportError(f"'{fmt}' is not one of {', '.join(FORMATS)}")
    if fmt == "geojson" and export.crs != crs_registry.CRS84:
        raise ExportError("GeoJSON is always CRS84 longitude/latitude (RFC 7946)")


def _check_shapefile_name(path: Path) -> None:
    """A Shapefile is written to NAME.shp (its parts beside it) or zipped to NAME.zip.

    Any other name is refused rather than guessed at: given `out.dat`, ogr2ogr made a folder
    `out.dat/` holding `parcels.shp`..., and renaming the file or zipping it under a name that
    does not say so would leave the caller looking for what is not there.
    """
    if path.suffix.lower() not in (".shp", ".zip"):
        stem = path.name.removesuffix(path.suffix) or path.name
        raise ExportError(
            f"{path.name}: a Shapefile is written as NAME.shp or, zipped, NAME.shp.zip; "
            f"give -o {path.with_name(stem + '.shp.zip')} (or .shp)"
        )


def _write_format(export: Export, fmt: str, path: Path, meta: dict) -> None:
    if fmt in ("geojson", "csv"):
        chunks = geojson_chunks(export, meta) if fmt == "geojson" else csv_chunks(export)
        _stream_to(path, chunks)
        if fmt == "csv":
            sidecar = path.with_name(path.name + "-metadata.json")
            try:
                sidecar.write_text(json.dumps(csvw_metadata(export, meta, path.name), indent=2))
            except BaseException:
                path.unlink(missing_ok=True)  # a CSV without its provenance is half an export
                raise
    elif fmt == "gpkg":
        path.unlink(missing_ok=True)
        write_gdal(export, "gpkg", path, meta)
    elif path.suffix.lower() == ".zip":
        write_shapefile_zip(export, path, meta)
    else:
        write_gdal(export, "shp", path, meta)
        path.with_suffix(".provenance.json").write_text(json.dumps(meta, indent=2))


def _stream_to(path: Path, chunks: Iterator[bytes]) -> None:
    """Write `chunks` to `path` by way of `path.partial`: a failed export leaves no half file,
    and a file already at `path` stays until the new one is whole."""
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
