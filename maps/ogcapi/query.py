"""The feature SQL: a layer's whitelisted SELECT, filtered, paged and written as GeoJSON by PostGIS.

Everything here wraps `Layer.select_sql()`, so only the layer's declared fields can appear in
a response, and binds every value as a parameter. Identifiers that are formatted into the SQL
are the layer's own field names (declared in code, never taken from a request).

Paging is by keyset: features are ordered by their id (the primary key of the parcel, the overlay
area or, on the staff's lease layer, the lease each feature is), and a `next`
link carries the last id of the page (`after=`). The next page is then `WHERE id > :after ORDER
BY id LIMIT :n`, an index range scan whose cost does not depend on how deep the page is, where
`OFFSET 900000` would read and throw away 900,000 rows first.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from django.core.cache import caches
from django.db import connection

from maps import versions
from maps.layers import Layer, geometry_test
from maps.ogcapi import crs as crs_registry
from maps.ogcapi.crs import Crs
from maps.ogcapi.params import BBox, FeatureFilter


def unordered(layer: Layer) -> Layer:
    """The layer with its model's default ordering dropped from the inner SELECT.

    `Parcel.Meta.ordering` puts `ORDER BY jurisdiction, apn` inside `select_sql()`; PostgreSQL
    will not flatten a subquery that sorts, so `WHERE id > x ORDER BY id LIMIT n` outside it
    would sort the whole layer for every page.
    """
    base = layer.queryset
    return dataclasses.replace(layer, queryset=lambda: base().order_by())


def layer_sql(layer: Layer, flt: FeatureFilter) -> tuple[str, list]:
    """`SELECT id, geom, <fields> FROM <layer> WHERE <filter>` as SQL and parameters."""
    sql, params = unordered(layer).select_sql()
    where, where_params = _where(layer, flt)
    return f"SELECT * FROM ({sql}) AS f WHERE {where}", [*params, *where_params]


def geometry_sql(crs: Crs, column: str = "f.geom", *, axis_order: bool = True) -> str:
    """The geometry in `crs`, outer rings counter-clockwise (RFC 7946 §3.1.6), in the CRS's
    axis order (latitude first for EPSG:4326), as OGC API - Features answers.

    `axis_order=False` keeps x = easting/longitude whatever the CRS says, as GeoPackage and
    Shapefile store every CRS (GDAL reads them so): a file written in latitude order would put
    Jackson in Antarctica.
    """
    geom = f"ST_ForcePolygonCCW({column})"
    if crs.srid != 4326:
        geom = f"ST_Transform({geom}, {int(crs.srid)})"
    if crs.lat_first and axis_order:
        geom = f"ST_FlipCoordinates({geom})"
    return geom


def feature_json_sql(layer: Layer, crs: Crs) -> str:
    """A SQL expression writing one row of `f` as a GeoJSON Feature (text).

    Built by concatenation so the geometry text from ST_AsGeoJSON is not parsed again as json.
    Options 0: PostGIS's default (8) writes a GeoJSON-2008 `crs` member into every geometry
    not in EPSG:4326, which RFC 7946 dropped; Part 2 names the CRS in `Content-Crs` instead.
    """
    pairs = ", ".join(f"'{lf.name}', f.\"{lf.name}\"" for lf in layer.fields)
    properties = f"json_build_object({pairs})::text" if pairs else "'{}'"
    geometry = f"ST_AsGeoJSON({geometry_sql(crs)}, {int(crs.decimals)}, 0)"
    return (
        """'{"type":"Feature","id":' || f.id || ',"geometry":' || """
        f"""COALESCE({geometry}, 'null') || ',"properties":' || {properties} || '}}'"""
    )


@dataclass(frozen=True)
class Page:
    features: list[str]  # GeoJSON Feature texts, in id order
    first_id: int | None
    last_id: int | None
    has_more: bool  # more features beyond the page, in the direction of travel


def page(
    layer: Layer,
    flt: FeatureFilter,
    *,
    limit: int,
    crs: Crs = crs_registry.CRS84,
    after: int | None = None,
    before: int | None = None,
    offset: int = 0,
) -> Page:
    """One page of features ordered by id: after an id, before an id, or after `offset` rows."""
    sql, params = layer_sql(layer, flt)
    keyset, order = "", "ASC"
    if after is not None:
        keyset, params = "WHERE f.id > %s", [*params, after]
    elif before is not None:
        keyset, order, params = "WHERE f.id < %s", "DESC", [*params, before]
    query = (
        f"SELECT f.id, {feature_json_sql(layer, crs)} FROM ({sql}) AS f {keyset} "
        f"ORDER BY f.id {order} LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, limit + 1, offset])
        rows = cursor.fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    if order == "DESC":
        rows.reverse()
    return Page(
        features=[text for _, text in rows],
        first_id=rows[0][0] if rows else None,
        last_id=rows[-1][0] if rows else None,
        has_more=has_more,
    )


def count(layer: Layer, flt: FeatureFilter) -> int:
    """How many features the filter selects (`numberMatched`); the whole layer's is kept with
    its extents until its data changes."""
    if flt == FeatureFilter():
        return extents(layer).features
    sql, params = layer_sql(layer, flt)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) AS f", params)
        return cursor.fetchone()[0]


def exists_before(layer: Layer, flt: FeatureFilter, feature_id: int) -> bool:
    """Whether any selected feature comes before `feature_id` (is there a `prev` page?)."""
    return _exists_beyond(layer, flt, "<", feature_id)


def exists_after(layer: Layer, flt: FeatureFilter, feature_id: int) -> bool:
    """Whether any selected feature comes after `feature_id` (is there a `next` page?)."""
    return _exists_beyond(layer, flt, ">", feature_id)


def _exists_beyond(
    layer: Layer, flt: FeatureFilter, side: Literal["<", ">"], feature_id: int
) -> bool:
    """One EXISTS on the id's index, stopping at the first selected feature on that side."""
    sql, params = layer_sql(layer, flt)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM ({sql}) AS f WHERE f.id {side} %s)",
            [*params, feature_id],
        )
        return cursor.fetchone()[0]


