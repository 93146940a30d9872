"""Overlay polygons (neighbourhoods, flood zones, zoning districts) read from a file.

Neighbourhoods and flood zones are public map layers (maps.layers) and finder filters
(`neighbourhood`, `outside_flood`); zoning districts and "other" polygons are kept for staff's
reference only (the finder's `zoning` reads each parcel's own code from the county file).

Small layers (tens to thousands of polygons), so GeoDjango writes them directly; the geometry
is transformed, made valid and kept as MultiPolygon by PostGIS in the same statement.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.errors
import shapely
from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone
from pyproj import Transformer
from tqdm import tqdm

from parcels.flood_maps import special_flood_hazard_area
from parcels.importing import (
    LIST_SEPARATOR,
    ROWS_SHOWN,
    ImportRefused,
    Source,
    SourceCrs,
    count_text,
    first_text_not_utf8,
    missing_geometry_reasons,
    open_source,
    outline_reason,
    quiet_invalid_wkt,
    read_outlines,
    rows_text,
    source_crs,
)
from parcels.metric import metric_srid, outline_sql
from parcels.models import Overlay
from parcels.queries import TOUCHING_M, overlay_name_key, overlay_name_key_sql

NAME_CANDIDATES = ("name", "nbhd_name", "neighborhood", "neighbourhood", "label", "zone",
                   "fld_zone", "zone_name", "district", "title")  # fmt: skip

# The kinds the finder filters lots by (`--neighbourhood`, `--outside-flood`).
FINDER_KINDS = ("neighbourhood", "flood-zone")


@dataclass(frozen=True)
class ImportedOverlays:
    """What `import_overlays` brought in: how many polygons, from what (the file's name, or the
    layer of it: 'layer floodway of nfhl.gpkg'), and what it left out and why ('' when it kept
    every polygon of the file). `notes` are what else staff should know, a line each: what
    --replace replaced, polygons named by row for want of a name column or of a name in it,
    polygons PostGIS repaired, polygons too narrow to filter a lot, and neighbourhood names
    the finder reads as one with another file's."""

    count: int
    source: str
    left_out: str = ""
    notes: tuple[str, ...] = ()


def import_overlays(
    path: Path | str,
    *,
    kind: str,
    name_field: str | None = None,
    srid: int | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    replace: bool = False,
    all_zones: bool = False,
    progress: bool = False,
) -> ImportedOverlays:
    """Import the polygons in `path` as overlays of `kind`; says how many, and which it left
    out (a FEMA flood map's polygons outside the special flood hazard area, unless
    `all_zones`: `parcels.flood_maps`). All or nothing.

    A row without a usable polygon (no geometry, invalid WKT, empty) refuses the whole file,
    naming the row: an overlay is a filter (outside flood zones), and one silently missing would
    let through the lots it should have kept out. A polygon with no area once made valid (under
    1 m²) is left out and said: no lot can be in it. So is a file
    already in, under its own name (unless `replace`) or another, and `replace` finding
    nothing of the file's name to replace (see "sources" below).
    """
    path = Path(path)
    source = open_source(path, layer, encoding)
    crs = source_crs(source, srid)
    name_column = _name_column(source.columns, name_field)
    frame = _read(source)
    if len(frame) == 0:
        raise ImportRefused(f"{path.name}: the layer has no features; there is nothing to import")
    notes: list[str] = []
    if name_column is None:  # refused for neighbourhoods, said for the other kinds
        notes.append(_named_by_row(path, kind, _text_columns(source, frame)))
    geometries = np.asarray(frame.geometry.array, dtype=object)
    _refuse_missing_geometry(source, geometries, frame.index.to_numpy())
    _refuse_other_than_polygons(path, geometries)
    if crs.keep_within:
        _refuse_far_off(source, crs, geometries)
    kept, left_out = np.ones(len(frame), dtype=bool), ""
    if kind == "flood-zone" and not all_zones:
        kept, left_out = special_flood_hazard_area(path, frame)
    names = [_name(value) for value in frame[name_column]] if name_column else [""] * len(frame)
    if name_column:  # blank cells: refused for neighbourhoods, said for the other kinds
        notes.extend(_unnamed(path, kind, name_column, names, kept))
    rows = [
        (row, name or f"{kind} {row}",
         json.dumps({c: _plain(feature[c]) for c in source.columns if c in feature.index}),
         geometry.wkb)
        for row, ((_, feature), name, geometry, keep) in enumerate(
            zip(frame.iterrows(), names, geometries, kept, strict=True), start=1
        )
        if keep
    ]  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        _stage_overlays(cursor, rows, crs.srid, progress)
        notes.extend(_leave_out_without_area(cursor, path))
        notes.extend(_against_earlier_files(cursor, kind, source, replace))
        notes.extend(_repaired(cursor))
        notes.extend(_narrower_than_the_rule(cursor, kind))
        if kind == "neighbourhood":
            notes.extend(_names_in_other_files(kind, source, [name for _, name, _, _ in rows]))
        cursor.execute(
            """INSERT INTO parcels_overlay (kind, name, attributes, geom, source_file,
                   source_layer, imported_at)
               SELECT %s, name, attributes, geom, %s, %s, now()
               FROM overlay_ready ORDER BY row_no""",
            [kind, path.name, source.part],
        )
        cursor.execute("SELECT count(*) FROM overlay_ready")
        (imported,) = cursor.fetchone()
        cursor.execute("DROP TABLE overlay_ready")
    read = _source_text(path.name, source.part)
    return ImportedOverlays(imported, read, left_out, tuple(notes))


