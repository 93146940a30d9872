"""Vector tiles (Mapbox Vector Tile 2.1) of a declared layer, built by PostGIS.

    GET /tiles/{layer}/{z}/{x}/{y}.pbf      (maps/views.py)

What reaches a tile: the layer's `select_sql()` and nothing else, so only its whitelisted fields
(and the feature id) can be in one. The MVT layer inside each tile is named after the layer.

Zoom bands, so that no tile of a 1M-parcel city costs more than a few tens of milliseconds:
- below `layer.min_zoom` a tile is empty and no query runs;
- a feature is in a tile when its outline's box meets the tile's (with its buffer or ring of
  cells); on a layer whose features are made of parcels (the staff's leases: one feature per
  lease, `Layer.parts`) when one of its parcels' does, found on their spatial index, and only
  those features' outlines are built (`maps.layers.geometry_test`), or for cells only their
  boxes, the extent of their parcels (`maps.layers.box_sql`). The outlines drawn are the same
  (what of a lease lies between its parcels is no part of it); a lease would be left out of the
  cells of the tile its centre is in only if its parcels lay beyond that tile's ring of cells
  on both sides, a tile's width apart (8 km at z12);
- from `min_zoom` up to `layer.detail_zoom - 1` a tile carries *cells*: the tile is cut into
  16 x 16 squares (16 screen pixels) and each square with features in it becomes one point, at
  the mean of their centres, with `count` = how many (and, for a layer coloured by a field,
  one point per value of it in the square, carrying it: trust land's `use`, so the points are
  drawn in the colours of the outlines they stand for). A feature is counted in the one tile its
  bounding-box centre falls in, which is computed from the stored EPSG:4326 box by the Mercator
  formula (no per-feature PROJ call: at z12 the transform alone cost 150 ms for 56,000 lots).
  The tile also carries the ring of cells just beyond its edges (`CELL_HALO`), as points outside
  its 0..4096 square, so a circle near an edge is drawn whole: each tile clips at its edge and
  the neighbour draws the rest. Whoever sums counts from tiles counts the points inside only;
- from `detail_zoom` a tile carries each feature's outline, clipped to the tile plus a 64-unit
  buffer and snapped to the tile's 4096-unit grid. Snapping is the simplification by zoom: a
  grid unit is 2.4 m at z12 and 0.15 m at z16, so vertices closer than that merge and outlines
  smaller than a unit drop out.

Freshness: a tile's ETag is a digest of its SQL, its parameters (the trust's day, for "held
now" and "in force" questions; the trust's contact...) and the data versions of every table the
SQL reads, with that day for a layer built for one (maps/versions.py). Any write to those
tables gives every tile over them a new ETag in the same transaction, and the next day gives
every tile of a dated layer one, so neither the server's tile cache nor a browser revalidating
with If-None-Match can serve a tile older than the last commit or from another day. The cache
keeps each tile with the versions it was built at (`fetch`): serving it costs one small query
for the current versions; a tile not cached costs only its own query, which reads the versions
in the same snapshot as the data.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from clt import planner
from maps import versions
from maps.layers import Layer, LayerField, box_sql, geometry_test, get_layer

EXTENT = 4096  # tile coordinate units per side (the MVT default)
BUFFER = 64  # units drawn beyond each edge, so strokes do not stop short at tile seams
CELLS_PER_SIDE = 16  # cell tiles: 16 x 16 squares of 16 screen pixels
# A cell tile also carries the ring of cells just outside it, so that a circle near an edge is
# drawn whole: the map clips each tile at its edge and draws the rest from the neighbour's copy.
CELL_HALO = 1  # cells beyond each edge: the map's biggest circle (a ring) reaches 10 px, < 16
MAX_ZOOM = 22
CACHE_ALIAS = "tiles"
CACHE_MAX_BYTES = 1_000_000  # a bigger tile is rebuilt each time rather than crowd the cache
FORMAT = "clt-mvt-3"  # bump when the tile SQL changes shape, to retire every cached tile

# Web Mercator (EPSG:3857): the sphere's radius and half the world's width, in metres.
MERCATOR_R = 6378137.0
MERCATOR_HALF = 20037508.342789244


class TileAddressError(ValueError):
    """A tile address outside the tile pyramid; the message names the bad part."""


@dataclass(frozen=True)
class TileAddress:
    z: int
    x: int
    y: int

    def __str__(self) -> str:
        return f"{self.z}/{self.x}/{self.y}"

    @classmethod
    def containing(cls, lon: float, lat: float, z: int) -> TileAddress:
        """The zoom-`z` tile with the point (lon, lat), in degrees, on it."""
        n = 2**z
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return cls(z, int((lon + 180) / 360 * n), int(y))


def parse_tile_address(z: str, x: str, y: str) -> TileAddress:
    """A tile address from URL parts: 0 <= z <= 22 and 0 <= x, y < 2**z, as integers."""
    zoom = _whole("z", z, MAX_ZOOM, f"the zoom must be between 0 and {MAX_ZOOM}")
    size = 2**zoom
    rule = f"at zoom {zoom} it must be 0 to {size - 1}"
    return TileAddress(zoom, _whole("x", x, size - 1, rule), _whole("y", y, size - 1, rule))


def _whole(name: str, text: str, highest: int, rule: str) -> int:
    """One part of a tile address, a whole number from 0 to `highest`; else the error says
    which `rule` it breaks, or that it is no number at all.

    A number is judged by its digits before it is converted: one too long to be in range is
    told the range (it was "not a whole number" past 8 digits), and Python refuses int() of
    more than 4,300 digits. A minus sign is out of range, even on "-0": one tile, one address.
    """
    if not re.fullmatch(r"-?[0-9]+", text):
        raise TileAddressError(f"{name}={text!r}: not a whole number")
    digits = text.lstrip("-0")
    if text.startswith("-") or len(digits) > len(str(highest)) or int(digits or 0) > highest:
        raise TileAddressError(f"{name}={text}: {rule}")
    return int(digits or 0)


@dataclass(frozen=True)
class Tile:
    """A tile as of now, or the news that the client's copy still is (`not_modified`)."""

    body: bytes  # empty when no feature touches the tile, or when not_modified
    etag: str
    cached: bool = False  # served from the tile cache, not built
    not_modified: bool = False  # the client's If-None-Match names the current ETag


