"""A synthetic county-assessor parcel layer for West Jackson, Mississippi, for tests and benchmarks.

`generate_city(path, parcels, seed)` writes a GeoPackage with one layer, ``parcels``, in
EPSG:2255 (NAD83 / Mississippi West, US survey feet), shaped like a Hinds County assessor export.

Layout
    Rectangular blocks in a straight street grid with a 60 ft right-of-way between blocks. Each
    block is split along its east-west midline into a south and a north half; each half is cut
    into lots that face the street on their side and share the midline as a rear line, so
    neighbouring lots share side and rear lines exactly (no gaps, no overlaps). Block widths
    (360-720 ft) vary by grid column and half-block depths (100-180 ft) by grid row, so streets
    stay straight. Lot frontages are 40-120 ft; the last lot on each block face takes the
    remainder (40-159 ft, as corner lots often do). Coordinates are whole feet from a centre at
    32.30 N, 90.21 W, converted to EPSG:2255 once with pyproj.
    Blocks are laid out in a square spiral of two-block cells growing outward from the centre,
    so a city of any size is a roughly square patch around West Jackson (2,000 parcels span about
    1.5 km; 1,000,000 parcels about 30 km, a metro area).
    About 3% of parcels are two lots merged into one polygon (the old lot corner is kept as a
    collinear vertex, as a dissolve leaves it) and about 2% are MultiPolygons: a lot plus a
    detached 20-40 ft rear strip of the lot two doors down (a garage or parking piece).

Columns
    apn                "BBB-PPP-SSS": book, page (from the block), parcel within the block;
                       unique except for the planted duplicate.
    address            house number + street, numbered 100 to a block from a north-south axis
                       east of the centre ("1120 W Capitol St"); odd on the north side of a
                       street, even on the south side.
    owner              owner of record: private people ("JOHNSON MARY L", "HEIRS OF ..."), LLCs,
                       churches, "CITY OF JACKSON", "STATE OF MISSISSIPPI" (tax-forfeited land).
    land_use           county land-use code, see LAND_USE_CODES.
    zoning             R-1, R-2, C-2 or I-1 (see ZONING_CODES), by district of 3 x 4 blocks.
    land_value         dollars (integer), from lot area, zoning and neighbourhood.
    improvement_value  dollars (integer); 0 exactly when the parcel is vacant.
    acreage            lot area in sq ft / 43,560, rounded to 4 places, as drawn before any
                       defect was planted (the roll keeps the acreage when the map loses a shape).
    vacant             1 when land_use is V or VC, else 0 (about 20% of parcels; clustered by
                       block).
    tax_delinquent     1 when taxes are delinquent: about 35% of privately owned vacant parcels,
                       8% of privately owned improved ones, never public or church land.
    geom               MultiPolygon (every parcel is written as one, so the layer has one type).

Planted defects, as real county data has them (recorded in `SynthSummary`)
    In every started window of 100,000 parcels, one of each kind sits at a random odd offset
    among the window's first 100 parcels: so every city of 100 parcels or more has at least one
    of each, and 1,000,000 parcels have ten of each.
    - an invalid ring: the lot's outline with an inverted notch that touches the ring at a point
      (ESRI software accepts it; OGC and shapely say "Ring Self-intersection").
    - a duplicate APN: the parcel carries the APN of the parcel written just before it.
    - an empty geometry: written as an empty MultiPolygon, which GDAL reads back as
      "MULTIPOLYGON EMPTY" (not NULL).

Determinism
    The same (seed, parcels) gives the same features, whatever `chunk_size`: blocks are generated
    in fixed batches of `BLOCKS_PER_BATCH`, each from its own stream
    ``Generator(PCG64(SeedSequence([seed, 1, batch])))``, and grid dimensions and zoning come from
    a counter-based hash of (seed, column, row). A smaller city is therefore the first features of
    a larger one with the same seed. The files are not byte-identical: a GeoPackage records the
    time it was written.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pyogrio.errors
import pyogrio.raw
import shapely
from pyproj import Transformer
from tqdm import tqdm

SRID = 2255
LAYER = "parcels"
CENTRE_LON_LAT = (-90.21, 32.30)  # West Jackson, Mississippi
SQFT_PER_ACRE = 43_560

STREET_ROW_FT = 60
BLOCK_WIDTH_FT = (360, 720)  # east-west, in steps of 10 ft
HALF_DEPTH_FT = (100, 180)  # lot depth, in steps of 5 ft
FRONTAGE_FT = np.array([40, 45, 50, 50, 55, 60, 60, 65, 70, 75, 80, 90, 100, 120])
MAX_LOTS_PER_FACE = (BLOCK_WIDTH_FT[1] - 40) // 40 + 1
MERGE_SHARE = 0.06  # of lots at an even position on their block face: about 3% of parcels
MULTIPART_SHARE = 0.09  # of parcels at positions 0, 4, 8... on a face: about 2% of parcels
STRIP_DEPTH_FT = (20, 40)
ADDRESS_AXIS_COLUMN = 8  # the grid column where house numbers start; west of it is "W"

BLOCKS_PER_BATCH = 512  # part of the output's identity: changing it changes every city
DEFECT_WINDOW = 100_000
DEFECT_SPAN = 100

LAND_USE_CODES = {
    "R1": "single-family residence",
    "R2": "duplex, two-family residence",
    "R3": "small multifamily, three or four units",
    "C1": "commercial: retail, office, service",
    "I1": "industrial, warehouse",
    "E": "exempt improved: church, government building",
    "V": "vacant residential land",
    "VC": "vacant commercial or industrial land",
}
IMPROVED_USES = ("R1", "R2", "R3", "C1", "I1", "E")
ZONING_CODES = {
    "R-1": "single-family residential",
    "R-2": "two-family residential",
    "C-2": "limited commercial",
    "I-1": "light industrial",
}
ZONING_SHARE = np.array([0.55, 0.25, 0.13, 0.07])
# P(improved use | zoning), columns in IMPROVED_USES order: non-conforming uses included.
IMPROVED_USE_GIVEN_ZONING = np.array(
    [
        [0.90, 0.05, 0.00, 0.00, 0.00, 0.05],
        [0.55, 0.30, 0.08, 0.02, 0.00, 0.05],
        [0.15, 0.05, 0.03, 0.67, 0.02, 0.08],
        [0.05, 0.00, 0.00, 0.20, 0.70, 0.05],
    ]
)
LAND_DOLLARS_PER_SQFT = np.array([0.70, 0.60, 2.00, 1.00])  # by zoning
IMPROVEMENT_MEDIAN_DOLLARS = np.array([48_000, 62_000, 120_000, 160_000, 240_000, 210_000])

OWNER_KINDS = ("person", "llc", "church", "city", "state")
# P(owner kind | land use), rows in LAND_USE_CODES order, columns in OWNER_KINDS order.
OWNER_GIVEN_USE = np.array(
    [
        [0.85, 0.13, 0.01, 0.01, 0.00],
        [0.70, 0.28, 0.01, 0.01, 0.00],
        [0.35, 0.63, 0.02, 0.00, 0.00],
        [0.30, 0.66, 0.02, 0.02, 0.00],
        [0.15, 0.83, 0.00, 0.02, 0.00],
        [0.00, 0.00, 0.75, 0.22, 0.03],
        [0.52, 0.12, 0.04, 0.14, 0.18],
        [0.30, 0.35, 0.03, 0.14, 0.18],
    ]
)
HEIRS_SHARE_OF_VACANT_PERSONS = 0.2
DELINQUENT_SHARE_VACANT, DELINQUENT_SHARE_IMPROVED = 0.35, 0.08  # of privately owned parcels

# East-west streets, real Jackson names first: the street list is walked outward from the centre.
STREETS = (
    "Capitol St", "Amite St", "Pearl St", "Pascagoula St", "Lynch St", "Rose St", "Ewing St",
    "Prentiss St", "Robinson Rd", "Hooker St", "Dalton St", "Fortification St", "High St",
    "Griffith St", "Hattiesburg St", "Tunica St", "Rankin St", "Cooper Rd", "Whitfield Mill Rd",
    "McDowell Rd", "Raymond Rd", "Valley St", "Terry Rd", "Florence Ave", "Sunset Dr",
    "Clinton Blvd", "Bailey Ave", "Northside Dr", "Meadowbrook Rd", "Beasley Rd", "Gallatin St",
    "Lamar St", "Farish St", "Mill St", "Monument St", "Davis St", "Lewis St", "Cleveland Ave",
    "Mayes St", "Bullard St", "Deer Park St", "Edwards St", "Topp Ave", "Hawthorn Dr",
    "Boling St", "Morehead St", "Guynes St", "Ellis Ave", "Livingston Rd", "Hanging Moss Rd",
    "Siwell Rd", "Cherry St", "Magnolia St", "Oak St", "Pecan Blvd", "Cedar St", "Dogwood Dr",
    "Jefferson St", "Madison St", "Adams St", "Grayson St", "Maple St", "Kirkley Dr",
)  # fmt: skip
# Further out the names repeat with another suffix, as subdivisions reuse them.
STREET_SUFFIXES = ("Ave", "Dr", "Pl", "Cir", "Ln", "Ct", "Way", "Cv")
LAST_NAMES = (
    "JOHNSON", "WILLIAMS", "BROWN", "JONES", "SMITH", "DAVIS", "JACKSON", "HARRIS", "THOMAS",
    "WASHINGTON", "MOORE", "ROBINSON", "LEWIS", "TAYLOR", "WALKER", "YOUNG", "WHITE", "HILL",
    "GREEN", "MITCHELL", "BELL", "WILSON", "ANDERSON", "MARTIN", "THOMPSON", "CLARK", "HALL",
    "MILLER", "KING", "WRIGHT", "SCOTT", "TURNER", "CARTER", "EVERS", "GRIFFIN", "BUTLER",
    "COLEMAN", "SIMMONS", "HAWKINS", "MCGEE", "HOLLOWAY", "LUMUMBA", "BANKS", "STAMPS", "FOSTER",
    "BYRD", "PAYNE", "HUDSON", "PERKINS", "TUCKER",
)  # fmt: skip
FIRST_NAMES = (
    "MARY", "JAMES", "WILLIE", "ANNIE", "JOHN", "DOROTHY", "ROBERT", "BETTY", "CHARLES", "LOUISE",
    "GEORGE", "RUBY", "EDDIE", "HATTIE", "HENRY", "MATTIE", "SAMUEL", "ESSIE", "LEROY", "GLORIA",
    "CURTIS", "BERNICE", "OTIS", "BRENDA", "CALVIN", "SHIRLEY", "EARL", "DELORES", "TIMOTHY",
    "PATRICIA", "KEVIN", "TONYA", "MARCUS", "LATOYA", "DERRICK", "KEISHA", "ANTHONY", "ANGELA",
    "REGINALD", "FELICIA",
)  # fmt: skip
INITIALS = tuple("ABCDEGJLMRW") + ("",)
LLC_WORDS = (
    "MAGNOLIA", "CAPITAL CITY", "PEARL RIVER", "DELTA", "WEST JACKSON", "HINDS", "SOUTHERN",
    "METRO", "BELHAVEN", "RIVERSIDE", "CROSSROADS", "NEW SOUTH", "LYNCH STREET", "PARKWAY",
)  # fmt: skip
LLC_KINDS = ("PROPERTIES LLC", "HOLDINGS LLC", "INVESTMENTS LLC", "RENTALS LLC", "REALTY INC")
CHURCH_NAMES = (
    "NEW HOPE", "GREATER MT CALVARY", "ST LUKE", "MT NEBO", "PEARL STREET", "FIRST", "SHILOH",
    "GREATER BETHLEHEM", "CORNERSTONE", "TRUE LIGHT", "MORNING STAR", "NEW JERUSALEM",
    "ZION HILL", "GREATER MT OLIVE", "PILGRIM REST", "COLLEGE HILL",
)  # fmt: skip
CHURCH_KINDS = (
    "MISSIONARY BAPTIST CHURCH", "BAPTIST CHURCH", "AME CHURCH", "CME CHURCH",
    "CHURCH OF GOD IN CHRIST", "UNITED METHODIST CHURCH",
)  # fmt: skip

COLUMNS = (
    "apn", "address", "owner", "land_use", "zoning", "land_value", "improvement_value",
    "acreage", "vacant", "tax_delinquent",
)  # fmt: skip


@dataclass(frozen=True)
class SynthSummary:
    """What `generate_city` wrote, and where it planted the defects a loader must survive."""

    path: Path
    parcels: int
    srid: int
    bbox: tuple[float, float, float, float]  # minx, miny, maxx, maxy in EPSG:2255 feet
    invalid_ring_apns: tuple[str, ...]
    duplicate_apns: tuple[str, ...]  # each appears on exactly two different parcels
    empty_geometry_apns: tuple[str, ...]


def generate_city(
    path: Path | str,
    parcels: int,
    seed: int,
    *,
    progress: bool = True,
    chunk_size: int = 50_000,
) -> SynthSummary:
    """Write `parcels` synthetic West Jackson parcels to the GeoPackage at `path`, replacing it.

    Memory stays roughly constant: parcels are generated and appended `chunk_size` at a time.
    """
    if parcels < 1:
        raise ValueError(f"parcels: must be at least 1, got {parcels}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size: must be at least 1, got {chunk_size}")
    path = Path(path)
    _make_room(path)
    planted = _Planted()
    bounds = np.array([np.inf, np.inf, -np.inf, -np.inf])
    try:
        with tqdm(
            total=parcels, unit=" parcels", unit_scale=True, disable=not progress, file=sys.stderr
        ) as bar:
            for start, chunk in _chunks(seed, parcels, chunk_size):
                planted.plant(chunk, start, seed)
                _write(path, chunk, append=start > 0)
                bounds = _union_bounds(bounds, chunk.geometry)
                bar.update(len(chunk))
    except BaseException as exc:  # a full disk, Ctrl-C: a part of a city is no city
        path.unlink(missing_ok=True)
        if isinstance(exc, OSError | pyogrio.errors.DataSourceError):
            raise SynthError(f"cannot write {path}: {exc}") from exc
        raise
    return SynthSummary(
        path=path,
        parcels=parcels,
        srid=SRID,
        bbox=tuple(float(v) for v in bounds),
        invalid_ring_apns=tuple(planted.invalid),
        duplicate_apns=tuple(planted.duplicate),
        empty_geometry_apns=tuple(planted.empty),
    )


# --- chunks of parcels -------------------------------------------------------------------------


@dataclass
class _Parcels:
    """A run of parcels: MultiPolygons and their attribute columns, index-aligned."""

    geometry: np.ndarray
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.geometry)

    def slice(self, start: int, stop: int) -> _Parcels:
        columns = {name: values[start:stop] for name, values in self.columns.items()}
        return _Parcels(self.geometry[start:stop], columns)

    @staticmethod
    def concat(parts: list[_Parcels]) -> _Parcels:
        if len(parts) == 1:
            return parts[0]
        geometry = np.concatenate([p.geometry for p in parts])
        columns = {c: np.concatenate([p.columns[c] for p in parts]) for c in COLUMNS}
        return _Parcels(geometry, columns)


def _chunks(seed: int, parcels: int, chunk_size: int) -> Iterator[tuple[int, _Parcels]]:
    """(global index of the first parcel, parcels) in runs of `chunk_size`, `parcels` in all."""
    buffered: list[_Parcels] = []
    buffered_count = 0
    written = 0
    batch = 0
    while written < parcels:
        wanted = min(chunk_size, parcels - written)
        while buffered_count < wanted:
            generated = _batch(seed, batch)
            batch += 1
            buffered.append(generated)
            buffered_count += len(generated)
        pool = _Parcels.concat(buffered)
        yield written, pool.slice(0, wanted)
        rest = pool.slice(wanted, len(pool))
        buffered, buffered_count = ([rest], len(rest)) if len(rest) else ([], 0)
        written += wanted


class SynthError(ValueError):
    """A city that cannot be written where it was asked for; the message names the file."""


def _make_room(path: Path) -> None:
    """Remove an earlier file at `path` and make sure a new one can be made there.

    Tried with an empty file of our own, as GDAL names no reason: a missing or read-only folder
    was a DataSourceError traceback "sqlite3_open(...) failed: unable to open database file".
    """
    try:
        path.unlink(missing_ok=True)
        path.open("xb").close()
        path.unlink()  # GDAL creates the GeoPackage itself
    except OSError as exc:
        if not path.parent.is_dir():
            reason = f"there is no folder {path.parent}"
        else:
            reason = exc.strerror or str(exc)
        fix = "choose a folder you may write to"
        raise SynthError(f"cannot write {path}: {reason}; {fix}") from exc


def _write(path: Path, chunk: _Parcels, *, append: bool) -> None:
    """Append a chunk to the `parcels` layer (creating the GeoPackage for the first one)."""
    pyogrio.raw.write(
        path,
        shapely.to_wkb(chunk.geometry),
        [chunk.columns[c] for c in COLUMNS],
        list(COLUMNS),
        layer=LAYER,
        driver="GPKG",
        geometry_type="MultiPolygon",
        crs=f"EPSG:{SRID}",
        append=append,
        # GeoPackage 1.3 rather than GDAL 3.12's 1.4, so GDAL 3.6 tools read it without warning.
        dataset_options=None if append else {"VERSION": "1.3"},
    )


def _union_bounds(bounds: np.ndarray, geometry: np.ndarray) -> np.ndarray:
    """The bounds so far widened by `geometry`'s (empty geometries have NaN bounds: skipped)."""
    each = shapely.bounds(geometry)
    mins = np.nanmin(each[:, :2], axis=0, initial=np.inf)
    maxs = np.nanmax(each[:, 2:], axis=0, initial=-np.inf)
    return np.concatenate([np.minimum(bounds[:2], mins), np.maximum(bounds[2:], maxs)])