# --- sources: the file a kind's overlays came from -----------------------------------------
#
# Overlays remember the bare name of their file (`source_file`), and which of its layers they
# are when it holds several (`source_layer`: `Source.part`); --replace replaces those of the
# same kind, name and layer: a new edition saved under the old one's name. A name is not a
# map, though: FEMA calls the flood layer S_FLD_HAZ_AR in every county, and one map saved as
# .gpkg and as .geojson has two names. So a name's overlays whose areas do not overlap the new
# file's (`_lies_apart`: the neighbouring county's, meeting it at the county line) are another
# area's, and are neither replaced nor said to be this file again; a file whose polygons are
# mostly in already, from a file of another name, is that map again; and --replace finding
# nothing of the name to replace imports nothing (it would add a second edition).


def _against_earlier_files(cursor, kind: str, source: Source, replace: bool) -> list[str]:
    """Refuse the staged file when it is a map already in (under another name; under its own
    without `replace`) or when `replace` finds nothing of its name to replace; otherwise, with
    `replace`, delete the overlays it replaces and say so."""
    _refuse_copy_of_another_file(cursor, kind, source)
    earlier = Overlay.objects.filter(kind=kind, **_from_source(source))
    if not replace:
        if earlier.exists():
            _refuse_importing_again(cursor, earlier, kind, source)
        return []
    if not earlier.exists():
        _refuse_nothing_to_replace(kind, source)
    return [_replace_earlier(cursor, earlier, kind, source)]


def _from_source(source: Source) -> dict[str, str]:
    """The lookup of the overlays imported from `source`'s file name and layer."""
    return {"source_file": source.path.name, "source_layer": source.part}


def _source_text(source_file: str, source_layer: str) -> str:
    """'nbhd.geojson'; 'layer floodway of nfhl.gpkg' when it is one of the file's layers."""
    return f"layer {source_layer} of {source_file}" if source_layer else source_file


def _this_file(source: Source) -> str:
    """'a file of this name', or 'layer floodway of a file of this name'."""
    return f"layer {source.part} of a file of this name" if source.part else "a file of this name"


