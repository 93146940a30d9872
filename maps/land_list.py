"""The land without the map: `/map/list/`, the trust's own land as tables of text.

The map draws the land in panes a screen reader is told to skip, and opens a parcel only at a
click, so a keyboard or screen-reader user could reach none of it; the front page lists the
first twelve homes available and left the rest to the map (WCAG 2.1.1 Keyboard, 1.1.1
Non-text Content: a map needs a text equivalent that carries its information). This page is
that equivalent for what the trust itself holds: the homes and lots available now, its land by
use, and the land under conservation easement, each row with a link to it on the map.

It reads the map's own public layers through `Layer.rows()`, one query each, so only each
layer's whitelisted fields can reach it, as on the map and the front page. Not the county's
vacant lots or parcels: a city has hundreds of thousands, for the map, the downloads and the
OGC API, which the page names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from django.contrib.gis.geos import GEOSGeometry
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from clt.security import read_only
from maps.layers import Layer, all_layers
from maps.publicmap import LABELS, NOTES
from maps.search import address_order
from parcels.models import HoldingUse

SQUARE_METRES_PER_ACRE = Decimal("4046.8564224")  # exact, by the international foot
SQUARE_METRES_PER_SQUARE_FOOT = Decimal("0.09290304")  # 0.3048 m squared, exact

# An easement has no parcel number for the map to open on: its link opens the map on the
# centre of its extent, at the closest zoom that shows all of it in this many pixels (a phone's
# map is about 360 wide), no closer than a parcel's deep link and no farther than a town.
EASEMENT_VIEW_PX = 300
CLOSEST_ZOOM, FARTHEST_ZOOM = 18, 11
METRES_PER_PIXEL_AT_ZOOM_0 = 156543.03392  # web mercator, at the equator
METRES_PER_DEGREE_LATITUDE = 110574.0
METRES_PER_DEGREE_LONGITUDE_AT_EQUATOR = 111320.0


@dataclass(frozen=True)
class Place:
    """One row of the list: a parcel or an easement, every value already in words."""

    name: str  # the address (the APN if it has none), or the easement's name
    apn: str  # "" for an easement
    what: str  # "Single-family home", "Farmland"
    acres: str  # "0.30"
    square_feet: str  # "12,917"
    map_url: str
    access: str = ""  # an easement's public access, in words


# Rows of a table on one page. A mature trust's 600 holdings are three pages of homes; a
# tester's million-parcel county, 10,000 holdings, was one page of 11,429 rows (2.8 MB, 5.8 s
# on a phone, 1,464 screens to scroll, and for a screen reader one table it could not leave).
PAGE_ROWS = 200


@dataclass(frozen=True)
class Rows:
    """One page of a table's rows: which, of how many, and the links to the pages beside it."""

    places: tuple[Place, ...]
    total: int
    first: int  # 1-based number of the first row shown, 0 when none
    last: int
    previous_url: str = ""
    next_url: str = ""


@dataclass(frozen=True)
class UseGroup:
    """The trust's land of one use, for a heading and a table of its own."""

    code: str  # for the heading's id (a fragment a link may name)
    label: str
    rows: Rows


@read_only
def land_list(request: HttpRequest) -> HttpResponse:
    """GET /map/list/: the trust's land as tables, each row a link to it on the map."""
    layers = all_layers()  # one day for every section
    available = page_of(available_places(layers["available"]), request, "available")
    conserved = conserved_places(layers["conserved-land"])
    held = [
        UseGroup(code, label, page_of(places, request, f"use-{code}"))
        for code, label, places in held_by_use(layers["trust-land"])
    ]
    context = {
        "available": available,
        "held": held,
        "conserved": conserved,
        "conserved_note": NOTES.get("conserved-land", ""),
        "map_url": reverse("map"),
        "page_rows": PAGE_ROWS,
    }
    response = render(request, "maps/land_list.html", context)
    # As the public map's page: kept, but asked again each time, since the land changes with
    # an edit and with the trust's day (a holding dated to end today leaves the list).
    response["Cache-Control"] = "no-cache"
    return response


def page_of(places: list[Place], request: HttpRequest, section: str) -> Rows:
    """The page of `places` the request asks for by `?page-<section>=N` (the first when it
    asks none, or one out of range), with links to the pages before and after it that keep
    the other tables' pages and come back to this table (`#<section>`)."""
    pages = max(1, math.ceil(len(places) / PAGE_ROWS))
    key = f"page-{section}"
    asked = request.GET.get(key, "1")
    page = min(int(asked), pages) if asked.isdigit() and int(asked) > 0 else 1
    start = (page - 1) * PAGE_ROWS
    shown = tuple(places[start : start + PAGE_ROWS])

    def url(to: int) -> str:
        query = {**request.GET.dict(), key: str(to)}
        if to == 1:
            del query[key]
        return f"{request.path}{'?' + urlencode(query) if query else ''}#{section}"

    return Rows(
        places=shown,
        total=len(places),
        first=start + 1 if shown else 0,
        last=start + len(shown),
        previous_url=url(page - 1) if page > 1 else "",
        next_url=url(page + 1) if page < pages else "",
    )


