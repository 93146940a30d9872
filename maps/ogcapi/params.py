"""Query parameters of OGC API - Features, one parse function each, with the rule it follows.

Rule names are those of OGC 17-069r4 (Part 1: Core) and OGC 18-058r1 (Part 2: CRS). Every
function takes the raw text of one parameter and returns a value or raises `ParamError`, which
the views turn into a 400 with a problem body (/req/core/query-param-invalid).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from maps.layers import Layer, LayerField
from maps.ogcapi import crs as crs_registry
from maps.ogcapi.crs import Crs

LIMIT_DEFAULT = 10
LIMIT_MAX = 10_000

# Parameters every items request understands; a layer's whitelisted fields come on top.
ITEMS_PARAMS = ("f", "bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "after", "before")


class ParamError(ValueError):
    """A query parameter the server cannot accept; names the parameter and what is wrong."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


@dataclass(frozen=True)
class BBox:
    """A box in `crs`, with x (easting or longitude) first whatever the CRS's axis order."""

    minx: float
    miny: float
    maxx: float
    maxy: float
    crs: Crs

    @property
    def crosses_antimeridian(self) -> bool:
        return self.minx > self.maxx

    def as_list(self) -> list[float]:
        return [self.minx, self.miny, self.maxx, self.maxy]


@dataclass(frozen=True)
class Interval:
    """A closed time interval; None on a side means open (`..`).

    `start` and `end` are instants in UTC; `first_day` and `last_day` are what a date field
    (a holding's `acquired_on`, a day in Jackson) is compared with: the day each end falls on
    in the trust's time zone, or the date itself when no time was given. 11 pm on 2 April in
    Jackson is 2 April, though it is 3 April in UTC.
    """

    start: dt.datetime | None
    end: dt.datetime | None
    text: str  # as the client wrote it, for links and provenance
    first_day: dt.date | None
    last_day: dt.date | None


@dataclass(frozen=True)
class FeatureFilter:
    """What selects features, the same for OGC API items and downloads."""

    bbox: BBox | None = None
    interval: Interval | None = None
    properties: tuple[tuple[LayerField, object], ...] = field(default=())

    def describe(self) -> dict:
        """The filter as plain data (for links and provenance)."""
        described: dict = {}
        if self.bbox:
            described["bbox"] = self.bbox.as_list()
            described["bbox-crs"] = self.bbox.crs.uri
        if self.interval:
            described["datetime"] = self.interval.text
        for layer_field, value in self.properties:
            described[layer_field.name] = str(value)
        return described


def check_known(query: Mapping[str, object], allowed: Iterable[str]) -> None:
    """Reject parameters the API definition does not declare (/rec/core/query-param-unknown)."""
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise ParamError(unknown[0], "is not a parameter of this resource")


def single(query, name: str) -> str | None:
    """The one value of `name`, None if absent; a repeated parameter is ambiguous, so refused."""
    values = query.getlist(name)
    if len(values) > 1:
        raise ParamError(name, "may be given once")
    return values[0] if values else None


def parse_f(value: str | None) -> str | None:
    """`f=json|html`: the format asked for by name, overriding the Accept header."""
    if value is None:
        return None
    if value not in ("json", "html"):
        raise ParamError("f", f"'{value}' is not one of json, html")
    return value


def parse_limit(value: str | None) -> int:
    """`limit`: 1 to LIMIT_MAX, default LIMIT_DEFAULT (/req/core/fc-limit-definition).

    A value above the maximum is not an error: the server returns at most the maximum and a
    `next` link (/req/core/fc-limit-response-1, and the limit building block of 17-069r4:
    "if you ask for 50000, you might get up to 10000"). Zero, negatives and non-integers are
    invalid values (/req/core/query-param-invalid).
    """
    if value is None:
        return LIMIT_DEFAULT
    if re.fullmatch(r"\+?\d{19,}", value.strip()):
        return LIMIT_MAX  # too many digits for a number, but plainly above the maximum
    limit = _integer("limit", value)
    if limit < 1:
        raise ParamError("limit", "must be at least 1")
    return min(limit, LIMIT_MAX)


def parse_offset(value: str | None) -> int:
    """`offset`: features to skip before the page (a convenience; `next` links use `after`)."""
    if value is None:
        return 0
    offset = _integer("offset", value)
    if offset < 0:
        raise ParamError("offset", "must be 0 or more")
    return offset


