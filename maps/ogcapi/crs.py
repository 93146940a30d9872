"""The coordinate reference systems served (OGC API - Features Part 2, OGC 18-058r1).

Geometries are stored in EPSG:4326 with longitude first, which is what CRS84 means; every other
CRS is an `ST_Transform` away. EPSG:4326 *as the EPSG registry defines it* has latitude first,
so a client asking for it by its URI gets flipped coordinates (Part 2, /req/crs/crs-uri).

Besides those two, the API serves the trust's own: its metric CRS (`CLT_METRIC_SRID`,
parcels.metric) and the projected CRSs its planners work in (`CLT_OGC_CRS`; the demo's are
Mississippi West in US feet and Mississippi TM, Durham's North Carolina in US feet, EPSG:2264).
Each is described from PROJ's definition (`epsg`), so no trust's CRS is written here.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import pyproj
from django.conf import settings

from parcels.metric import metric_srid

OGC_CRS = "http://www.opengis.net/def/crs/OGC/1.3/"
EPSG_CRS = "http://www.opengis.net/def/crs/EPSG/0/"


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    title: str
    decimals: int  # output precision: about 1 cm in every CRS here
    lat_first: bool = False  # axis order of the CRS's own definition
    # Where the CRS is usable, in its own units (its EPSG area of use with a wide margin): a
    # box is clipped to it before PROJ sees it, since far outside it PROJ has no answer.
    bounds: tuple[float, float, float, float] = (-180.0, -90.0, 180.0, 90.0)

    @property
    def header(self) -> str:
        """The value of a `Content-Crs` header (Part 2, /req/crs/ogc-crs-header)."""
        return f"<{self.uri}>"


CRS84 = Crs(OGC_CRS + "CRS84", 4326, "WGS 84 longitude/latitude (CRS84)", 7)
EPSG_4326 = Crs(EPSG_CRS + "4326", 4326, "WGS 84 latitude/longitude", 7, lat_first=True)
# Output precision, about 1 cm (in degrees, 1 cm is about 1e-7), by the unit of the CRS's axes.
DECIMALS_BY_UNIT = {"metre": 3, "US survey foot": 2, "foot": 2}
# How far beyond its area of use a CRS is still given a box (as clt.places.metric_domain).
MARGIN_DEG = 5.0


@functools.cache
def epsg(srid: int) -> Crs:
    """The projected CRS EPSG:`srid` as served: PROJ's name for it, its own axis order, a
    precision of about 1 cm in its unit, and where a box in it is usable."""
    crs = pyproj.CRS.from_epsg(srid)
    first, *_ = crs.axis_info
    return Crs(
        EPSG_CRS + str(srid),
        srid,
        crs.name,
        DECIMALS_BY_UNIT.get(first.unit_name, 3),
        lat_first=first.direction in ("north", "south"),
        bounds=_usable_bounds(crs),
    )


def _usable_bounds(crs: pyproj.CRS) -> tuple[float, float, float, float]:
    """`crs`'s area of use widened by MARGIN_DEG, in its own easting and northing (a whole
    projection where PROJ answers nothing finite, or where the area crosses the antimeridian)."""
    area = crs.area_of_use
    west, east = (area.west, area.east) if area.west <= area.east else (-180.0, 180.0)
    to_crs = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    box = to_crs.transform_bounds(
        max(west - MARGIN_DEG, -180.0),
        max(area.south - MARGIN_DEG, -90.0),
        min(east + MARGIN_DEG, 180.0),
        min(area.north + MARGIN_DEG, 90.0),
        densify_pts=21,
    )
    return box if all(map(math.isfinite, box)) else (-math.inf, -math.inf, math.inf, math.inf)


MS_WEST_FTUS = epsg(2255)  # the demo county's feet
MS_TM = epsg(3814)
STORAGE = CRS84


def served() -> tuple[Crs, ...]:
    """The CRSs this API serves, as each collection lists them: CRS84 (the storage CRS) and
    EPSG:4326 first, then the trust's (`CLT_OGC_CRS`, then its metric CRS), each once."""
    return _served(tuple(settings.CLT_OGC_CRS), metric_srid())


@functools.cache
def _served(codes: tuple[int, ...], metric: int) -> tuple[Crs, ...]:
    trusts = dict.fromkeys(code for code in (*codes, metric) if code != 4326)
    return (CRS84, EPSG_4326, *map(epsg, trusts))


def by_reference(value: str) -> Crs | None:
    """The served CRS a reference names, or None: a URI (as Part 2 asks), a safe CURIE
    (`[EPSG:2255]`), or as planners and GDAL write it, `EPSG:2255` or the OGC URN
    `urn:ogc:def:crs:EPSG::2255`. EPSG:4326 is latitude first in every spelling, as the EPSG
    registry defines it; CRS84 (`OGC:CRS84`) is longitude first."""
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if text.lower().startswith("urn:ogc:def:crs:"):  # urn:ogc:def:crs:AUTHORITY:VERSION:CODE
        authority, _, code = text[len("urn:ogc:def:crs:") :].partition(":")
        text = f"{authority}:{code.rpartition(':')[2]}"
    authority, colon, code = text.partition(":")
    if colon and authority.upper() in ("EPSG", "OGC"):
        text = (OGC_CRS if authority.upper() == "OGC" else EPSG_CRS) + code
    text = text.replace("https://", "http://", 1)
    return next((crs for crs in served() if crs.uri == text), None)


def short_name(crs: Crs) -> str:
    """`crs` as people write it: `EPSG:2255`, `OGC:CRS84` (what `by_reference` also reads)."""
    authority = "OGC" if crs.uri.startswith(OGC_CRS) else "EPSG"
    return f"{authority}:{crs.uri.rpartition('/')[2]}"