def available_places(layer: Layer) -> list[Place]:
    """Every home and lot the trust offers now, by address: the front page's list, uncut."""
    # Each is available: its use alone says what it is.
    return [_parcel_place(row, mark_available=False) for row in parcel_rows_by_street(layer)]


def held_by_use(layer: Layer) -> list[tuple[str, str, list[Place]]]:
    """Every parcel the trust holds, grouped by its current use (in the order the registry
    lists the uses), each group by street and number: (code, label, places)."""
    groups: dict[str, list[Place]] = {}
    for row in parcel_rows_by_street(layer):
        groups.setdefault(row["f_use"] or "", []).append(_parcel_place(row, mark_available=True))
    order = {code: rank for rank, code in enumerate(HoldingUse.values)}
    return [
        (code or "none", use_label(code), places)
        for code, places in sorted(groups.items(), key=lambda item: order.get(item[0], 99))
    ]


def conserved_places(layer: Layer) -> list[Place]:
    """Every conservation easement in force, by name, with a link to the map on its centre."""
    rows = layer.rows().values("geom", "f_name", "f_purpose", "f_public_access", "f_area_m2")
    purposes, access = LABELS["purpose"], LABELS["public_access"]
    return [
        Place(
            name=row["f_name"],
            apn="",
            what=purposes.get(row["f_purpose"], "Purpose not recorded"),
            access=access.get(row["f_public_access"], "Not recorded"),
            acres=acres(row["f_area_m2"]),
            square_feet=square_feet(row["f_area_m2"]),
            map_url=_view_url(row["geom"]),
        )
        for row in rows.order_by("f_name", "pk")
    ]


def use_label(code: str | None) -> str:
    """A use code in words, as the map's popups and legend say it."""
    if not code:
        return "Use not recorded"
    return LABELS["use"].get(code) or code.replace("_", " ").capitalize()


def acres(area_m2: int | None) -> str:
    """An area in acres, to the hundredth ("0.22"); "Not recorded" without an area."""
    if area_m2 is None:
        return "Not recorded"
    value = (Decimal(area_m2) / SQUARE_METRES_PER_ACRE).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if value == 0 and area_m2 > 0:
        return "under 0.01"
    return f"{value:,}"


def square_feet(area_m2: int | None) -> str:
    """An area in square feet, whole ("9,688"); "Not recorded" without an area."""
    if area_m2 is None:
        return "Not recorded"
    value = (Decimal(area_m2) / SQUARE_METRES_PER_SQUARE_FOOT).quantize(1, ROUND_HALF_UP)
    return f"{value:,}"


def zoom_to_show(width_m: float, height_m: float, lat: float) -> int:
    """The closest map zoom at which a `width_m` by `height_m` area at latitude `lat` fits in
    EASEMENT_VIEW_PX pixels, between FARTHEST_ZOOM and CLOSEST_ZOOM."""
    span_m = max(width_m, height_m, 1.0)
    metres_per_px = span_m / EASEMENT_VIEW_PX
    zoom = math.floor(math.log2(METRES_PER_PIXEL_AT_ZOOM_0 * math.cos(math.radians(lat))
                                / metres_per_px))  # fmt: skip
    return min(max(zoom, FARTHEST_ZOOM), CLOSEST_ZOOM)


LISTED_FIELDS = ("f_apn", "f_address", "f_place", "f_use", "f_available", "f_area_m2")


def parcel_rows_by_street(layer: Layer, fields: tuple[str, ...] = LISTED_FIELDS) -> list[dict]:
    """A parcel layer's rows (their `fields`, never their outlines: the lists draw none), by
    street and house number (`address_order`); the front page's list of homes too."""
    rows = layer.rows().values(*fields).order_by("pk")
    return sorted(rows, key=lambda row: address_order(row["f_address"] or "", row["f_apn"] or ""))


def _parcel_place(row: dict, *, mark_available: bool) -> Place:
    what = use_label(row["f_use"])
    if mark_available and row["f_available"]:
        what += ", available now"
    address = row["f_address"] or row["f_apn"]
    return Place(
        # A farm, a garden or a co-op by its name too, as the map's popup says it.
        name=f"{row['f_place']}, {address}" if row["f_place"] else address,
        apn=row["f_apn"],
        what=what,
        acres=acres(row["f_area_m2"]),
        square_feet=square_feet(row["f_area_m2"]),
        map_url=f"{reverse('map')}?{urlencode({'parcel': row['f_apn']})}",
    )


def _view_url(geom: GEOSGeometry) -> str:
    """The map opened on the centre of `geom`'s extent (EPSG:4326), showing all of it."""
    west, south, east, north = geom.extent
    lat, lon = (south + north) / 2, (west + east) / 2
    height_m = (north - south) * METRES_PER_DEGREE_LATITUDE
    width_m = (east - west) * METRES_PER_DEGREE_LONGITUDE_AT_EQUATOR * math.cos(math.radians(lat))
    view = {"lat": f"{lat:.5f}", "lon": f"{lon:.5f}", "z": zoom_to_show(width_m, height_m, lat)}
    return f"{reverse('map')}?{urlencode(view)}"