def _refuse_importing_again(cursor, earlier, kind: str, source: Source) -> None:
    """Refuse a file whose overlays of `kind` are already in the registry: imported twice,
    each polygon is listed twice (on the map, in the legend's counts); --replace says what
    was meant. When the earlier ones lie apart, they are another area's map under the same
    name, and the file is to be renamed instead."""
    count, imported = _count_and_date(earlier)
    are = "are" if count != 1 else "is"
    what = (f"{source.path.name}: {_overlays(count, kind)} from {_this_file(source)} {are} "
            f"already in the registry (imported {imported})")  # fmt: skip
    if _lies_apart(cursor, kind, source):
        raise ImportRefused(
            f"{what}, covering another area than this file. To keep both, "
            f"{_rename(source.path)} "
            "and import it again. Nothing was imported"
        )
    raise ImportRefused(
        f"{what}; importing it again would list each twice. To replace them with this file, "
        "add --replace. Nothing was imported"
    )


def _replace_earlier(cursor, earlier, kind: str, source: Source) -> str:
    """Delete the overlays of `kind` from a file of this name (and layer), and say how many and
    from when; refused when they lie apart from this file's polygons: another area's map under
    the same name (FEMA's S_FLD_HAZ_AR of the neighbouring county), which --replace would
    delete."""
    count, imported = _count_and_date(earlier)
    if _lies_apart(cursor, kind, source):
        raise ImportRefused(
            f"{source.path.name}: --replace would delete the {_overlays(count, kind)} from "
            f"{_this_file(source)} (imported {imported}), and they lie apart from this file's "
            f"polygons: another area's map. To keep both, {_rename(source.path)} and import it "
            "without --replace. Nothing was imported"
        )
    earlier.delete()
    replaced = _source_text(source.path.name, source.part)
    return f"replaced {_overlays(count, kind)} from {replaced} (imported {imported})"


def _refuse_nothing_to_replace(kind: str, source: Source) -> None:
    """Refuse --replace when no overlay of `kind` came from a file of this name, saying where
    the kind's overlays come from: imported anyway, a new edition saved under a new name was
    listed beside the earlier one, every area twice, and --replace meant the opposite."""
    sources = (
        Overlay.objects.filter(kind=kind).values("source_file", "source_layer")
        .annotate(count=Count("pk"), first=Min("imported_at"))
        .order_by("first", "source_file", "source_layer")
    )  # fmt: skip
    others = [f"{_source_text(s['source_file'], s['source_layer'])} ({s['count']:,}, imported "
              f"{timezone.localdate(s['first']):%Y-%m-%d})" for s in sources]  # fmt: skip
    name = source.path.name
    named = _source_text(f"a file named {name}", source.part)
    said = f"{name}: --replace found no {kind} overlays from {named}"
    if not others:
        raise ImportRefused(
            f"{said}, nor any other {kind} overlays, to replace. To add it, import it without "
            "--replace. Nothing was imported"
        )
    and_layer = " (and layer)" if any(s["source_layer"] for s in sources) else ""
    raise ImportRefused(
        f"{said} to replace; {kind} overlays come from {', '.join(others)}. To replace an "
        f"earlier edition, import the new one under the earlier file's name{and_layer}, in its "
        "format (ogr2ogr converts one to another), with --replace: rename a GeoPackage or GeoJSON; "
        "rename each part of a shapefile (.shp, .dbf, .shx, .prj). To add it, import it "
        "without --replace. Nothing was imported"
    )


