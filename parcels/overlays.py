"""Overlay polygons (neighbourhoods, flood zones, zoning districts) read from a file.

Small layers (tens to thousands of polygons), so GeoDjango writes them directly; the geometry
is transformed, made valid and kept as MultiPolygon by PostGIS in the same statement.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.errors
import shapely
from django.db import connection, transaction

from parcels.importing import (
    ImportRefused,
    Source,
    missing_geometry_reasons,
    open_source,
    quiet_invalid_wkt,
    source_crs,
)
from parcels.models import Overlay

NAME_CANDIDATES = ("name", "nbhd_name", "neighborhood", "neighbourhood", "label", "zone",
                   "fld_zone", "zone_name", "district", "title")  # fmt: skip


def import_overlays(
    path: Path | str,
    *,
    kind: str,
    name_field: str | None = None,
    srid: int | None = None,
    layer: str | None = None,
    replace: bool = False,
) -> int:
    """Import the polygons in `path` as overlays of `kind`; returns how many. All or nothing.

    A row without a usable polygon (no geometry, invalid WKT, empty, no area once made valid)
    refuses the whole file, naming the row: an overlay is a filter (outside flood zones), and
    one silently missing would let through the lots it should have kept out.
    """
    path = Path(path)
    source = open_source(path, layer)
    crs = source_crs(source, srid)
    name_column = _name_column(source.columns, name_field)
    frame = _read(source)
    if len(frame) == 0:
        raise ImportRefused(f"{path.name}: the layer has no features; there is nothing to import")
    geometries = np.asarray(frame.geometry.array, dtype=object)
    _refuse_missing_geometry(source, geometries, frame.index.to_numpy())
    kinds = set(shapely.get_type_id(geometries))
    if not kinds <= {3, 6}:  # Polygon, MultiPolygon
        raise ImportRefused(f"{path.name}: overlays must be polygons")
    with transaction.atomic(), connection.cursor() as cursor:
        if replace:
            Overlay.objects.filter(kind=kind, source_file=path.name).delete()
        for row, ((_, feature), geometry) in enumerate(
            zip(frame.iterrows(), geometries, strict=True), start=1
        ):
            attributes = {c: _plain(feature[c]) for c in source.columns if c in feature.index}
            name = str(feature[name_column]) if name_column else f"{kind} {row}"
            cursor.execute(
                """INSERT INTO parcels_overlay (kind, name, attributes, geom, source_file,
                       imported_at)
                   VALUES (%s, %s, %s, ST_Multi(ST_CollectionExtract(ST_MakeValid(
                       ST_Transform(ST_GeomFromWKB(%s, %s), 4326)), 3)), %s, now())
                   RETURNING ST_IsEmpty(geom)""",
                [kind, name[:200], json.dumps(attributes), geometry.wkb, crs.srid, path.name],
            )
            if cursor.fetchone()[0]:
                raise ImportRefused(
                    f"{path.name}: row {row}: the polygon has no area (zero area, or nothing "
                    "left once made valid); fix or remove it. Nothing was imported"
                )
    return len(frame)


def _read(source: Source):
    """The whole layer as a GeoDataFrame indexed by feature id; text that is not UTF-8 is
    refused naming the file and the first row (and column) holding it."""
    try:
        with quiet_invalid_wkt():
            return pyogrio.read_dataframe(
                source.gdal_path, layer=source.layer, fid_as_index=True, **source.open_options
            )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise ImportRefused(f"{source.path}: GDAL cannot read it ({exc})") from exc
    except UnicodeDecodeError as exc:
        where = _first_non_utf8(source)
        raise ImportRefused(
            f"{source.path.name}: the text{where} is not UTF-8 ({exc.reason}, byte "
            f"0x{exc.object[exc.start]:02x}). Save the file as UTF-8 and import it again"
        ) from None


def _first_non_utf8(source: Source) -> str:
    """' in row N (column C)' for the first text that is not UTF-8, found by reading the file
    again as Latin-1 (which reads any bytes) and decoding each text back; '' if not found."""
    try:
        frame = pyogrio.read_dataframe(
            source.gdal_path, layer=source.layer, read_geometry=False, encoding="latin1",
            **source.open_options,
        )  # fmt: skip
    except Exception:  # noqa: BLE001 - only to name the row; the refusal stands without it
        return ""
    for row, record in enumerate(frame.itertuples(index=False), start=1):
        for column, value in zip(frame.columns, record, strict=True):
            if isinstance(value, str):
                try:
                    value.encode("latin1").decode("utf-8")
                except UnicodeError:
                    return f" in row {row} (column {column})"
    return ""


def _refuse_missing_geometry(source: Source, geometries: np.ndarray, fids: np.ndarray) -> None:
    missing = shapely.is_missing(geometries)
    empty = ~missing & shapely.is_empty(geometries)
    bad = np.flatnonzero(missing | empty)
    if len(bad) == 0:
        return
    at = int(bad[0])
    if empty[at]:
        reason = "empty geometry"
    else:
        reason = missing_geometry_reasons(source, [int(fids[at])]).get(int(fids[at]), "")
    raise ImportRefused(
        f"{source.path.name}: row {at + 1}: {reason or 'no geometry'}"
        f"{f' ({len(bad):,} such rows)' if len(bad) > 1 else ''}; fix or remove it. "
        "Nothing was imported"
    )


def _name_column(columns: list[str], name_field: str | None) -> str | None:
    if name_field:
        if name_field not in columns:
            raise ImportRefused(
                f"--name-field {name_field}: no such column (columns: {', '.join(columns)})"
            )
        return name_field
    by_lower = {c.lower(): c for c in columns}
    return next((by_lower[c] for c in NAME_CANDIDATES if c in by_lower), None)


def _plain(value):
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, str | int | float | bool) else str(value)
