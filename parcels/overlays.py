"""Overlay polygons (neighbourhoods, flood zones, zoning districts) read from a file.

Small layers (tens to thousands of polygons), so GeoDjango writes them directly; the geometry
is transformed, made valid and kept as MultiPolygon by PostGIS in the same statement.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pyogrio.errors
import shapely
from django.db import connection, transaction

from parcels.importing import ImportRefused, open_source, source_crs
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
    """Import the polygons in `path` as overlays of `kind`; returns how many. All or nothing."""
    path = Path(path)
    source = open_source(path, layer)
    crs = source_crs(source, srid)
    name_column = _name_column(source.columns, name_field)
    try:
        frame = pyogrio.read_dataframe(source.gdal_path, layer=source.layer, **source.open_options)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise ImportRefused(f"{path}: GDAL cannot read it ({exc})") from exc
    kinds = set(shapely.get_type_id(frame.geometry.values[~frame.geometry.isna()]))
    if not kinds <= {3, 6}:  # Polygon, MultiPolygon
        raise ImportRefused(f"{path.name}: overlays must be polygons")
    with transaction.atomic(), connection.cursor() as cursor:
        if replace:
            Overlay.objects.filter(kind=kind, source_file=path.name).delete()
        count = 0
        for row, (_, feature) in enumerate(frame.iterrows(), start=1):
            geometry = feature.geometry
            if geometry is None or geometry.is_empty:
                continue
            attributes = {c: _plain(feature[c]) for c in source.columns if c in feature.index}
            name = str(feature[name_column]) if name_column else f"{kind} {row}"
            cursor.execute(
                """INSERT INTO parcels_overlay (kind, name, attributes, geom, source_file,
                       imported_at)
                   VALUES (%s, %s, %s, ST_Multi(ST_CollectionExtract(ST_MakeValid(
                       ST_Transform(ST_GeomFromWKB(%s, %s), 4326)), 3)), %s, now())""",
                [kind, name[:200], json.dumps(attributes), geometry.wkb, crs.srid, path.name],
            )
            count += 1
    return count


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