def _refuse_copy_of_another_file(cursor, kind: str, source: Source) -> None:
    """Refuse a file most of whose polygons are already overlays of `kind` from a file of
    another name: the same map in another format (.gpkg, then .geojson), which would list each
    area twice. Polygons are compared snapped to SAME_POLYGON_GRID and put in a canonical
    order (ST_Normalize), so a format's rounding and ring order do not tell copies apart."""
    cursor.execute(
        """WITH new AS (SELECT row_no, geom, ST_Normalize(ST_SnapToGrid(geom, %(grid)s)) AS shape
                        FROM overlay_ready)
           SELECT o.source_file, o.source_layer, min(o.imported_at), count(DISTINCT n.row_no),
                  (SELECT count(*) FROM overlay_ready)
           FROM new n JOIN parcels_overlay o
             ON o.kind = %(kind)s AND (o.source_file, o.source_layer) <> (%(name)s, %(layer)s)
            AND o.geom && n.geom AND ST_Normalize(ST_SnapToGrid(o.geom, %(grid)s)) = n.shape
           GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2 LIMIT 1""",
        {"grid": SAME_POLYGON_GRID, "kind": kind, "name": source.path.name, "layer": source.part},
    )
    found = cursor.fetchone()
    if found is None or found[3] * 2 <= found[4]:
        return
    other_file, other_layer, first, same, total = found
    other = _source_text(other_file, other_layer)
    raise ImportRefused(
        f"{source.path.name}: {same:,} of its {total:,} polygons are already in the registry, as "
        f"{kind} overlays from {other} (imported {timezone.localdate(first):%Y-%m-%d}): the same "
        "map under another name. Importing it would list each area twice, and --replace is not the "
        "fix: it replaces only the overlays from a file of the same name. To update that map, "
        f"import its new edition under the earlier file's name ({other}) with --replace. "
        "Nothing was imported"
    )


# Two polygons are the same when equal snapped to this grid, in degrees (about 1 cm).
SAME_POLYGON_GRID = 1e-7


def _lies_apart(cursor, kind: str, source: Source) -> bool:
    """Whether no overlay of `kind` from `source`'s file name and layer overlaps a polygon of the
    file being imported by more than TOUCHING_M, the registry's rule for a lot in an overlay
    (it meets the overlay's `core_m`): another area's map under the same name, not an earlier
    edition of this one, which overlaps it nearly everywhere. The neighbouring county's map
    meets this one along the county line (FEMA clips each county's at it), where bounding
    boxes, and even outlines drawn twice a few centimetres apart, meet too; their areas do
    not."""
    # The old overlays' cores are on an index (overlay_core_m); the new polygons are moved to
    # the metric CRS once each, not once for every old polygon they are compared with.
    cursor.execute(
        """SELECT NOT EXISTS (
               SELECT FROM (SELECT ST_Transform(geom, %s) AS geom_m FROM overlay_ready
                            OFFSET 0) n
               JOIN parcels_overlay o ON o.core_m && n.geom_m AND ST_Intersects(o.core_m, n.geom_m)
               WHERE o.kind = %s AND o.source_file = %s AND o.source_layer = %s)""",
        [metric_srid(), kind, source.path.name, source.part],
    )
    return cursor.fetchone()[0]


def _count_and_date(overlays) -> tuple[int, str]:
    """How many `overlays`, and the date the first of them was imported ('2025-06-30')."""
    found = overlays.aggregate(count=Count("pk"), first=Min("imported_at"))
    return found["count"], f"{timezone.localdate(found['first']):%Y-%m-%d}"


def _overlays(count: int, kind: str) -> str:
    """'3 flood-zone overlays', '1 neighbourhood overlay'."""
    return count_text(count, f"{kind} overlay")


def _rename(path: Path) -> str:
    """The advice to rename `path` after the area it covers (a shapefile with its parts)."""
    parts = " (with its .dbf, .shx and .prj)" if path.suffix.lower() == ".shp" else ""
    return f"rename this file after its area{parts}, e.g. {path.stem}_countyname{path.suffix},"


OVERLAY_BATCH = 2_000


