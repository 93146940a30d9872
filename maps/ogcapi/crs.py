"""The coordinate reference systems served (OGC API - Features Part 2, OGC 18-058r1).

Geometries are stored in EPSG:4326 with longitude first, which is what CRS84 means; every other
CRS is an `ST_Transform` away. EPSG:4326 *as the EPSG registry defines it* has latitude first,
so a client asking for it by its URI gets flipped coordinates (Part 2, /req/crs/crs-uri).
"""

from __future__ import annotations

from dataclasses import dataclass

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
MS_WEST_FTUS = Crs(
    EPSG_CRS + "2255",
    2255,
    "NAD83 / Mississippi West (US survey feet)",
    2,
    bounds=(1_000_000.0, 0.0, 3_500_000.0, 3_000_000.0),
)
MS_TM = Crs(
    EPSG_CRS + "3814",
    3814,
    "NAD83 / Mississippi TM (metres)",
    3,
    bounds=(0.0, 700_000.0, 1_000_000.0, 1_900_000.0),
)

SUPPORTED: tuple[Crs, ...] = (CRS84, EPSG_4326, MS_WEST_FTUS, MS_TM)
STORAGE = CRS84


def by_reference(value: str) -> Crs | None:
    """The served CRS a URI or safe CURIE (`[EPSG:2255]`) names, or None."""
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        authority, _, code = text[1:-1].partition(":")
        text = (OGC_CRS if authority.upper() == "OGC" else EPSG_CRS) + code
    text = text.replace("https://", "http://", 1)
    return next((crs for crs in SUPPORTED if crs.uri == text), None)