def feature(layer: Layer, feature_id: int, crs: Crs = crs_registry.CRS84) -> str | None:
    """One feature of the layer as GeoJSON text, None if the layer has no such feature."""
    sql, params = layer_sql(layer, FeatureFilter())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {feature_json_sql(layer, crs)} FROM ({sql}) AS f WHERE f.id = %s",
            [*params, feature_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class Extents:
    """A layer's extents for its collection metadata: a CRS84 bounding box (None when the
    layer is empty) and the first and last value of its `datetime_field` as ISO dates (None
    when it has none); and how many features it has (the unfiltered `numberMatched`)."""

    bbox: list[float] | None
    temporal: list[str | None] | None
    features: int


EXTENT_CACHE = "default"


def extents(layer: Layer) -> Extents:
    """The layer's extents as of now, computed once per change of its data.

    Every GIS client asks for /collections when it connects, and then for a first page of
    items, counted; each is an aggregate over the whole layer (290 and 170 ms for a county's
    million parcels), computed here in one statement. The answer is kept with the data
    versions it was computed at (maps.versions), in the same snapshot as the data, and served
    while they are current: the check is one small query, and an edit is seen at once.
    """
    tables = versions.layer_tables(layer)
    versions.watch(tables)
    cache, key = caches[EXTENT_CACHE], f"clt:ogcapi-extents:{layer.name}"
    entry = cache.get(key)  # (the versions the extents were computed at, the extents)
    if entry is not None and entry[0] == versions.versions(tables):
        return entry[1]
    found, seen = _compute_extents(layer, tables)
    cache.set(key, (seen, found), timeout=None)
    return found


def _compute_extents(layer: Layer, tables: frozenset[str]) -> tuple[Extents, dict[str, int]]:
    sql, params = layer_sql(layer, FeatureFilter())
    dated = _column(layer, layer.datetime_field) if layer.datetime_field else "NULL::date"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT ST_XMin(x.e), ST_YMin(x.e), ST_XMax(x.e), ST_YMax(x.e), x.lo, x.hi, x.n,
                       ({versions.IN_STATEMENT_SQL})
                FROM (SELECT ST_Extent(f.geom) AS e, min({dated}) AS lo, max({dated}) AS hi,
                             count(*) AS n
                      FROM ({sql}) AS f) AS x""",
            [sorted(tables), *params],
        )
        *box, low, high, features, seen = cursor.fetchone()
    bbox = [round(v, 7) for v in box] if box[0] is not None else None
    temporal = None
    if layer.datetime_field:
        temporal = [low.isoformat() if low else None, high.isoformat() if high else None]
    return Extents(bbox, temporal, features), versions.read_in_statement(seen, tables)


# --- the WHERE clause ------------------------------------------------------------------


def _where(layer: Layer, flt: FeatureFilter) -> tuple[str, list]:
    clauses, params = ["TRUE"], []
    if flt.bbox:
        sql, bbox_params = _bbox_sql(layer, flt.bbox)
        clauses.append(sql)
        params += bbox_params
    if flt.interval and layer.datetime_field:
        column = _column(layer, layer.datetime_field)
        if flt.interval.first_day:  # the trust's day, not UTC's: see params.Interval
            clauses.append(f"{column} >= %s")
            params.append(flt.interval.first_day)
        if flt.interval.last_day:
            clauses.append(f"{column} <= %s")
            params.append(flt.interval.last_day)
    for layer_field, value in flt.properties:
        clauses.append(f"{_column(layer, layer_field.name)} = %s")
        params.append(value)
    return " AND ".join(clauses), params


def _bbox_sql(layer: Layer, bbox: BBox) -> tuple[str, list]:
    """Features whose geometry intersects the box (in the box's CRS, antimeridian split); a
    box with no width or height is the point or line it is. On a layer made of parcels (the
    leases), those with a parcel that intersects it, found on the parcels' spatial index: the
    same features, as a union intersects a box exactly when one of its parts does."""
    if bbox.crosses_antimeridian:
        boxes = [
            (bbox.minx, bbox.miny, 180.0, bbox.maxy),
            (-180.0, bbox.miny, bbox.maxx, bbox.maxy),
        ]
    else:
        boxes = [(bbox.minx, bbox.miny, bbox.maxx, bbox.maxy)]
    boxes = [clipped for box in boxes if (clipped := _clip(box, bbox.crs.bounds))]
    if not boxes:
        return "FALSE", []
    srid = bbox.crs.srid
    sql, params = [], []
    for box in boxes:
        envelope = _COLLAPSED_BOX if _collapsed(box) else _BOX
        if srid == 4326:
            sql.append(f"ST_Intersects({{geom}}, {envelope})")
            params += [*box, 4326]
        else:
            # Densify before reprojecting: a box's straight edges in feet are curves in degrees.
            sql.append(
                f"ST_Intersects({{geom}}, ST_Transform(ST_Segmentize({envelope}, %s), 4326))"
            )
            params += [*box, srid, max(box[2] - box[0], box[3] - box[1], 1e-6) / 32]
    test, parts_params = geometry_test("f", f"({' OR '.join(sql)})", layer.parts_sql())
    return test, [*parts_params, *params]


# A box as minx, miny, maxx, maxy, srid. ST_MakeEnvelope of a box with equal corners is a
# polygon of zero area, which intersects nothing (and which GEOS cannot even read once
# reprojected: a 500); the envelope of the two corners is the POINT or LINESTRING such a box
# is, and a POLYGON otherwise (/req/core/fc-bbox-response: minx = maxx is a valid box). Both
# are constants the planner folds, so the spatial index is used either way.
_BOX = "ST_MakeEnvelope(%s, %s, %s, %s, %s)"
_COLLAPSED_BOX = (
    "ST_Envelope(ST_SetSRID(ST_Collect(ST_MakePoint(%s, %s), ST_MakePoint(%s, %s)), %s))"
)


def _collapsed(box: tuple) -> bool:
    """Whether the box has no width or no height: a point or a line, not an area."""
    return box[0] == box[2] or box[1] == box[3]


def _clip(box: tuple, bounds: tuple) -> tuple | None:
    """`box` within `bounds`, None if they do not meet."""
    minx, miny = max(box[0], bounds[0]), max(box[1], bounds[1])
    maxx, maxy = min(box[2], bounds[2]), min(box[3], bounds[3])
    return (minx, miny, maxx, maxy) if minx <= maxx and miny <= maxy else None


def _column(layer: Layer, name: str) -> str:
    if name not in layer.field_names:  # a declaration error, not a user's
        raise LookupError(f"layer {layer.name}: '{name}' is not one of its fields")
    return f'f."{name}"'