def unordered(layer: Layer) -> Layer:
    """The layer without its model's default ORDER BY, which would stop PostgreSQL flattening
    the subquery and sort every feature of the tile for nothing."""
    base = layer.queryset
    return dataclasses.replace(layer, queryset=lambda: base().order_by())


@dataclass(frozen=True)
class CompiledLayer:
    """A layer with its whitelisted SELECT compiled once (Django takes ~1 ms to build one)."""

    layer: Layer
    sql: str  # `unordered(layer).select_sql()`
    params: tuple
    tables: frozenset[str]  # the tables it reads (and its day): their versions make its ETags
    parts: tuple[str, tuple] | None = None  # `layer.parts_sql()`, for a layer made of parcels


_compiled: dict[tuple, CompiledLayer] = {}


def layer_inputs() -> tuple:
    """Everything a layer's SQL depends on besides the code: the trust's day (what it holds,
    which leases are in force), read as the whole registry reads it, `timezone.localdate()`;
    and the trust's public name and contact. A layer that reads anything else adds it here;
    tests/maps/test_tiles.py checks a compiled layer against a fresh compile."""
    return (timezone.localdate(), settings.CLT_CONTACT, settings.CLT_NAME)


def compiled_layer(name: str) -> CompiledLayer | None:
    """The layer called `name`, compiled (None if there is no such layer)."""
    inputs = layer_inputs()
    key = (name, *inputs)
    found = _compiled.get(key)
    if found is None:
        layer = get_layer(name, on=inputs[0])  # built for the day it is kept under
        if layer is None:
            return None
        found = compile_layer(layer)
        if len(_compiled) > 100:  # yesterday's entries
            _compiled.clear()
        _compiled[key] = found
    return found