def _stage_overlays(
    cursor, rows: list[tuple[int, str, str, bytes]], srid: int, progress: bool
) -> None:
    """(row number, name, attributes, WKB) of each row, made 2D, transformed and made valid,
    into the temporary table overlay_ready, a batch of rows per statement (one statement per
    row took 8 s for 20,000 polygons), with a progress bar when there is more than one batch.
    Z and M values are dropped (ArcGIS exports PolygonZ; an overlay is a 2D area); why PostGIS
    found a polygon invalid is kept in `invalid_reason`, for `_repaired`."""
    cursor.execute(
        "CREATE TEMP TABLE overlay_ready (row_no integer, name text, attributes jsonb, "
        "invalid_reason text, geom geometry(MultiPolygon, 4326)) ON COMMIT DROP"
    )
    shown = progress and len(rows) > OVERLAY_BATCH  # a single statement needs no bar
    with tqdm(total=len(rows), unit=" polygons", disable=not shown, desc="importing",
              leave=False) as bar:  # fmt: skip
        for start in range(0, len(rows), OVERLAY_BATCH):
            batch = rows[start : start + OVERLAY_BATCH]
            numbers, names, attributes, wkbs = (list(c) for c in zip(*batch, strict=True))
            cursor.execute(
                """INSERT INTO overlay_ready
                   SELECT row_no, name, attributes, reason, ST_Multi(ST_CollectionExtract(
                              CASE WHEN reason IS NULL THEN shape ELSE ST_MakeValid(shape) END, 3))
                   FROM unnest(%s::integer[], %s::text[], %s::text[]::jsonb[], %s::bytea[])
                        AS given(row_no, name, attributes, wkb)
                   CROSS JOIN LATERAL (
                       SELECT ST_Transform(ST_Force2D(ST_GeomFromWKB(wkb, %s)), 4326) AS shape
                       OFFSET 0) read
                   CROSS JOIN LATERAL (
                       SELECT (ST_IsValidDetail(shape)).reason OFFSET 0) checked""",
                [numbers, names, attributes, wkbs, srid],
            )
            bar.update(len(batch))


def _leave_out_without_area(cursor, path: Path) -> list[str]:
    """Leave out the polygons with no area, saying which: none left once made valid, or under
    1 m² in the trust's metric CRS (points on a line in feet keep a few nm² once in degrees).
    No lot can be in one (its shrunk outline, `core_m`, is empty), so nothing is lost; a FEMA
    map with one such sliver was refused whole, and could not be fixed by the trust. A file
    of nothing else is refused: there is nothing to import."""
    # Measured in metres only when small in degrees: 1e-8 square degrees is over 20 m² up to
    # 80° of latitude, and most polygons are spared a transform.
    cursor.execute(
        """DELETE FROM overlay_ready
           WHERE geom IS NULL OR ST_IsEmpty(geom)
              OR (ST_Area(geom) < 1e-8 AND ST_Area(ST_Transform(geom, %s)) < 1)
           RETURNING row_no""",
        [metric_srid()],
    )
    gone = sorted(row for (row,) in cursor.fetchall())
    if not gone:
        return []
    why = "under 1 m², or nothing left once made valid"
    cursor.execute("SELECT EXISTS (SELECT FROM overlay_ready)")
    if not cursor.fetchone()[0]:
        raise ImportRefused(
            f"{path.name}: no polygon has an area ({rows_text(gone)}: {why}); there is nothing "
            "to import. Nothing was imported"
        )
    count = len(gone)
    return [
        f"left out {count_text(count, 'polygon')} with no area ({rows_text(gone)}: "
        f"{why}): no lot can be in {'it' if count == 1 else 'them'}"
    ]


SELF_INTERSECTION = re.compile(r"(ring )?self-intersection", re.IGNORECASE)


def _repaired(cursor) -> list[str]:
    """'repaired 2 self-intersecting polygons (rows 3, 7)' when ST_MakeValid changed any (a
    bow tie becomes two triangles), as the parcel import flags its repairs; [] when none.
    Other defects (a hole outside its shell) are named by PostGIS's reason."""
    cursor.execute(
        "SELECT row_no, invalid_reason FROM overlay_ready WHERE invalid_reason IS NOT NULL "
        "ORDER BY row_no"
    )
    found = cursor.fetchall()
    if not found:
        return []
    rows = rows_text(row for row, _ in found)
    reasons = sorted({reason.lower() for _, reason in found})
    if all(SELF_INTERSECTION.fullmatch(reason) for reason in reasons):
        return [f"repaired {count_text(len(found), 'self-intersecting polygon')} ({rows})"]
    return [f"repaired {count_text(len(found), 'invalid polygon')} ({rows}: {', '.join(reasons)})"]