def parse_cursor(name: str, value: str | None) -> int | None:
    """`after` / `before`: the feature id a `next` / `prev` link continues from."""
    if value is None:
        return None
    return _integer(name, value)


def parse_crs(value: str | None, name: str = "crs") -> Crs:
    """`crs` / `bbox-crs`: a URI (or safe CURIE) of a served CRS, CRS84 when absent.

    Part 2, /req/crs/fc-crs-valid-value and /req/crs/fc-bbox-crs-valid-value: a CRS the
    collection does not list is a 400.
    """
    if value is None:
        return crs_registry.CRS84
    found = crs_registry.by_reference(value)
    if found is None:
        raise ParamError(name, f"'{value}' is not a CRS this API serves")
    return found


def parse_bbox(value: str | None, bbox_crs: Crs = crs_registry.CRS84) -> BBox | None:
    """`bbox`: 4 or 6 numbers, lower corner then upper corner (/req/core/fc-bbox-definition).

    In CRS84 the order is lon,lat; in a CRS whose definition has latitude first (EPSG:4326 by
    its URI) it is lat,lon (Part 2, /req/crs/fc-bbox-crs-action). Six numbers carry heights,
    which are ignored. A lower longitude greater than the upper one means the box crosses the
    antimeridian (/req/core/fc-bbox-response); for a projected CRS it is an error, as is a lower
    latitude (or northing) above the upper one.
    """
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise ParamError("bbox", "must be 4 or 6 comma-separated numbers")
    numbers = [_finite("bbox", part) for part in parts]
    lower, upper = (
        (numbers[0:2], numbers[2:4]) if len(numbers) == 4 else (numbers[0:2], numbers[3:5])
    )
    if bbox_crs.lat_first:
        lower, upper = lower[::-1], upper[::-1]
    box = BBox(lower[0], lower[1], upper[0], upper[1], bbox_crs)
    geographic = bbox_crs.srid == 4326
    if box.miny > box.maxy:
        raise ParamError("bbox", "the lower corner is north of the upper corner")
    if geographic and not (
        -180 <= box.minx <= 180
        and -180 <= box.maxx <= 180
        and -90 <= box.miny <= 90
        and -90 <= box.maxy <= 90
    ):
        raise ParamError("bbox", "longitudes must be within ±180 and latitudes within ±90")
    if box.crosses_antimeridian and not geographic:
        raise ParamError("bbox", "the lower corner is east of the upper corner")
    return box


_DATE = r"\d{4}-\d{2}-\d{2}"
_DATE_TIME = _DATE + r"[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})"
_INSTANT = re.compile(rf"(?:{_DATE_TIME}|{_DATE})")


def parse_datetime(value: str | None) -> Interval | None:
    """`datetime`: an RFC 3339 instant or an interval, ends open with `..` or left empty.

    /req/core/fc-time-definition: `date-time` or `start/end`; a date without a time means the
    whole day. Both ends open, or an end before the start, is an invalid value. The standard
    leaves the comparison with a date field to the server: see `Interval`.
    """
    if value is None:
        return None
    if "/" not in value:
        return _interval(value, value, value)
    start_text, _, end_text = value.partition("/")
    if start_text in ("", "..") and end_text in ("", ".."):
        raise ParamError("datetime", "an interval needs at least one closed end")
    interval = _interval(
        None if start_text in ("", "..") else start_text,
        None if end_text in ("", "..") else end_text,
        value,
    )
    if _inverted(interval, timed=len(start_text) > 10 and len(end_text) > 10):
        raise ParamError("datetime", "the interval ends before it starts")
    return interval


def _inverted(interval: Interval, *, timed: bool) -> bool:
    """Whether a closed interval ends before it starts: by its instants when both ends have a
    time, else by its days (2019-04-02T23:00:00-05:00/2019-04-02 is one day in Jackson)."""
    if interval.start is None or interval.end is None:
        return False
    return interval.start > interval.end if timed else interval.first_day > interval.last_day


def parse_properties(layer: Layer, query) -> tuple[tuple[LayerField, object], ...]:
    """`<field>=<value>` on the layer's whitelisted fields (/req/core/fc-filters: equality).

    Values are parsed by the field's declared type, so `area_m2=big` is a 400, not a SQL error.
    """
    filters = []
    for layer_field in layer.fields:
        value = single(query, layer_field.name)
        if value is not None:
            filters.append((layer_field, _typed(layer_field, value)))
    return tuple(filters)