def compile_layer(layer: Layer) -> CompiledLayer:
    """`layer` compiled: its whitelisted SELECT, its parts' (if it is made of parcels) and the
    tables both read, with its day."""
    sql, params = unordered(layer).select_sql()
    parts = layer.parts_sql()
    read = sql + (parts[0] if parts else "")
    tables = versions.tables_in(read) | versions.day_input(layer.as_of)
    return CompiledLayer(layer, sql, tuple(params), tables, parts)


def tile_sql(compiled: CompiledLayer, address: TileAddress) -> tuple[str, tuple]:
    """SQL returning one row (tile bytes, data versions as JSON) for `layer` at `address`.

    The only function that writes tile SQL; every value is a bound parameter. Identifiers come
    from the layer's declaration (its field names), never from a request. The tile's envelope
    is written inline (not joined from a CTE) so the planner sees a constant box and estimates
    the rows in it from the table's statistics.
    """
    layer, features_sql, features_params = compiled.layer, compiled.sql, compiled.params
    tables = sorted(compiled.tables)
    z, x, y = address.z, address.x, address.y
    # The tile's box, with its buffer (outlines) or its ring of cells (cells): params z, x, y,
    # margin, after those of the layer's parts.
    in_tile, parts_params = geometry_test("q", _IN_TILE, compiled.parts)
    if address.z < layer.detail_zoom:
        x0, y0, size = mercator_bounds(address)
        box, box_params = box_sql("q", compiled.parts)
        sql = _CELLS_SQL.format(
            versions=versions.IN_STATEMENT_SQL,
            features=features_sql,
            in_tile=in_tile,
            box=box,
            extent=EXTENT,
            cell=EXTENT // CELLS_PER_SIDE,
            last_unit=EXTENT - 1,
            first_cell=-CELL_HALO,
            last_cell=CELLS_PER_SIDE - 1 + CELL_HALO,
            radius=repr(MERCATOR_R),
            half_per_degree=repr(MERCATOR_HALF / 360),  # (xmin + xmax) is twice the centre
            **_cell_grouping(layer),
        )
        units_per_metre = EXTENT / size
        halo = CELL_HALO / CELLS_PER_SIDE
        params = (layer.name, x0, units_per_metre, y0, units_per_metre, *box_params)
        params = (*params, *features_params, *parts_params, z, x, y, halo)
    else:
        columns = "".join(f", {typed_column(f)}" for f in layer.fields)
        sql = _OUTLINES_SQL.format(
            features=features_sql,
            in_tile=in_tile,
            columns=columns,
            extent=EXTENT,
            buffer=BUFFER,
            versions=versions.IN_STATEMENT_SQL,
        )
        params = (layer.name, z, x, y, *features_params, *parts_params, z, x, y, BUFFER / EXTENT)
    return sql, (*params, tables)


# MVT values are typed: give each field the type the layer declares for it (PostgreSQL's
# numeric, which EXTRACT returns and money is, would otherwise be written as text). MVT has no
# decimal: money goes as a double, which gives back every amount of up to 15 digits as written.
_MVT_TYPES = {
    "integer": "bigint",
    "number": "double precision",
    "decimal": "double precision",
    "boolean": "boolean",
    "date": "text",
    "string": "text",
}


def _cell_grouping(layer: Layer) -> dict[str, str]:
    """SQL pieces that split each cell by the field the layer is coloured by (trust land by its
    current use), so a cell's point is drawn in the same colour as the outlines it stands for."""
    field = layer.style.by_field
    if not field:
        return {"by": "", "by_source": "", "by_column": ""}
    name = connection.ops.quote_name(field)
    return {
        "by": ", by_value",
        "by_source": f", q.{name}::text AS by_value",
        "by_column": f", by_value AS {name}",
    }


def typed_column(field: LayerField, alias: str = "q") -> str:
    """`alias."field"::<type> AS "field"`: the field as the type its layer declares."""
    name = connection.ops.quote_name(field.name)
    return f"{alias}.{name}::{_MVT_TYPES.get(field.type, 'text')} AS {name}"