def _narrower_than_the_rule(cursor, kind: str) -> list[str]:
    """'1 polygon narrower than 1 m (row 4): …', the staged polygons nothing is left of once
    shrunk by TOUCHING_M in the metric CRS: their `core_m`, which a lot must meet to be in the
    overlay, is empty, and a drainage channel 0.8 m wide through a lot keeps it out of no
    search. Only for the kinds the finder filters by; [] when there are none."""
    if kind not in FINDER_KINDS:
        return []
    # Only a polygon of area A ≤ 2rP + πr²N (perimeter P, N vertices) can lie within r of its
    # outline everywhere (the points at distance t from it lie on lines beside its edges and
    # arcs round its vertices, 2P + 2πtN long at most). That rules out nearly every polygon of
    # a county's map, and only the rest are shrunk here: the insert shrinks each for `core_m`
    # already, and shrinking thousands of detailed polygons twice would double that work.
    srid, r_m = metric_srid(), TOUCHING_M * 1.1  # a margin for the buffer's rounded corners
    cursor.execute(
        f"""SELECT row_no FROM (SELECT row_no, geom, ST_Transform(geom, %s) AS geom_m
                                FROM overlay_ready OFFSET 0) staged
            WHERE CASE WHEN ST_Area(geom_m) <= 2 * %s * ST_Perimeter(geom_m)
                                                + pi() * %s ^ 2 * ST_NPoints(geom_m)
                       THEN ST_IsEmpty({outline_sql(srid, TOUCHING_M)}) ELSE false END
            ORDER BY row_no""",
        [srid, r_m, r_m],
    )
    narrow = [row for (row,) in cursor.fetchall()]
    if not narrow:
        return []
    one = len(narrow) == 1
    return [
        f"{count_text(len(narrow), 'polygon')} narrower than {2 * TOUCHING_M:g} m "
        f"({rows_text(narrow)}): a lot is in an overlay when it overlaps it by more than "
        f"{TOUCHING_M:g} m, and nothing is left of {'it' if one else 'them'} shrunk by "
        f"{TOUCHING_M:g} m, so {'it filters' if one else 'they filter'} no lot"
    ]


def _refuse_far_off(source: Source, crs: SourceCrs, geometries: np.ndarray) -> None:
    """Refuse, naming the first, the polygons lying outside the area `crs` allows while the
    rest of the file lies inside it (`source_crs` says so with `keep_within`)."""
    centres = shapely.centroid(geometries)
    to_degrees = Transformer.from_crs(crs.srid, 4326, always_xy=True)
    lon, lat = to_degrees.transform(shapely.get_x(centres), shapely.get_y(centres))
    outside = np.flatnonzero(~crs.contains(lon, lat))
    if len(outside) == 0:
        return
    at = int(outside[0])
    more = f" ({len(outside):,} such rows)" if len(outside) > 1 else ""
    raise ImportRefused(
        f"{source.path.name}: row {at + 1}: lies at lon {lon[at]:.2f}, lat {lat[at]:.2f}, "
        f"outside {crs.outside_text}, far from the file's other polygons{more}; fix or remove "
        "it. Nothing was imported"
    )


POLYGON_TYPE_IDS = (3, 6)  # shapely's Polygon, MultiPolygon