# --- planted defects ---------------------------------------------------------------------------


class _Planted:
    """Plants the defects into chunks as they pass, and remembers their APNs."""

    def __init__(self) -> None:
        self.invalid: list[str] = []
        self.duplicate: list[str] = []
        self.empty: list[str] = []
        self._previous_apn = ""

    def plant(self, chunk: _Parcels, start: int, seed: int) -> None:
        stop = start + len(chunk)
        apns = chunk.columns["apn"]
        for window in range(start // DEFECT_WINDOW, (stop - 1) // DEFECT_WINDOW + 1):
            invalid, duplicate, empty = _defect_indices(seed, window)
            if start <= invalid < stop:
                chunk.geometry[invalid - start] = _inverted_notch(chunk.geometry[invalid - start])
                self.invalid.append(apns[invalid - start])
            if start <= duplicate < stop:
                i = duplicate - start
                apns[i] = apns[i - 1] if i > 0 else self._previous_apn
                self.duplicate.append(apns[i])
            if start <= empty < stop:
                chunk.geometry[empty - start] = shapely.MultiPolygon()
                self.empty.append(apns[empty - start])
        self._previous_apn = apns[-1]


def _defect_indices(seed: int, window: int) -> tuple[int, int, int]:
    """Global indices of the (invalid ring, duplicate APN, empty geometry) parcels in a window.

    Odd offsets from 1, so the parcel whose APN is copied is never itself a planted defect.
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([_entropy(seed), 2, window])))
    offsets = 1 + 2 * rng.choice(DEFECT_SPAN // 2, size=3, replace=False)
    invalid, duplicate, empty = (window * DEFECT_WINDOW + int(o) for o in offsets)
    return invalid, duplicate, empty


def _inverted_notch(parcel: shapely.MultiPolygon) -> shapely.MultiPolygon:
    """The parcel with a notch cut into the first edge of its first part, as an inverted ring.

    The notch leaves from and returns to the edge's midpoint, so the ring touches itself there.
    """
    first, *rest = shapely.get_parts(parcel)
    ring = shapely.get_coordinates(shapely.get_exterior_ring(first))
    (x0, y0), (x1, y1) = ring[0], ring[1]
    mid = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    along = np.array([x1 - x0, y1 - y0]) / np.hypot(x1 - x0, y1 - y0)
    inward = np.array([-along[1], along[0]])  # rings are counter-clockwise: inside is left
    notch = [mid, mid + 15 * inward - 8 * along, mid + 15 * inward + 8 * along, mid]
    coords = np.vstack([ring[:1], notch, ring[1:]])
    return shapely.MultiPolygon([shapely.Polygon(coords), *rest])


# --- one batch of blocks -----------------------------------------------------------------------


def _batch(seed: int, batch: int) -> _Parcels:
    """The parcels of blocks batch * BLOCKS_PER_BATCH onward, a function of (seed, batch) only."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([_entropy(seed), 1, batch])))
    blocks = _Blocks.at(seed, batch * BLOCKS_PER_BATCH + np.arange(BLOCKS_PER_BATCH))
    lots = _Lots.cut(blocks, rng)
    lots_parcels = _LotParcels.assemble(lots, blocks, rng)
    geometry = lots_parcels.geometry()
    area_sqft = shapely.area(geometry)
    columns = _attributes(seed, lots_parcels, blocks, area_sqft, rng)
    return _Parcels(geometry, columns)


@dataclass(frozen=True)
class _Blocks:
    """Blocks in integer feet from the centre: x from `left` to `left + width`, y from `bottom`
    through `middle` (the rear line of both halves) to `top`."""

    index: np.ndarray  # global block number, in spiral order
    column: np.ndarray
    row: np.ndarray
    left: np.ndarray
    width: np.ndarray
    bottom: np.ndarray
    middle: np.ndarray
    top: np.ndarray

    @staticmethod
    def at(seed: int, index: np.ndarray) -> _Blocks:
        cell_x, cell_y = _square_spiral(index // 2)
        column, row = cell_x, 2 * cell_y + index % 2  # a cell is two blocks, one above the other
        c_radius, left, width = _grid_columns(seed, _reach(column))
        r_radius, bottom, south, north = _grid_rows(seed, _reach(row))
        c, r = column + c_radius, row + r_radius
        return _Blocks(
            index=index,
            column=column,
            row=row,
            left=left[c],
            width=width[c],
            bottom=bottom[r],
            middle=bottom[r] + south[r],
            top=bottom[r] + south[r] + north[r],
        )


def _square_spiral(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of cell n on a square spiral from (0, 0): ring k holds n in [(2k-1)^2, (2k+1)^2)."""
    root = np.floor(np.sqrt(n)).astype(np.int64)
    root -= root * root > n
    root += (root + 1) * (root + 1) <= n
    k = (root + 1) // 2
    side = np.maximum(2 * k, 1)
    m = n - (2 * k - 1) ** 2
    face, t = m // side, m % side
    x = np.select([face == 0, face == 1, face == 2], [k, k - 1 - t, -k], -k + 1 + t)
    y = np.select([face == 0, face == 1, face == 2], [-k + 1 + t, k, k - 1 - t], -k)
    centre = n == 0
    return np.where(centre, 0, x), np.where(centre, 0, y)


def _reach(lines: np.ndarray) -> int:
    """A power of two at least as far from 0 as any of `lines`, so grids are cached in few sizes."""
    return 1 << int(np.abs(lines).max()).bit_length()


@cache
def _grid_columns(seed: int, radius: int) -> tuple[int, np.ndarray, np.ndarray]:
    """(radius, west edge, width) of block columns -radius..radius, indexed by column + radius.

    Widths come from a hash of (seed, column), so they do not depend on the radius.
    """
    columns = np.arange(-radius, radius + 1)
    steps = (BLOCK_WIDTH_FT[1] - BLOCK_WIDTH_FT[0]) // 10 + 1
    width = BLOCK_WIDTH_FT[0] + 10 * (steps * _hash01(seed, 10, columns, 0)).astype(np.int64)
    return radius, _low_edges(width, radius), width


@cache
def _grid_rows(seed: int, radius: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """(radius, south edge, south half depth, north half depth) of block rows, by row + radius."""
    rows = np.arange(-radius, radius + 1)
    steps = (HALF_DEPTH_FT[1] - HALF_DEPTH_FT[0]) // 5 + 1
    south = HALF_DEPTH_FT[0] + 5 * (steps * _hash01(seed, 11, rows, 0)).astype(np.int64)
    north = HALF_DEPTH_FT[0] + 5 * (steps * _hash01(seed, 11, rows, 1)).astype(np.int64)
    return radius, _low_edges(south + north, radius), south, north


def _low_edges(size: np.ndarray, radius: int) -> np.ndarray:
    """Low edges of blocks of `size` (lines -R..R) separated by streets, line 0 centred on 0."""
    pitch = size + STREET_ROW_FT
    low = np.empty_like(size)
    low[radius] = -(size[radius] // 2)
    low[radius + 1 :] = low[radius] + np.cumsum(pitch[radius:-1])
    low[:radius] = low[radius] - np.cumsum(pitch[:radius][::-1])[::-1]
    return low


@dataclass(frozen=True)
class _Lots:
    """Lots in block-face order (south face then north face of each block, west to east)."""

    face: np.ndarray  # 2 * local block + (0 south, 1 north)
    position: np.ndarray  # 0, 1, 2... from the west along the face
    face_count: np.ndarray  # lots on this lot's face
    west: np.ndarray  # feet east of the block's west edge
    east: np.ndarray

    @staticmethod
    def cut(blocks: _Blocks, rng: np.random.Generator) -> _Lots:
        width = np.repeat(blocks.width, 2)
        frontage = rng.choice(FRONTAGE_FT, size=(width.size, MAX_LOTS_PER_FACE))
        ends = np.cumsum(frontage, axis=1)
        # Whole lots while at least 40 ft is left; the last lot takes the remainder (40-159 ft).
        whole = (ends <= (width - 40)[:, None]).sum(axis=1)
        count = whole + 1
        position = np.arange(MAX_LOTS_PER_FACE + 1)
        east = np.concatenate([ends, np.zeros((width.size, 1), np.int64)], axis=1)
        east[np.arange(width.size), whole] = width
        west = np.concatenate([np.zeros((width.size, 1), np.int64), ends], axis=1)
        keep = position[None, :] < count[:, None]
        face = np.broadcast_to(np.arange(width.size)[:, None], keep.shape)
        return _Lots(
            face=face[keep],
            position=np.broadcast_to(position, keep.shape)[keep],
            face_count=np.broadcast_to(count[:, None], keep.shape)[keep],
            west=west[keep],
            east=east[keep],
        )


@dataclass(frozen=True)
class _LotParcels:
    """Parcels of one batch in integer feet: a lot, two merged lots, or a lot and a rear strip."""

    face: np.ndarray
    position: np.ndarray  # 0, 1, 2... along the face
    west: np.ndarray
    joint: np.ndarray  # the old lot line of a merged parcel, else -1
    east: np.ndarray
    low: np.ndarray  # south and north edges, after any rear strip was given away
    high: np.ndarray
    strip_of: np.ndarray  # index of the parcel whose rear strip this one owns, else -1
    strip_low: np.ndarray
    strip_high: np.ndarray
    origin: tuple[float, float]
    block_left: np.ndarray

    @staticmethod
    def assemble(lots: _Lots, blocks: _Blocks, rng: np.random.Generator) -> _LotParcels:
        merge = (lots.position % 2 == 0) & (lots.position + 1 < lots.face_count)
        merge &= rng.random(lots.face.size) < MERGE_SHARE
        starts = np.ones(lots.face.size, bool)
        starts[1:] = ~merge[:-1]
        first = np.flatnonzero(starts)
        last = np.where(merge[first], first + 1, first)
        face = lots.face[first]
        position = np.arange(first.size) - np.searchsorted(face, face)
        per_face = np.bincount(face, minlength=2 * blocks.index.size)[face]
        block = face // 2
        north = face % 2 == 1
        low = np.where(north, blocks.middle[block], blocks.bottom[block])
        high = np.where(north, blocks.top[block], blocks.middle[block])
        joint = np.where(merge[first], lots.east[first], -1)
        strip_of, strip_low, strip_high = _sell_rear_strips(
            position, per_face, joint < 0, north, blocks.middle[block], low, high, rng
        )
        return _LotParcels(
            face=face,
            position=position,
            west=lots.west[first],
            joint=joint,
            east=lots.east[last],
            low=low,
            high=high,
            strip_of=strip_of,
            strip_low=strip_low,
            strip_high=strip_high,
            origin=_centre_2255(),
            block_left=blocks.left[block],
        )

    def geometry(self) -> np.ndarray:
        """MultiPolygons in EPSG:2255, rings counter-clockwise, vertices shared exactly."""
        ox, oy = self.origin
        west = ox + (self.block_left + self.west)
        east = ox + (self.block_left + self.east)
        joint = ox + (self.block_left + self.joint)
        low, high = oy + self.low, oy + self.high
        parts = np.empty(self.face.size, object)
        single = self.joint < 0
        parts[single] = _rectangles(west[single], east[single], low[single], high[single])
        m = ~single
        ring = [
            (west[m], low[m]), (joint[m], low[m]), (east[m], low[m]),
            (east[m], high[m]), (joint[m], high[m]), (west[m], high[m]),
        ]  # fmt: skip
        parts[m] = shapely.polygons(np.stack([np.stack(v, axis=-1) for v in ring], axis=1))
        owner = np.flatnonzero(self.strip_of >= 0)
        donor = self.strip_of[owner]
        strips = _rectangles(
            west[donor], east[donor], oy + self.strip_low[owner], oy + self.strip_high[owner]
        )
        order = np.argsort(np.concatenate([np.arange(self.face.size), owner]), kind="stable")
        indices = np.concatenate([np.arange(self.face.size), owner])[order]
        return shapely.multipolygons(np.concatenate([parts, strips])[order], indices=indices)


def _sell_rear_strips(
    position: np.ndarray,
    per_face: np.ndarray,
    single: np.ndarray,
    north: np.ndarray,
    middle: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which parcel owns a detached rear strip of which, and the strips' south and north edges.

    A receiver at positions 0, 4, 8... on a face takes a 20-40 ft rear strip of the single lot
    two doors east (donors sit at 2, 6, 10..., so no parcel both gives and takes); the donor's
    rear line moves in by the strip's depth (`low`/`high` are updated in place).
    """
    receiver = (position % 4 == 0) & (position + 2 < per_face) & single
    receiver[receiver] &= single[np.flatnonzero(receiver) + 2]
    receiver &= rng.random(position.size) < MULTIPART_SHARE
    depth = rng.integers(STRIP_DEPTH_FT[0], STRIP_DEPTH_FT[1] + 1, position.size)
    strip_low = np.where(north, middle, middle - depth)
    strip_high = np.where(north, middle + depth, middle)
    taker = np.flatnonzero(receiver)
    donor = taker + 2
    low[donor] = np.where(north[donor], strip_high[taker], low[donor])
    high[donor] = np.where(north[donor], high[donor], strip_low[taker])
    strip_of = np.where(receiver, np.arange(position.size) + 2, -1)
    return strip_of, strip_low, strip_high


def _rectangles(west, east, low, high) -> np.ndarray:
    corners = [(west, low), (east, low), (east, high), (west, high)]
    return shapely.polygons(np.stack([np.stack(c, axis=-1) for c in corners], axis=1))


@cache
def _centre_2255() -> tuple[float, float]:
    """The city centre in EPSG:2255 feet, rounded to 0.01 ft."""
    to_feet = Transformer.from_crs(4326, SRID, always_xy=True)
    x, y = to_feet.transform(*CENTRE_LON_LAT)
    return round(x, 2), round(y, 2)


# --- attributes --------------------------------------------------------------------------------


def _attributes(
    seed: int,
    parcels: _LotParcels,
    blocks: _Blocks,
    area_sqft: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """The assessor's columns for one batch, drawn in a fixed order from the batch's stream."""
    n = parcels.face.size
    block = parcels.face // 2
    zoning = _district_zoning(seed, blocks.column[block], blocks.row[block])
    block_vacancy = rng.beta(2, 8, blocks.index.size)  # mean 0.2, clustered by block
    block_land_factor = rng.lognormal(0.0, 0.35, blocks.index.size)
    vacant = rng.random(n) < block_vacancy[block]
    improved_use = _categorical(rng.random(n), IMPROVED_USE_GIVEN_ZONING[zoning])
    vacant_use = np.where(zoning <= 1, 6, 7)  # V on residential zoning, VC elsewhere
    use = np.where(vacant, vacant_use, improved_use)
    owner_kind = _categorical(rng.random(n), OWNER_GIVEN_USE[use])
    land_value = LAND_DOLLARS_PER_SQFT[zoning] * area_sqft * block_land_factor[block]
    land_value = np.maximum(250, np.round(land_value * rng.lognormal(0, 0.15, n), -1))
    improvement = IMPROVEMENT_MEDIAN_DOLLARS[improved_use] * rng.lognormal(0, 0.55, n)
    improvement = np.where(vacant, 0, np.round(improvement, -2))
    delinquent_share = np.where(vacant, DELINQUENT_SHARE_VACANT, DELINQUENT_SHARE_IMPROVED)
    delinquent = (rng.random(n) < delinquent_share) & (owner_kind <= 1)
    return {
        "apn": _apns(blocks.index[block], parcels),
        "address": _addresses(parcels, blocks),
        "owner": _owners(owner_kind, vacant, rng),
        "land_use": np.array(list(LAND_USE_CODES), object)[use],
        "zoning": np.array(list(ZONING_CODES), object)[zoning],
        "land_value": land_value.astype(np.int64),
        "improvement_value": improvement.astype(np.int64),
        "acreage": np.round(area_sqft / SQFT_PER_ACRE, 4),
        "vacant": vacant.astype(np.int32),
        "tax_delinquent": delinquent.astype(np.int32),
    }


def _categorical(u: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Per row, the index of the category that u falls in, given that row's probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative[:, -1] = 1.0
    return (u[:, None] >= cumulative).sum(axis=1)


def _district_zoning(seed: int, column: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Zoning index for each parcel: one draw per district of 3 columns by 4 rows of blocks."""
    u = _hash01(seed, 12, column // 3, row // 4)
    return _categorical(u, np.broadcast_to(ZONING_SHARE, (u.size, ZONING_SHARE.size)))


def _apns(block_index: np.ndarray, parcels: _LotParcels) -> np.ndarray:
    """APNs "BBB-PPP-SSS": 999 blocks to a book, parcels numbered within their block."""
    first_in_block = np.searchsorted(parcels.face // 2, parcels.face // 2)
    sequence = np.arange(parcels.face.size) - first_in_block + 1
    book, page = 100 + block_index // 999, block_index % 999 + 1
    parts = [_zfill(book), "-", _zfill(page), "-", _zfill(sequence)]
    return _join(parts).astype(object)


def _addresses(parcels: _LotParcels, blocks: _Blocks) -> np.ndarray:
    """House numbers 100 to a block from the address axis, odd on a street's north side."""
    block = parcels.face // 2
    north_face = parcels.face % 2 == 1
    column = blocks.column[block]
    west_side = column < ADDRESS_AXIS_COLUMN
    middle = (parcels.west + parcels.east) / 2
    width = blocks.width[block]
    from_axis = np.where(west_side, (width - middle) / width, middle / width)
    hundreds = np.where(west_side, ADDRESS_AXIS_COLUMN - column, column - ADDRESS_AXIS_COLUMN + 1)
    number = 100 * hundreds + 2 * np.floor(from_axis * 49).astype(np.int64) + ~north_face
    # The north face of row r fronts street r + 1, and is on that street's south side (even).
    street = blocks.row[block] + north_face
    prefix = np.where(west_side, " W ", " E ")
    return _join([number.astype(str), prefix, _street_names(street)]).astype(object)


def _street_names(street: np.ndarray) -> np.ndarray:
    """Names of east-west streets: street 0 is Capitol St; names are used outward from it."""
    rank = np.where(street > 0, 2 * street - 1, -2 * street)
    unique, inverse = np.unique(rank, return_inverse=True)
    names = np.array([_street_name(int(r)) for r in unique])
    return names[inverse]


def _street_name(rank: int) -> str:
    base = STREETS[rank % len(STREETS)]
    cycle = rank // len(STREETS)
    if cycle == 0:
        return base
    stem = base.rsplit(" ", 1)[0]
    return f"{stem} {STREET_SUFFIXES[(cycle - 1) % len(STREET_SUFFIXES)]}"


def _owners(kind: np.ndarray, vacant: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Owner-of-record strings for each parcel's owner kind (index into OWNER_KINDS)."""
    people, llcs, churches = _owner_pools()
    public = np.array(["", "", "", "CITY OF JACKSON", "STATE OF MISSISSIPPI"], object)
    owner = public[kind]
    draws = {0: people, 1: llcs, 2: churches}
    picks = rng.random((len(draws), kind.size))
    for row, (k, pool) in enumerate(draws.items()):
        chosen = kind == k
        owner[chosen] = pool[(picks[row, chosen] * pool.size).astype(np.int64)]
    heirs = (kind == 0) & vacant & (rng.random(kind.size) < HEIRS_SHARE_OF_VACANT_PERSONS)
    owner[heirs] = "HEIRS OF " + owner[heirs]
    return owner


@cache
def _owner_pools() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All private names ("LAST FIRST I"), LLC names and church names, as object arrays."""
    people = [
        f"{last} {first} {initial}".rstrip()
        for last in LAST_NAMES
        for first in FIRST_NAMES
        for initial in INITIALS
    ]
    llcs = [f"{word} {kind}" for word in LLC_WORDS for kind in LLC_KINDS]
    churches = [f"{name} {kind}" for name in CHURCH_NAMES for kind in CHURCH_KINDS]
    return tuple(np.array(pool, object) for pool in (people, llcs, churches))


def _zfill(values: np.ndarray) -> np.ndarray:
    return np.strings.zfill(values.astype(str), 3)


def _join(parts: list) -> np.ndarray:
    joined = parts[0]
    for part in parts[1:]:
        joined = np.strings.add(joined, part)
    return joined


# --- seeds and hashing -------------------------------------------------------------------------


def _entropy(seed: int) -> int:
    """A non-negative integer for SeedSequence, one per seed (negative seeds zig-zag)."""
    return 2 * seed if seed >= 0 else -2 * seed - 1


def _hash01(seed: int, salt: int, a: np.ndarray, b) -> np.ndarray:
    """Uniform [0, 1) numbers that depend only on (seed, salt, a, b): SplitMix64's finaliser."""
    key = np.random.SeedSequence([_entropy(seed), 3, salt]).generate_state(1, np.uint64)[0]
    a = np.asarray(a, np.int64).astype(np.uint64)
    b = np.broadcast_to(np.asarray(b, np.int64), a.shape).astype(np.uint64)
    z = key ^ (a * np.uint64(0x9E3779B97F4A7C15)) ^ (b * np.uint64(0xC2B2AE3D27D4EB4F))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)
