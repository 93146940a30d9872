"""A small street of parcels for the OGC API and export tests, built on tests/factories.

Lots sit in a row along a west-east street, 0.001° (about 95 m) apart, so a bbox can pick a
known subset. Some outlines are drawn clockwise, and one has a hole, so winding is tested.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.contrib.gis.geos import MultiPolygon, Polygon

from clt.roles import READ_ONLY, apply_roles, grant_role
from parcels.models import Parcel
from tests import factories

WEST_LON, LAT = -90.2100, 32.2990
STEP_DEG = 0.001
SIDE_DEG = 0.0003


def lot_at(index: int, *, clockwise: bool = False, hole: bool = False) -> MultiPolygon:
    """The outline of lot number `index` along the street."""
    x0, y0 = WEST_LON + index * STEP_DEG, LAT
    x1, y1 = x0 + SIDE_DEG, y0 + SIDE_DEG
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    if clockwise:
        ring.reverse()
    rings = [ring]
    if hole:  # an inner courtyard, drawn counter-clockwise (the wrong way for RFC 7946)
        d = SIDE_DEG / 4
        rings.append(
            [
                (x0 + d, y0 + d),
                (x1 - d, y0 + d),
                (x1 - d, y1 - d),
                (x0 + d, y1 - d),
                (x0 + d, y0 + d),
            ]
        )
    return MultiPolygon(Polygon(*rings), srid=4326)


def lot_bbox(first: int, last: int) -> str:
    """A CRS84 bbox covering lots `first` to `last` (inclusive) and no others."""
    x0 = WEST_LON + first * STEP_DEG - STEP_DEG / 4
    x1 = WEST_LON + last * STEP_DEG + SIDE_DEG + STEP_DEG / 4
    return f"{x0},{LAT - 0.0001},{x1},{LAT + SIDE_DEG + 0.0001}"


def lot_centre(index: int) -> tuple[float, float]:
    """The CRS84 longitude and latitude of the middle of lot number `index`."""
    return WEST_LON + index * STEP_DEG + SIDE_DEG / 2, LAT + SIDE_DEG / 2


def county_feet(lon: float, lat: float) -> tuple[float, float]:
    """A CRS84 point as easting and northing in the county's CRS (EPSG:2255, US feet)."""
    from pyproj import Transformer

    return Transformer.from_crs(4326, 2255, always_xy=True).transform(lon, lat)


@dataclass
class Street:
    trust: list[Parcel] = field(default_factory=list)  # held by the trust (trust-land layer)
    vacant: list[Parcel] = field(default_factory=list)  # vacant, not held (vacant-lots layer)
    occupied: list[Parcel] = field(default_factory=list)  # in no trust layer
    leased: list[Parcel] = field(default_factory=list)  # trust parcels under a lease (staff)


ACQUIRED = (dt.date(2015, 1, 20), dt.date(2017, 3, 1), dt.date(2020, 6, 15), dt.date(2023, 9, 9))


def street(*, trust: int = 4, vacant: int = 5, occupied: int = 2) -> Street:
    """`trust` trust lots (the first leased, the second available), then vacant, then occupied."""
    made = Street()
    index = 0
    for i in range(trust):
        p = factories.parcel(
            geom=lot_at(index, clockwise=i % 2 == 1, hole=i == 2),
            vacancy_status="occupied",
            land_use="RES",
        )
        held = factories.holding(
            parcels=[p], acquired_on=ACQUIRED[i % len(ACQUIRED)], available=i == 1
        )
        if i == 0:
            factories.lease(holding_=held)
            made.leased.append(p)
        made.trust.append(p)
        index += 1
    for i in range(vacant):
        made.vacant.append(
            factories.parcel(
                geom=lot_at(index, clockwise=i % 2 == 0), zoning="R-1" if i < 2 else "C-2"
            )
        )
        index += 1
    for _ in range(occupied):
        made.occupied.append(factories.parcel(geom=lot_at(index), vacancy_status="occupied"))
        index += 1
    return made


def staff_user(username: str = "planner", password: str = "pw") -> User:
    """A staff member with the read-only role: the staff layers need a role, not only staff."""
    user = User.objects.create_user(username, password=password, is_staff=True)
    apply_roles()
    grant_role(user, READ_ONLY)
    return user


def roleless_staff_user(username: str = "bare", password: str = "pw") -> User:
    """A staff account with no role (never given one, or had it taken away)."""
    return User.objects.create_user(username, password=password, is_staff=True)


def resident_user(username: str = "resident", password: str = "pw") -> User:
    return User.objects.create_user(username, password=password)


def download(client, url: str) -> bytes:
    """The body of a 200 answer to `url`, streamed (an export) or not."""
    response = client.get(url)
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.getvalue()