def _refuse_other_than_polygons(path: Path, geometries: np.ndarray) -> None:
    """Refuse a layer holding anything but polygons, with the count of each type and the first
    row of another type (a flood-zone file with its boundary lines in it, say)."""
    kinds = shapely.get_type_id(geometries)
    foreign = np.flatnonzero(~np.isin(kinds, POLYGON_TYPE_IDS))
    if len(foreign) == 0:
        return
    _, first, counts = np.unique(kinds, return_index=True, return_counts=True)
    tally = ", ".join(
        f"{geometries[at].geom_type} ×{count:,}"
        for at, count in zip(first.tolist(), counts.tolist(), strict=True)
    )
    if len(foreign) == len(geometries):
        raise ImportRefused(f"{path.name} holds no polygons ({tally}): overlays must be polygons")
    at = int(foreign[0])
    raise ImportRefused(
        f"{path.name}: mixed geometry types ({tally}); row {at + 1} is a "
        f"{geometries[at].geom_type}. Overlays must be polygons: export the polygon layer "
        "alone, then import again. Nothing was imported"
    )


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
    except shapely.errors.GEOSException:
        raise _unreadable_outline(source) from None
    except UnicodeDecodeError as exc:
        where = _first_non_utf8(source)
        fix = (
            "Give the encoding it is in with --encoding (e.g. --encoding CP1252), or save it "
            "as UTF-8, and import it again"
            if source.gdal_path.lower().endswith(".shp")
            else "Save the file as UTF-8 and import it again"
        )
        raise ImportRefused(
            f"{source.path.name}: the text{where} is not UTF-8 ({exc.reason}, byte "
            f"0x{exc.object[exc.start]:02x}). {fix}"
        ) from None


def _unreadable_outline(source: Source) -> ImportRefused:
    """The refusal naming the first row whose outline GEOS cannot read (a ring left open, a
    ring of fewer than four points), found by reading the outlines again as WKB."""
    wkbs = read_outlines(source)
    present = np.array([wkb is not None for wkb in wkbs], dtype=bool)
    unreadable = np.flatnonzero(present & shapely.is_missing(
        shapely.from_wkb(wkbs, on_invalid="ignore")
    ))  # fmt: skip
    if len(unreadable) == 0:
        return ImportRefused(f"{source.path.name}: an outline cannot be read; fix or remove it")
    at = int(unreadable[0])
    try:
        shapely.from_wkb(wkbs[at])
        reason = "unreadable outline"
    except shapely.errors.GEOSException as exc:
        reason = outline_reason(str(exc))
    more = f" ({len(unreadable):,} such rows)" if len(unreadable) > 1 else ""
    return ImportRefused(
        f"{source.path.name}: row {at + 1}: {reason}{more}; fix or remove it. Nothing was imported"
    )


def _first_non_utf8(source: Source) -> str:
    """' in row N (column C)' for the first text that is not UTF-8; '' if not found."""
    try:
        found = first_text_not_utf8(source.gdal_path, source.layer, source.open_options)
    except Exception:  # noqa: BLE001 - only to name the row; the refusal stands without it
        return ""
    return f" in row {found[0]} (column {found[1]})" if found else ""


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


def _text_columns(source: Source, frame) -> list[str]:
    """The file's columns holding text (what a column of names would be), in its order."""
    return [column for column in source.columns
            if column in frame.columns and frame[column].dtype.kind in "OSU"]  # fmt: skip


def _named_by_row(path: Path, kind: str, text_columns: list[str]) -> str:
    """What to say when no column names the polygons: they are named by row ('zoning 3').
    Refused for neighbourhoods: the finder and the public map go by their names, and "Belhaven"
    published as "neighbourhood 3" can be neither found nor recognised."""
    columns = (f"its text columns: {', '.join(text_columns)}" if text_columns
               else "it has no text columns")  # fmt: skip
    looked = f"none of {', '.join(NAME_CANDIDATES)}"
    choose = f"--name-field {text_columns[0] if text_columns else 'COLUMN'}"
    if kind == "neighbourhood":
        raise ImportRefused(
            f"{path.name}: no column of neighbourhood names found ({looked}); {columns}. Name "
            f"the column that holds them, e.g. {choose}. Nothing was imported"
        )
    return (
        f"no column of names found ({looked}; {columns}): the polygons are named by row "
        f"({kind} 1, {kind} 2, …). To name them from a column, import again with --replace "
        f"{choose}"
    )