def mercator_bounds(address: TileAddress) -> tuple[float, float, float]:
    """The tile's south-west corner (x, y) and side, in Web Mercator metres."""
    size = 2 * MERCATOR_HALF / 2**address.z
    return -MERCATOR_HALF + address.x * size, MERCATOR_HALF - (address.y + 1) * size, size


# A feature in the tile's box (with a margin): see `geometry_test`.
_IN_TILE = "{geom} && ST_Transform(ST_TileEnvelope(%s, %s, %s, margin => %s), 4326)"

# Outlines that vanish when snapped to the tile's grid come out of ST_AsMVTGeom as NULL and are
# dropped. The OFFSET 0 fence keeps that filter outside: pushed down into the scan, PostgreSQL
# would run ST_AsMVTGeom on every parcel in the box before the layer's own conditions drop most
# of them (35 trust parcels in a z14 tile of 3,800 parcels: 80 ms instead of 5).
_OUTLINES_SQL = """
SELECT (
    SELECT ST_AsMVT(t, %s, {extent}, 'geom', 'id')
    FROM (
        SELECT ST_AsMVTGeom(ST_Transform(q.geom, 3857), ST_TileEnvelope(%s, %s, %s),
                            {extent}, {buffer}, true) AS geom,
               q.id{columns}
        FROM ({features}) AS q
        WHERE {in_tile}
        OFFSET 0
    ) AS t
    WHERE t.geom IS NOT NULL
), ({versions})
"""

# Each feature's bounding-box centre in Mercator, by formula from its stored box:
# x = R * lon (radians), y = R * ln(tan(45 deg + lat / 2)), then in tile units from the tile's
# south-west corner (params: its x, units per metre, its y, units per metre). A cell's point is
# the mean of its centres, rounded and kept within the cell's own units, so a point lies inside
# the tile's square exactly when its cell is the tile's own (MVT's y runs down from the top,
# hence last_unit - y); the ring around it is the halo. The OFFSET 0 fences make PostgreSQL
# read each box once, rather than once per expression that uses it. Cells beyond the halo (the
# centres of features that only overlap it) are dropped after grouping, by HAVING on an
# aggregate: as a WHERE, PostgreSQL would guess it keeps 1 row in 40,000 and sort 55,000 rows
# instead of hashing them into at most 256 cells.
_CELLS_SQL = """
SELECT (
    SELECT ST_AsMVT(t, %s, {extent}, 'geom')
    FROM (
        SELECT ST_MakePoint(
                   least(greatest(round(avg(px)), cx * {cell}), (cx + 1) * {cell} - 1),
                   {last_unit} - least(greatest(round(avg(py)), cy * {cell}), (cy + 1) * {cell} - 1)
               ) AS geom,
               count(*) AS count{by_column}
        FROM (
            SELECT px, py, floor(px / {cell})::int AS cx, floor(py / {cell})::int AS cy{by}
            FROM (
                SELECT ((ST_XMin(b) + ST_XMax(b)) * {half_per_degree} - %s) * %s AS px,
                       (ln(tan(radians(45 + (ST_YMin(b) + ST_YMax(b)) / 4))) * {radius} - %s) * %s
                           AS py{by}
                FROM (
                    SELECT {box} AS b{by_source}
                    FROM ({features}) AS q
                    WHERE {in_tile}
                    OFFSET 0
                ) AS boxes
                OFFSET 0
            ) AS centres
        ) AS located
        GROUP BY cx, cy{by}
        HAVING min(cx) BETWEEN {first_cell} AND {last_cell}
           AND min(cy) BETWEEN {first_cell} AND {last_cell}
    ) AS t
), ({versions})
"""


def etag_for(sql: str, params: tuple, data_versions: dict[str, int]) -> str:
    digest = hashlib.sha256(FORMAT.encode())
    digest.update(sql.encode())
    digest.update(repr(params).encode())
    digest.update(json.dumps(data_versions, sort_keys=True).encode())
    return f'"{digest.hexdigest()[:32]}"'


