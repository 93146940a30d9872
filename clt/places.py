"""Where the trust is, checked without Django: the settings refuse a metric CRS that cannot
measure in metres before anything starts (parcels/metric.py keeps the columns in it).

Only PROJ (pyproj) is used here, so clt/settings.py can call it while it loads.
"""

from __future__ import annotations

import pyproj

Centre = tuple[float, float]  # latitude, longitude


def metric_domain(srid: int) -> tuple[float, float, float, float]:
    """Where EPSG:`srid` is used (its area of use), widened by 5°, as (west, south, east,
    north) in degrees: well inside where the projection is defined, far beyond any parcel the
    registry keeps. Land, points and boxes outside it are refused (parcels.queries)."""
    area = pyproj.CRS.from_epsg(srid).area_of_use
    return area.west - 5, area.south - 5, area.east + 5, area.north + 5


def _utm_suggestion(crs: pyproj.CRS, centre: Centre) -> str:
    """The WGS 84 / UTM zone over the middle of `crs`'s area of use, or over the map's centre
    (CLT_MAP_CENTER) when that area is wider than a zone or two (a CRS of the whole world)."""
    area = crs.area_of_use
    if area is not None and area.east - area.west <= 12:
        lat, lon = (area.south + area.north) / 2, (area.west + area.east) / 2
    else:
        lat, lon = centre
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    code, hemisphere = (32600 + zone, "N") if lat >= 0 else (32700 + zone, "S")
    return (f"the trust's state-plane zone in metres, or EPSG:{code} "
            f"(WGS 84 / UTM zone {zone}{hemisphere})")  # fmt: skip


def metric_crs_problem(srid: int, centre: Centre) -> str | None:
    """Why EPSG:`srid` cannot be the trust's metric CRS (None: it can): it must be a projected
    CRS whose axes are in metres, or distances in "metres" would be degrees or feet."""
    try:
        crs = pyproj.CRS.from_epsg(srid)
    except pyproj.exceptions.CRSError:
        return (f"CLT_METRIC_SRID={srid} is not an EPSG code PROJ knows: name a projected CRS "
                "in metres, e.g. CLT_METRIC_SRID=32119 (NAD83 / North Carolina)")  # fmt: skip
    if not crs.is_projected:
        return (f"CLT_METRIC_SRID={srid} ({crs.name}) is not projected: distances in it would "
                f"be degrees. Name {_utm_suggestion(crs, centre)}")  # fmt: skip
    units = {axis.unit_name for axis in crs.axis_info}
    if units != {"metre"}:
        unit = ", ".join(sorted(units))
        return (f"CLT_METRIC_SRID={srid} ({crs.name}) is in {unit}, not metres. Name "
                f"{_utm_suggestion(crs, centre)}")  # fmt: skip
    return None


# What to do about a map centre outside the metric CRS (`centre_outside_problem`).
CENTRE_FIX = (
    "Set CLT_METRIC_SRID to the trust's own state-plane zone in metres or UTM zone (or "
    "CLT_MAP_CENTER to the trust's city, as latitude,longitude), then clt migrate"
)


def centre_outside_problem(srid: int, centre: Centre) -> str | None:
    """Why the map's centre and the metric CRS disagree (None: they agree): a centre outside
    where EPSG:`srid` is used means one of the two is another place's, and the registry would
    refuse the trust's land (what to do: CENTRE_FIX)."""
    lat, lon = centre
    west, south, east, north = metric_domain(srid)
    if west <= lon <= east and south <= lat <= north:
        return None
    name = pyproj.CRS.from_epsg(srid).name
    return (f"The map opens at {lat:g},{lon:g} (CLT_MAP_CENTER), outside where CLT_METRIC_SRID's "
            f"EPSG:{srid} ({name}) is used: the registry would refuse land there")  # fmt: skip