def _unnamed(
    path: Path, kind: str, column: str, names: list[str], kept: np.ndarray
) -> list[str]:
    """Refuse a neighbourhood file with rows whose name is blank, naming them: a neighbourhood
    is found by its name (the finder, the public map's legend), and "neighbourhood 3" is
    neither found nor recognised. For the other kinds, the rows kept are named by row, and
    the note says which; [] when every row kept has a name."""
    blank = [row for row, (name, keep) in enumerate(zip(names, kept, strict=True), start=1)
             if keep and not name]  # fmt: skip
    if not blank:
        return []
    if kind == "neighbourhood":
        many = len(blank) > ROWS_SHOWN
        raise ImportRefused(
            f"{path.name}: {rows_text(blank)}: no name in column {column}"
            f"{f' ({len(blank):,} such rows)' if many else ''}; a neighbourhood is found by its "
            "name (the finder's --neighbourhood, the public map). Fill the names in or remove "
            "those rows. Nothing was imported"
        )
    return [
        f"{rows_text(blank)}: no name in column {column}; named by row ({kind} {blank[0]}"
        f"{', …' if len(blank) > 1 else ''})"
    ]


NAMES_SHOWN = 10


def _names_in_other_files(kind: str, source: Source, names: list[str]) -> list[str]:
    """A note naming this file's names that the finder reads as one with names from other
    files (`overlay_name_key`: "Bethel" and "Béthel", "ONeal Park" and "O’Neal Park"; the same
    name too): `--neighbourhood Béthel` then finds the lots of both files' polygons, silently.
    [] when none. Whether they are one place (keep one file) is for staff to say."""
    keys: dict[str, str] = {}
    for name in names:
        keys.setdefault(overlay_name_key(name), name)
    keys.pop("", None)
    found = (
        Overlay.objects.filter(kind=kind).exclude(**_from_source(source))
        .annotate(key=overlay_name_key_sql()).filter(key__in=list(keys))
        .values_list("key", "name", "source_file", "source_layer").distinct()
        .order_by("key", "name", "source_file", "source_layer")
    )  # fmt: skip
    elsewhere: dict[str, list[str]] = {}
    for key, name, source_file, source_layer in found:
        given, other = keys[key], _source_text(source_file, source_layer)
        elsewhere.setdefault(given, []).append(
            f"also in {other}" if name == given else f"as '{name}' in {other}"
        )
    if not elsewhere:
        return []
    met = [f"'{name}' ({'; '.join(elsewhere[name])})" for name in keys.values()
           if name in elsewhere]  # fmt: skip
    shown = ", ".join(met[:NAMES_SHOWN]) + (", …" if len(met) > NAMES_SHOWN else "")
    one = len(met) == 1
    return [
        f"{count_text(len(met), f'{kind} name')} of this file match{'es' if one else ''} "
        "names from other files as the finder matches names (case, accents, apostrophes, "
        f"spacing and dashes aside): {shown}. The finder reads "
        f"{'them' if one else 'each such name'} as one {kind}: --{kind} finds the lots in both. "
        "If they are the same place, keep one file: import the one to keep under the other's "
        "file name with --replace"
    ]


def _name(value) -> str:
    """An overlay's name from its name column: lists joined, objects as JSON, and '' where the
    cell is empty (`_unnamed`), never "nan" or "None". Spaces around it are dropped and runs of
    them inside made one ("Belhaven  " as exported is "Belhaven"): the finder strips what staff
    type, and would never match it. At most 200 characters, the column's."""
    value = _plain(value)
    if isinstance(value, list):
        value = LIST_SEPARATOR.join(_spaced(v) for v in value if _spaced(v))
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    return ("" if value is None else _spaced(value))[:200]


def _spaced(value) -> str:
    """`value` as text, without spaces around it and with one space for each run inside."""
    return " ".join(str(value).split()) if value is not None else ""


def _plain(value):
    """An attribute as JSON holds it: NaN as null, numpy values as Python's, lists and objects
    (GeoJSON properties) as JSON lists and objects, not as their Python repr."""
    if isinstance(value, np.ndarray | list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, str | int | float | bool) else str(value)