def fetch(compiled: CompiledLayer, address: TileAddress, client_etags: Sequence[str] = ()) -> Tile:
    """The tile at `address` as of now, in one round trip to PostGIS.

    The tile cache holds, per tile, the body and the data versions it was built at. When it
    has the tile, or the client revalidates (`client_etags`, the request's If-None-Match), one
    small query reads the current versions: a match is `not_modified`, a cached tile still
    current is served. Otherwise the tile query runs at once; it reads the versions in the
    same snapshot as the data, so a tile never needs a second query. (A cached tile found stale
    after an edit costs both: rare, and never a stale answer.)
    """
    layer = compiled.layer
    if address.z < layer.min_zoom:
        # Empty whatever the data: no query, an ETag that changes only with the code.
        etag = etag_for(FORMAT, (layer.name,), {})
        return Tile(b"", etag, not_modified=etag_matches(etag, client_etags))
    sql, params = tile_sql(compiled, address)
    versions.watch(compiled.tables)
    cache, key = caches[CACHE_ALIAS], _cache_key(sql, params)
    entry = cache.get(key)  # (the versions the body was built at, the body)
    if entry is not None or client_etags:
        current = versions.versions(compiled.tables)
        etag = etag_for(sql, params, current)
        if etag_matches(etag, client_etags):
            return Tile(b"", etag, not_modified=True)
        if entry is not None and entry[0] == current:
            return Tile(entry[1], etag, cached=True)
    mvt, seen = _run(sql, params)
    # The versions read with the data, in the same snapshot: the ETag the body really has.
    built_at = versions.read_in_statement(seen, compiled.tables)
    body = bytes(mvt or b"")
    if len(body) <= CACHE_MAX_BYTES:
        cache.set(key, (built_at, body))
    return Tile(body, etag_for(sql, params, built_at))


def etag_matches(etag: str, client_etags: Sequence[str]) -> bool:
    """Whether a client's If-None-Match (parsed) names `etag`: the copy it has is current.

    By weak comparison, as RFC 9110 (13.1.2) has If-None-Match compare: `W/"abc"` matches
    `"abc"`. A proxy that compresses a response marks its ETag weak, and the browser behind it
    sends that form back; strong comparison answered it a whole tile every time.
    """
    return "*" in client_etags or _opaque(etag) in {_opaque(tag) for tag in client_etags}


def _opaque(etag: str) -> str:
    """The ETag without its weakness indicator: the part weak comparison compares."""
    return etag.removeprefix("W/")


def gzipped(tile: Tile) -> bytes:
    """The tile's body gzipped, as a browser that accepts gzip is sent it (about 40% of the
    bytes for outlines). Made once per ETag, which names exactly one body, and kept in the
    tile cache beside the tile: a cached tile is then served without compressing it again
    (1.8 ms for a 21 kB tile here, as much as the rest of serving it from the cache). No
    random padding: Django adds it against BREACH, which needs a secret and a visitor's own
    text in one body, and a tile has neither."""
    key = "gzip:" + tile.etag.strip('"')
    packed = caches[CACHE_ALIAS].get(key)
    if packed is None:
        packed = gzip.compress(tile.body, compresslevel=6, mtime=0)
        if len(packed) <= CACHE_MAX_BYTES:
            caches[CACHE_ALIAS].set(key, packed)
    return packed


def _cache_key(sql: str, params: tuple) -> str:
    """The tile's cache key: a digest of its SQL and parameters (not of the data versions, so
    a tile rebuilt after an edit replaces its old entry instead of crowding the cache)."""
    return etag_for(sql, params, {}).strip('"')


def _run(sql: str, params: tuple) -> tuple:
    """The tile query's one row, without JIT: a tile query costs enough for PostgreSQL to
    JIT-compile it, which takes longer (25 ms) than running it."""
    return planner.fetch_all_with(["jit = off"], sql, params)[0]
