"""The vacant-lot finder: parse a search (from a URL or the command line), run it, serialise it.

One parameter, one small parser (`parse_bbox`, `parse_distance_m`...), each raising FinderError
naming the parameter, so the API answers 400 with an RFC 9457 problem naming the field and the
CLI exits non-zero with the same sentence. The queries themselves live in parcels.queries;
GeoJSON (RFC 7946) is built by PostGIS, so a page of lots is one round trip and one string.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Point
from django.db import connection
from django.db.models import Exists, F, Func, Value

from clt.spreadsheets import spreadsheet_safe
from parcels.addresses import address_key, address_words
from parcels.folding import Folded, fold
from parcels.queries import (
    LATEST_STAGE_SQL,
    OWNER_KINDS,
    PIPELINE_STATES,
    REACH_BEYOND_WINDOW_M,
    SQM_PER_ACRE,
    TOUCHING_M,
    Window,
    assemblages,
    easements_covering,
    in_metric_domain,
    metric_domain_text,
    overlay_name_key,
    overlay_name_key_sql,
    overlays_named,
    touching_holdings,
    under_easement_sql,
    without_jit,
)

MAX_DISTANCE_M = 100_000.0
DEFAULT_TOLERANCE_M = TOUCHING_M  # what adjacency and assemblages call touching, unless told
# "Near trust land" as staff plan acquisitions: the lot next door, the block, the neighbourhood
# (a kilometre, a 12-minute walk). Farther, it filters out little (on the synthetic city with 1
# parcel in 200 held, 99.8 % of the vacant lots are within 500 m of trust land) and costs the
# most, as the lots are found around each held parcel (`near_trust_land_sql`): 1.6 s at 1 km
# with 499 held parcels on 100,000, 9-16 s at the 5 km allowed before (BENCHMARKS.md, "Lots near
# trust land"). A wider area is a bbox, a polygon, a neighbourhood or `within_m` of a point.
MAX_NEAR_HOLDINGS_M = 1000.0
MAX_PAGE_SIZE = 1000
# The widest gap still called touching (`tolerance_m`), measured on clt_bench (999,980 parcels,
# 199,118 vacant lots), county-wide, the machine loaded by others (1-min load 3.7-4.6, 2 cores).
# Lots beside trust land come a page at a time, so even 100 m is bounded: 86,047 lots found,
# the first page in 1.1-1.3 s, the last (page 861) in 1.3-1.8 s, 1,000 lots in 2.6 s; all of
# them at once were 53 MB, 5-8 s to build and a minute for the page to draw.
MAX_TOLERANCE_M = 100.0
ADJACENT_TOLERANCE_WHY = (
    "for lots touching trust land: a lot farther from it is near it, not beside it; for those, "
    f"use near_holdings_m (up to {MAX_NEAR_HOLDINGS_M:g} m) in the vacant-lot search"
)
# Assemblages are outlined whole, however many lots a group takes in, and a wider tolerance
# makes far bigger groups: the largest is 16 lots up to 10 m, 78 at 20 m (a street's width: a
# residential right of way is 15-20 m), 196 at 30 m, 826 at 50 m; at 60 m 40,150 lots, and from
# 75 m most of the county (196,832 of its 199,118 vacant lots) is one group, whose outline
# the 25-s statement timeout stops (503 after 27 s at 100 m). A page of 100 groups took
# 3.0-3.7 s at 0.5 m, 1.6-2.6 s at 10 m, 2.0-4.0 s at 20 m; 5.5-6.5 s at 30 m and 9-13 s (3.2 MB)
# at 50 m (less loaded, 1.5-2.1 s at 0.5 m, 1.9-2.4 s at 20 m, 5.7 s at 50 m). So: 20 m.
MAX_ASSEMBLAGE_TOLERANCE_M = 20.0
ASSEMBLAGE_TOLERANCE_WHY = (
    "for assemblages: a wider tolerance reaches across streets and joins blocks into ever "
    "larger groups, until most of a county's lots are one, too big to outline in time; lots "
    "farther apart than a street's width are not one site"
)
TAX_STATUSES = ("current", "delinquent", "forfeited")
ORDERS = ("distance", "area", "score")
# `pipeline`: any lot (the default), or those whose place in the acquisition pipeline is one of
# the others (comma-separated): new (never in it), open, dropped, acquired (PIPELINE_STATES).
# Every lot by default, each marked with its latest step: a dropped lot's reason may be cleared
# (an heir found, a tank removed), a lot under contract is worth seeing beside its neighbours,
# and an assemblage of lots left out one by one would be cut in pieces.
PIPELINE_CHOICES = ("any", *PIPELINE_STATES)
PIPELINE_COLUMNS = ("pipeline_stage", "pipeline_on", "pipeline_reason")
# `easement`: any lot (the default, each marked `under_easement` when a conservation easement in
# force covers it: `easements_covering`), or exclude those. Such a lot is kept from development
# whoever owns it, so it is rarely one to buy for homes; not always left out, as a farm co-op may
# want it, and the trust may hold the easement itself.
EASEMENT_CHOICES = ("any", "exclude")

LOT_COLUMNS = ("apn", "address", "owner_of_record", "land_use", "zoning", "tax_status",
               "area_m2", "acres", "distance_m", "score", "under_easement",
               *PIPELINE_COLUMNS)  # fmt: skip
ADJACENT_COLUMNS = ("apn", "address", "owner_of_record", "land_use", "zoning", "tax_status",
                    "area_m2", "gap_m", "holdings", "touches_apns", "under_easement",
                    *PIPELINE_COLUMNS)  # fmt: skip
ASSEMBLAGE_COLUMNS = ("lots", "area_m2", "acres", "touches_trust_land", "holdings", "apns",
                      "under_easement_apns", "pipeline")  # fmt: skip


class FinderError(ValueError):
    """A search parameter is wrong; `field` names it (the API's problem JSON carries it)."""

    def __init__(self, field: str, detail: str):
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


# --- which parameters each answer reads ---------------------------------------------------

# Anything else is refused: a misspelt filter (`min_area=5000`) answered the whole list,
# unfiltered, as if it had been applied.
LOT_FILTERS = ("min_area_m2", "max_area_m2", "min_acres", "max_acres", "land_use", "zoning",
               "tax_status", "owner", "bbox", "polygon", "neighbourhood", "near", "address",
               "within_m", "near_holdings_m", "outside_flood", "pipeline",
               "easement")  # fmt: skip
LOT_PARAMS = (*LOT_FILTERS, "order", "page", "limit")
ADJACENT_PARAMS = (*LOT_FILTERS, "tolerance_m", "page", "limit")
# Each group's own parameters, beside the lots' filters and the page.
GROUP_PARAMS = ("tolerance_m", "min_lots", "min_total_m2", "touches_trust_land")
ASSEMBLAGE_PARAMS = (*LOT_FILTERS, *GROUP_PARAMS, "page", "limit")


def refuse_unknown(params: Mapping[str, str], accepted: tuple[str, ...]) -> None:
    """FinderError for the first parameter not in `accepted`, with the likeliest meant."""
    for name in params:
        if name not in accepted:
            meant = difflib.get_close_matches(name, accepted, n=1)
            hint = f"did you mean {meant[0]}?" if meant else f"use {', '.join(accepted)}"
            raise FinderError(name, f"not a parameter of this search; {hint}")


# --- one parser per parameter ------------------------------------------------------------


def parse_flag(value: str, field: str) -> bool:
    """A yes/no parameter: 1/true/yes/on or 0/false/no/off (an HTML checkbox sends its value)."""
    said = value.strip().lower()
    if said in ("1", "true", "yes", "on"):
        return True
    if said in ("0", "false", "no", "off"):
        return False
    raise FinderError(field, f"'{value}' is not a yes or no: use true or false (or 1 or 0)")


def parse_number(value: str, field: str, *, minimum: float = 0.0, maximum: float = math.inf):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FinderError(field, f"'{value}' is not a number") from None
    if not math.isfinite(number):
        raise FinderError(field, f"'{value}' is not a finite number")
    if number < minimum:
        raise FinderError(field, f"{value} is below {minimum:g}")
    if number > maximum:
        raise FinderError(field, f"{value} is above the maximum {maximum:g}")
    return number


def parse_distance_m(value: str, field: str, maximum: float = MAX_DISTANCE_M) -> float:
    """A distance in metres: a finite number, 0 or more, at most `maximum`."""
    return parse_number(value, field, minimum=0.0, maximum=maximum)


def parse_int(value: str, field: str, *, minimum: int, maximum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FinderError(field, f"'{value}' is not a whole number") from None
    if not minimum <= number <= maximum:
        raise FinderError(field, f"{number} is outside {minimum}..{maximum}")
    return number


def parse_bbox(value: str, field: str = "bbox") -> tuple[float, float, float, float]:
    """minlon,minlat,maxlon,maxlat in degrees (EPSG:4326), min below max (OGC API order)."""
    parts = value.split(",")
    if len(parts) != 4:
        raise FinderError(field, "give four numbers: minlon,minlat,maxlon,maxlat")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise FinderError(field, f"'{value}' is not four numbers") from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise FinderError(field, "coordinates must be finite numbers")
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90
            and -90 <= maxy <= 90):  # fmt: skip
        raise FinderError(field, "longitude must be within ±180 and latitude within ±90")
    if minx > maxx or miny > maxy:
        raise FinderError(field, "the minimum is greater than the maximum")
    return minx, miny, maxx, maxy


def parse_point(value: str, field: str) -> Point:
    """lon,lat in degrees (EPSG:4326)."""
    parts = value.split(",")
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise FinderError(field, f"'{value}' is not lon,lat") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise FinderError(field, f"'{value}' is not a longitude,latitude in degrees")
    if not in_metric_domain(lon, lat):
        # Distances are measured in the metric CRS, which is not defined everywhere.
        raise FinderError(
            field, f"{lon:g},{lat:g} is outside the area the trust's metric CRS covers "
            f"({metric_domain_text()})"
        )  # fmt: skip
    return Point(lon, lat, srid=4326)


def parse_choices(value: str, field: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    chosen = tuple(v.strip().lower() for v in value.split(",") if v.strip())
    wrong = [v for v in chosen if v not in allowed]
    if wrong:
        raise FinderError(field, f"'{wrong[0]}' is not one of {', '.join(allowed)}")
    return chosen


def parse_pipeline(value: str, field: str = "pipeline") -> tuple[str, ...]:
    """PIPELINE_CHOICES, comma-separated: () for any lot, else the PIPELINE_STATES wanted."""
    chosen = parse_choices(value, field, PIPELINE_CHOICES)
    if "any" in chosen:
        if len(chosen) > 1:
            raise FinderError(field, "'any' takes every lot: give it alone, or leave it out")
        return ()
    return tuple(dict.fromkeys(chosen))


def parse_easement(value: str, field: str = "easement") -> str:
    """One of EASEMENT_CHOICES: any (every lot, each marked) or exclude (no lot under one)."""
    chosen = parse_choices(value, field, EASEMENT_CHOICES)
    if len(chosen) != 1:
        raise FinderError(field, f"give one of {', '.join(EASEMENT_CHOICES)}")
    return chosen[0]


def parse_codes(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def parse_polygon(value: str, field: str = "polygon") -> GEOSGeometry:
    """A polygon as WKT or GeoJSON geometry, in EPSG:4326."""
    try:
        geom = GEOSGeometry(value, srid=4326)
    except (GEOSException, GDALException, ValueError, TypeError):
        # GDALException: GeoJSON is parsed by OGR, which refuses a geometry missing its
        # coordinates ({"type": "Polygon"}) or with coordinates of the wrong shape.
        raise FinderError(field, "not a WKT or GeoJSON polygon") from None
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise FinderError(field, f"expected a polygon, got {geom.geom_type}")
    if geom.empty:
        raise FinderError(field, f"the {geom.geom_type} is empty")
    west, south, east, north = geom.extent
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise FinderError(
            field, "coordinates must be longitude within ±180 and latitude within ±90 (EPSG:4326)"
        )
    if not geom.valid:
        raise FinderError(field, f"invalid polygon: {geom.valid_reason}")
    return geom


# --- the search --------------------------------------------------------------------------


@dataclass(frozen=True)
class LotSearch:
    """What staff asked for; every field already checked."""

    min_area_m2: float | None = None
    max_area_m2: float | None = None
    land_use: tuple[str, ...] = ()
    zoning: tuple[str, ...] = ()
    tax_status: tuple[str, ...] = ()
    owner: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = None
    polygon: GEOSGeometry | None = None
    neighbourhood: str | None = None
    near: Point | None = None
    centre: dict | None = None  # the parcel an `address` named: {"address", "apn", "lon", "lat"}
    within_m: float | None = None
    near_holdings_m: float | None = None
    outside_flood: bool = False
    pipeline: tuple[str, ...] = ()  # PIPELINE_STATES wanted; () for any lot
    easement: str = "any"  # EASEMENT_CHOICES: "exclude" leaves out lots under an easement
    order: str = "score"
    page: int = 1
    limit: int = 100
    extra: dict = field(default_factory=dict)

    @property
    def filtered_beyond_window(self) -> bool:
        """Whether a filter other than the bbox narrows the lots (adjacency, assemblages)."""
        return any((self.min_area_m2 is not None, self.max_area_m2 is not None, self.land_use,
                    self.zoning, self.tax_status, self.owner, self.polygon is not None,
                    self.neighbourhood, self.within_m is not None,
                    self.near_holdings_m is not None, self.outside_flood,
                    self.pipeline, self.easement != "any"))  # fmt: skip


def parse_lot_search(params: Mapping[str, str]) -> LotSearch:
    """A LotSearch from query parameters (strings); FinderError names the first bad one."""
    get = {k: v for k, v in params.items() if v not in (None, "")}
    values: dict = {}
    min_area = _area(get, "min_area_m2", "min_acres")
    max_area = _area(get, "max_area_m2", "max_acres")
    if min_area is not None and max_area is not None and min_area > max_area:
        field = "min_area_m2" if "min_area_m2" in get else "min_acres"
        raise FinderError(field, "the minimum area is greater than the maximum")
    values["min_area_m2"], values["max_area_m2"] = min_area, max_area
    for name in ("land_use", "zoning"):
        if name in get:
            values[name] = parse_codes(get[name])
    if "tax_status" in get:
        values["tax_status"] = parse_choices(get["tax_status"], "tax_status", TAX_STATUSES)
    if "owner" in get:
        values["owner"] = parse_choices(get["owner"], "owner", OWNER_KINDS)
    if "bbox" in get:
        values["bbox"] = parse_bbox(get["bbox"])
    if "polygon" in get:
        values["polygon"] = parse_polygon(get["polygon"])
    if "neighbourhood" in get:
        values["neighbourhood"] = get["neighbourhood"].strip()
    values["near"], values["centre"] = _near(get)
    if "within_m" in get:
        values["within_m"] = parse_distance_m(get["within_m"], "within_m")
        if values["near"] is None:
            raise FinderError("within_m", "needs a point (near=lon,lat) or an address")
    if "near_holdings_m" in get:
        values["near_holdings_m"] = parse_distance_m(
            get["near_holdings_m"], "near_holdings_m", MAX_NEAR_HOLDINGS_M
        )
    values["outside_flood"] = parse_flag(get.get("outside_flood", "0"), "outside_flood")
    if "pipeline" in get:
        values["pipeline"] = parse_pipeline(get["pipeline"])
    if "easement" in get:
        values["easement"] = parse_easement(get["easement"])
    default_order = "distance" if values["near"] is not None else "score"
    values["order"] = parse_choices(get.get("order", default_order), "order", ORDERS)[:1][0]
    if values["order"] == "distance" and values["near"] is None:
        raise FinderError("order", "ordering by distance needs near=lon,lat or an address")
    values["page"] = parse_int(get.get("page", "1"), "page", minimum=1, maximum=100_000)
    values["limit"] = parse_int(get.get("limit", "100"), "limit", minimum=1,
                                maximum=MAX_PAGE_SIZE)  # fmt: skip
    return LotSearch(**values)


def _area(get: dict, m2_key: str, acres_key: str) -> float | None:
    if m2_key in get and acres_key in get:
        raise FinderError(acres_key, f"give {m2_key} or {acres_key}, not both")
    if m2_key in get:
        return parse_number(get[m2_key], m2_key)
    if acres_key in get:
        return parse_number(get[acres_key], acres_key) * SQM_PER_ACRE
    return None


def _near(get: dict) -> tuple[Point | None, dict | None]:
    """The point distances are measured from, and the parcel it is on when an address gave it."""
    if "near" in get and "address" in get:
        raise FinderError("address", "give near=lon,lat or address, not both")
    if "near" in get:
        return parse_point(get["near"], "near"), None
    if "address" in get:
        parcel = locate_address(get["address"])
        point = parcel.geom.point_on_surface
        centre = {"address": parcel.address, "apn": parcel.apn,
                  "lon": round(point.x, 6), "lat": round(point.y, 6)}  # fmt: skip
        return point, centre
    return None, None


MAX_CANDIDATES_SHOWN = 5


def locate_address(address: str):
    """The active parcel at `address` (the registry is the gazetteer: no third-party geocoder
    sees what staff search for).

    The parcel whose address is `address` (case, accents, spacing and punctuation aside); else
    the one parcel whose address starts with it, or else contains it. Text that fits several
    addresses is refused with some of them listed: a search measured from a guessed parcel (the
    first in the alphabet) looks right and is not.
    """
    # As county files abbreviate a street's kind ("Avenue" is "AVE"), then as typed (a file
    # may spell it out), as the map's search reads an address.
    # address_key and _narrowing_word fold each ("Muñoz" is "MUNOZ"), as the column is.
    variants = (" ".join(address_words(address)), address)
    keys = {address_key(text): _narrowing_word(text) for text in variants if address_key(text)}
    if not keys:
        raise FinderError("address", f"no parcel in the registry at '{address}'")
    for lookup in ("exact", "startswith", "contains"):
        for key, word in keys.items():
            addresses = _addresses_matching(key, lookup, word)
            if len(addresses) > 1:
                shown = ", ".join(addresses[:MAX_CANDIDATES_SHOWN])
                more = ", …" if len(addresses) > MAX_CANDIDATES_SHOWN else ""
                raise FinderError(
                    "address", f"'{address.strip()}' matches several parcels: {shown}{more}; "
                    "type more of the address"
                )  # fmt: skip
            if addresses:
                return _parcels_keyed(key, lookup, word).order_by("apn").first()
    raise FinderError("address", f"no parcel in the registry at '{address}'")


def _narrowing_word(text: str) -> str:
    """The longest word of `text` as an address holds it: split at punctuation, never joined
    across it ("1716-A Lynch St" gives LYNCH; the key's "1716A" is in no address as written)."""
    words = [word for word in re.split(r"[^0-9A-Z]+", fold(text)) if word]
    # A street's name rather than a house number ("1716A" may be held as "1716-A")
    return max([word for word in words if word.isalpha()] or words or [""], key=len)


def _parcels_keyed(key: str, lookup: str, word: str):
    """Active parcels with an outline whose address key matches `key` by `lookup`, among those
    whose address holds `word`."""
    from parcels.models import Parcel

    stripped = Func(Folded(F("address")), Value(r"[^0-9A-Z[:space:]]"),
                    Value(""), Value("g"), function="regexp_replace")  # fmt: skip
    spaced = Func(stripped, Value(r"\s+"), Value(" "), Value("g"), function="regexp_replace")
    # The word first narrows by the trigram index on the folded address; the key is then compared
    # on the few parcels left. A word of one or two letters is looked up where a word starts:
    # "%ST%" has no trigram, and had every row rechecked (up to 3 s at 1M parcels).
    return (
        Parcel.objects.active()
        .filter(geom__isnull=False, address__folded_search=word)
        .annotate(address_key=Func(spaced, function="BTRIM"))
        .filter(**{f"address_key__{lookup}": key})
    )


def _addresses_matching(key: str, lookup: str, word: str) -> list[str]:
    """The distinct addresses matching `key` by `lookup`, one more than are shown."""
    rows = (
        _parcels_keyed(key, lookup, word)
        .order_by("address_key")
        .values_list("address_key", "address")
        .distinct("address_key")[: MAX_CANDIDATES_SHOWN + 1]
    )
    return [address for _, address in rows]


def lots_queryset(search: LotSearch, *, distance_filter: bool = True):
    """The vacant lots matching `search`, not yet ordered or paged (without the distance limit
    when `distance_filter` is off: the caller cuts the nearest-first list instead)."""
    from parcels.models import Parcel

    qs = (
        Parcel.objects.vacant()
        .filter(geom__isnull=False)
        .not_held_by_trust()
        .area_between(search.min_area_m2, search.max_area_m2)
        .land_use_in(search.land_use)
        .zoning_in(search.zoning)
        .tax_status_in(search.tax_status)
        .owned_by(search.owner)
        .pipeline_in(search.pipeline)
    )
    if search.bbox:
        qs = qs.in_bbox(search.bbox)
    if search.polygon is not None:
        qs = qs.inside(search.polygon)
    if search.neighbourhood:
        _require_overlay("neighbourhood", search.neighbourhood)
        qs = qs.in_overlay("neighbourhood", search.neighbourhood)
    if search.near is not None and search.within_m is not None and distance_filter:
        qs = qs.within_m(search.near, search.within_m)
    if search.near_holdings_m is not None:
        qs = qs.near_holdings(search.near_holdings_m)
    if search.outside_flood:
        _require_overlay("flood-zone", field="outside_flood")
        qs = qs.outside_overlays("flood-zone")
    if search.easement == "exclude":
        qs = qs.exclude(Exists(easements_covering()))
    return qs


def _require_overlay(kind: str, name: str | None = None, *, field: str | None = None) -> None:
    """FinderError naming `field` (else `kind`) unless an overlay of `kind` (called `name`, when
    given) is loaded: a filter on an overlay that is not there answered every lot, as if each
    had been checked (no flood zones loaded: every lot "outside flood zones")."""
    from parcels.models import Overlay

    overlays = Overlay.objects.filter(kind=kind)
    if name is not None:
        if not overlays_named(kind, name).exists():
            raise _no_overlay_named(kind, name, field or kind)
    elif not overlays.exists():
        raise FinderError(
            field or kind, f"no {kind} overlay is loaded, so no lot can be checked against one "
            f"(import it: clt import-layer FILE --kind {kind})"
        )  # fmt: skip


MAX_OVERLAY_NAMES_SHOWN = 20


def overlay_names(kind: str) -> list[str]:
    """The names the overlays of `kind` may be picked by, in order: one for each name as names
    are matched (`overlay_name_key`), its runs of whitespace one space (what to type)."""
    from parcels.models import Overlay

    names = (
        Overlay.objects.filter(kind=kind)
        .annotate(name_key=overlay_name_key_sql())
        .exclude(name_key="")
        .order_by("name_key", "name")
        .distinct("name_key")
        .values_list("name", "name_key")
    )
    return [" ".join(name.split()) for name, _ in names]


def _no_overlay_named(kind: str, name: str, field: str) -> FinderError:
    """The error for a `name` no overlay of `kind` has: the names loaded to pick from (the
    likeliest meant first), or, when there are none, how to import some."""
    names = overlay_names(kind)
    if not names:
        return FinderError(
            field, f"no {kind} overlay with a name is loaded, so none is named '{name}' "
            f"(import them: clt import-layer FILE --kind {kind})"
        )  # fmt: skip
    keys = {overlay_name_key(n): n for n in names}
    meant = difflib.get_close_matches(overlay_name_key(name), keys, n=1)
    hint = f" (did you mean '{keys[meant[0]]}'?)" if meant else ""
    shown = ", ".join(names[:MAX_OVERLAY_NAMES_SHOWN])
    more = len(names) - MAX_OVERLAY_NAMES_SHOWN
    listed = f"{shown} and {more} more" if more > 0 else shown
    return FinderError(
        field, f"no {kind} overlay named '{name}'{hint}; pick one of the {len(names)} loaded: "
        f"{listed}"
    )  # fmt: skip


def ordered(search: LotSearch, qs):
    """`qs` in the order asked for, with `score` always annotated (and `distance_m` near a
    point)."""
    # Ordered by score, every lot is scored: "adjoins trust land" is then asked once, from the
    # trust land; a page nearest a point scores its own lots, a probe each (`with_score`).
    qs = qs.with_score(every_lot=search.order == "score")
    if search.near is not None:
        qs = qs.nearest(search.near)
    if search.order == "area":
        qs = qs.order_by("-area_m2", "id")
    elif search.order == "score":
        qs = qs.order_by("-score", "id")
    return qs


# --- results -----------------------------------------------------------------------------


def vacant_lots_json(params: Mapping[str, str]) -> str:
    """A page of vacant lots as an RFC 7946 FeatureCollection, as a JSON string."""
    refuse_unknown(params, LOT_PARAMS)
    search = parse_lot_search(params)
    with without_jit(index_lookups=True):
        return _vacant_lots_json(search)


def _vacant_lots_json(search: LotSearch) -> str:
    # Nearest first within a distance: the lots within it are a prefix of the nearest-first
    # list, so take the page from a KNN scan of the partial index (which stops after a page)
    # and cut it at the distance, rather than let ST_DWithin tempt the planner into gathering
    # and sorting every lot in the circle.
    cut = search.order == "distance" and search.within_m is not None
    qs = ordered(search, lots_queryset(search, distance_filter=not cut))
    offset = _offset(search)
    # One more than a page tells whether there is a next page without counting them all.
    page = qs[offset : offset + search.limit + 1]
    has_distance = search.near is not None
    sql, sql_params = page.query.sql_with_params()
    properties = """'apn', q.apn, 'address', q.address, 'owner_of_record', q.owner_of_record,
        'land_use', q.land_use, 'zoning', q.zoning, 'tax_status', q.tax_status,
        'area_m2', round(q.area_m2::numeric, 1), 'acres', round((q.area_m2 / %s)::numeric, 4),
        'score', round(q.score::numeric, 3)"""
    if has_distance:
        properties += ", 'distance_m', round(q.distance_m::numeric, 1)"
    # Whether an easement covers the lot, and its latest step in the acquisition pipeline: read
    # for the page's lots only, never for every lot the search ranks.
    under_easement, easement_params = under_easement_sql("q.geom_m")
    properties += f", 'under_easement', {under_easement}"
    properties += """, 'pipeline_stage', stage.pipeline_stage, 'pipeline_on', stage.pipeline_on,
        'pipeline_reason', stage.pipeline_reason"""
    latest_stage = LATEST_STAGE_SQL.format(parcel_id="q.id")
    wrapped = f"""
        SELECT json_build_object(
            'type', 'FeatureCollection',
            'page', %s, 'limit', %s, 'has_next', count(*) > %s, 'centre', %s::json,
            'features', coalesce(json_agg(json_build_object(
                'type', 'Feature', 'id', q.id,
                'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(q.geom), 6)::json,
                'properties', json_build_object({properties})
            ) ORDER BY q.rank) FILTER (WHERE q.rank <= %s), '[]'::json))::text
        FROM (SELECT inner_q.*, row_number() OVER () AS rank FROM ({sql}) inner_q) q
        LEFT JOIN LATERAL ({latest_stage}) stage ON TRUE
        {"WHERE q.distance_m <= %s" if cut else ""}
    """
    centre = json.dumps(search.centre)
    params = [search.page, search.limit, search.limit, centre, SQM_PER_ACRE, *easement_params,
              search.limit, *sql_params]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(wrapped, params + ([search.within_m] if cut else []))
        return cursor.fetchone()[0]


def vacant_lots_geojson(params: Mapping[str, str]) -> dict:
    return json.loads(vacant_lots_json(params))


def _candidates(search: LotSearch, reach_m: float = 0.0) -> list[int] | None:
    """Lot ids for adjacency/assemblages when filters beyond the window apply, else None; for
    assemblages, from the window widened by `reach_m`, as far as a group is followed beyond
    it (`REACH_BEYOND_WINDOW_M`), or a group across the window's edge came back cut whenever
    another filter was set."""
    if not search.filtered_beyond_window:
        return None
    if search.bbox and reach_m:
        search = replace(search, bbox=widened_bbox(search.bbox, reach_m))
    qs = lots_queryset(search)
    return list(qs.values_list("id", flat=True))


def widened_bbox(
    bbox: tuple[float, float, float, float], metres: float
) -> tuple[float, float, float, float]:
    """`bbox` (degrees) widened by at least `metres` on every side: a degree of latitude is
    at least 110.5 km, one of longitude at least 111.3 km × cos(latitude) at the box's edge
    farther from the equator."""
    west, south, east, north = bbox
    dlat = metres / 110_500
    far = min(89.0, max(abs(south), abs(north)) + dlat)
    dlon = min(180.0, metres / (111_320 * math.cos(math.radians(far))))
    return (max(-180.0, west - dlon), max(-90.0, south - dlat),
            min(180.0, east + dlon), min(90.0, north + dlat))  # fmt: skip


def _tolerance(params: Mapping[str, str], maximum: float, why: str) -> float:
    """`tolerance_m`, the gap still counted as touching (DEFAULT_TOLERANCE_M when not given),
    at most `maximum`; a FinderError above it says the maximum and `why`."""
    given = params.get("tolerance_m")
    if not given:
        return DEFAULT_TOLERANCE_M
    tolerance = parse_number(given, "tolerance_m")
    if tolerance > maximum:
        raise FinderError("tolerance_m", f"{given} is above the maximum {maximum:g} m {why}")
    return tolerance


def _page(search: LotSearch, rows: list) -> tuple[list, dict]:
    """The page's rows, fetched one more than `search.limit` (so a next page is known without
    counting them all), and what the answer says of its page: page, limit, has_next."""
    said = {"page": search.page, "limit": search.limit, "has_next": len(rows) > search.limit}
    return rows[: search.limit], said


def _offset(search: LotSearch) -> int:
    return (search.page - 1) * search.limit


def adjacent_lots_geojson(params: Mapping[str, str]) -> dict:
    """A page of the vacant lots touching trust land (within `tolerance_m`), nearest first, as
    a FeatureCollection saying its `page`, `limit` and whether there is a next one."""
    refuse_unknown(params, ADJACENT_PARAMS)
    tolerance = _tolerance(params, MAX_TOLERANCE_M, ADJACENT_TOLERANCE_WHY)
    search = parse_lot_search({k: v for k, v in params.items() if k != "tolerance_m"})
    with without_jit():
        rows = touching_holdings(
            tolerance, window=Window(search.bbox), candidate_ids=_candidates(search),
            limit=search.limit + 1, offset=_offset(search),
        )  # fmt: skip
    rows, page = _page(search, rows)
    features = []
    for row in rows:
        geometry = json.loads(row.pop("geometry"))
        row["area_m2"] = round(row["area_m2"], 1)
        features.append({"type": "Feature", "id": row.pop("id"), "geometry": geometry,
                         "properties": row})  # fmt: skip
    return {"type": "FeatureCollection", **page, "tolerance_m": tolerance,
            "centre": search.centre, "features": features}  # fmt: skip


def assemblages_geojson(params: Mapping[str, str]) -> dict:
    """A page of the groups of touching vacant lots, largest first, as a FeatureCollection of
    merged outlines saying its `page`, `limit` and whether there is a next one."""
    refuse_unknown(params, ASSEMBLAGE_PARAMS)
    tolerance = _tolerance(params, MAX_ASSEMBLAGE_TOLERANCE_M, ASSEMBLAGE_TOLERANCE_WHY)
    min_lots = parse_int(params.get("min_lots") or "2", "min_lots", minimum=1, maximum=100_000)
    min_total = parse_number(params.get("min_total_m2") or "0", "min_total_m2")
    beside = params.get("touches_trust_land")
    touches = parse_flag(beside, "touches_trust_land") if beside else None
    search = parse_lot_search({k: v for k, v in params.items() if k not in GROUP_PARAMS})
    with without_jit():
        rows = assemblages(
            tolerance, min_lots=min_lots, min_area_m2=min_total, window=Window(search.bbox),
            candidate_ids=_candidates(search, REACH_BEYOND_WINDOW_M), touches_trust_land=touches,
            limit=search.limit + 1, offset=_offset(search),
        )  # fmt: skip
    rows, page = _page(search, rows)
    features = []
    # A group's id is its place in the whole list, the same on every page.
    for number, row in enumerate(rows, start=_offset(search) + 1):
        features.append({
            "type": "Feature", "id": number,
            "geometry": json.loads(row["geometry"]) if row["geometry"] else None,
            "properties": {
                "lots": row["lots"], "area_m2": round(row["area_m2"], 1),
                "acres": round(row["acres"], 4), "apns": row["apns"],
                "touches_trust_land": row["touches_trust_land"], "holdings": row["holdings"],
                "under_easement_apns": row["under_easement_apns"],
                "pipeline": row["pipeline"], "parcel_ids": row["parcel_ids"],
                "holding_ids": row["holding_ids"],
            },
        })  # fmt: skip
    return {"type": "FeatureCollection", **page, "tolerance_m": tolerance,
            "centre": search.centre, "features": features}  # fmt: skip


def _step_text(step: dict) -> str:
    """A lot's latest pipeline step in a cell, with the reason when it was dropped:
    "165-126-001 dropped (Heirs' property: …)"; the GeoJSON has every step's reason."""
    reason = f" ({step['reason']})" if step["stage"] == "dropped" and step["reason"] else ""
    return f"{step['apn']} {step['stage']}{reason}"


def _cell(value) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        # An assemblage's lots in the pipeline; a reason may hold a semicolon, never a bar.
        return " | ".join(_step_text(step) for step in value)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if value is None:
        return ""
    return str(value)


def _csv_cell(value) -> str:
    """A property as a CSV cell: text from the county file (an address, an owner, APNs) made
    safe to open in a spreadsheet, as the map's CSV export makes a string column; the figures
    the finder computed as they are."""
    cell = _cell(value)
    return spreadsheet_safe(cell) if isinstance(value, str | list) else cell


def as_csv(collection: dict, columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for feature in collection["features"]:
        props = feature["properties"]
        writer.writerow([_csv_cell(props.get(c)) for c in columns])
    return out.getvalue()


TABLE_CELL_CHARS = 48


def _fit(cell: str) -> str:
    """A table cell no wider than TABLE_CELL_CHARS, ending in … when cut (a group's list of
    APNs was cut silently: `--format csv` has them all)."""
    if len(cell) <= TABLE_CELL_CHARS:
        return cell
    return cell[: TABLE_CELL_CHARS - 1] + "…"


def as_table(collection: dict, columns: tuple[str, ...]) -> str:
    rows = [[_fit(_cell(f["properties"].get(c))) for c in columns]
            for f in collection["features"]]  # fmt: skip
    present = [i for i, c in enumerate(columns) if any(r[i] for r in rows)] or range(len(columns))
    header = [columns[i] for i in present]
    table = [header, *[[r[i] for i in present] for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in table
    )