def items_params(layer: Layer) -> tuple[str, ...]:
    """The query parameters `layer`'s items accept: the common ones, `datetime` included on
    every layer (see `parse_filter`), and the layer's whitelisted fields."""
    return (*ITEMS_PARAMS, *layer.field_names)


def parse_filter(layer: Layer, query) -> FeatureFilter:
    """The feature filter of a request: bbox (in bbox-crs), datetime, property equalities.

    `datetime` is parsed on every layer, so a malformed value is a 400 everywhere, but it
    filters only a layer with dates. Part 1 Core has every items operation take it
    (/req/core/fc-time-definition: "The operation SHALL support a parameter `datetime`"), and
    "SHALL match all features in the collection that are not associated with a temporal
    geometry, too" (/req/core/fc-time-response C): a layer without dates (parcels, flood
    zones) answers every feature, as pygeoapi does. A client that applies one time filter to
    every layer (a QGIS project's temporal controller) gets the undated layers whole, not an
    error. The downloads, which are not OGC API, still refuse it there (`check_known`).
    """
    bbox_crs = parse_crs(single(query, "bbox-crs"), "bbox-crs")
    interval = parse_datetime(single(query, "datetime"))
    return FeatureFilter(
        bbox=parse_bbox(single(query, "bbox"), bbox_crs),
        interval=interval if layer.datetime_field else None,
        properties=parse_properties(layer, query),
    )


# --- helpers ---------------------------------------------------------------------------


def _integer(name: str, value: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,18}", value.strip()):
        raise ParamError(name, f"'{value}' is not an integer")
    return int(value)


def _finite(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ParamError(name, f"'{value}' is not a number") from None
    if not math.isfinite(number):
        raise ParamError(name, f"'{value}' is not a finite number")
    return number


def _instant(text: str, *, end: bool) -> dt.datetime:
    """An RFC 3339 date-time (UTC), or a date as the first or last instant of that day."""
    if not _INSTANT.fullmatch(text):
        raise ParamError("datetime", f"'{text}' is not an RFC 3339 date-time or date")
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            clock = dt.time.max if end else dt.time.min
            return dt.datetime.combine(day, clock, tzinfo=dt.UTC)
        return dt.datetime.fromisoformat(text.upper().replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        raise ParamError("datetime", f"'{text}' is not a valid date") from None
    except OverflowError:  # 9999-12-31T23:00-05:00 is in the year 10000 in UTC
        raise ParamError("datetime", f"'{text}' is outside the years 1 to 9999 in UTC") from None


def _interval(start_text: str | None, end_text: str | None, text: str) -> Interval:
    """The interval between two ends as written (None: open), with the days they fall on."""
    start = None if start_text is None else _instant(start_text, end=False)
    end = None if end_text is None else _instant(end_text, end=True)
    return Interval(start, end, text, _day(start_text, start), _day(end_text, end))


def _day(text: str | None, instant: dt.datetime | None) -> dt.date | None:
    """The day an end names: a date as written, a date-time's day in the trust's time zone."""
    if text is None or instant is None:
        return None
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    try:
        return instant.astimezone(timezone.get_default_timezone()).date()
    except OverflowError:  # beyond the calendar's first or last day there: that day
        return dt.date.min if instant.year == 1 else dt.date.max


def _typed(field: LayerField, value: str) -> object:
    if field.type == "integer":
        return _integer(field.name, value)
    if field.type in ("number", "decimal"):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ParamError(field.name, f"'{value}' is not a number") from None
        if not number.is_finite():
            raise ParamError(field.name, f"'{value}' is not a finite number")
        return number
    if field.type == "date":
        return _date(field.name, value)
    if field.type == "boolean":  # as JSON writes it, which is what the features show
        if value.lower() not in ("true", "false"):
            raise ParamError(field.name, f"'{value}' is not true or false")
        return value.lower() == "true"
    if "\x00" in value:
        raise ParamError(field.name, "may not contain a NUL character")
    return value


def _date(name: str, value: str) -> dt.date:
    try:
        if re.fullmatch(_DATE, value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise ParamError(name, f"'{value}' is not a date (YYYY-MM-DD)")
