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
from decimal import Context, Decimal, InvalidOperation

from django.core.exceptions import FieldError
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
    text = value.strip()
    if _INTEGER.fullmatch(text) and text[0] != "-" and len(_digits(text)) > INTEGER_DIGITS:
        return LIMIT_MAX  # too many digits for a number, but plainly above the maximum
    return min(_integer("limit", value, minimum=1), LIMIT_MAX)


def parse_offset(value: str | None) -> int:
    """`offset`: features to skip before the page (a convenience; `next` links use `after`)."""
    if value is None:
        return 0
    return _integer("offset", value, minimum=0)


def parse_cursor(name: str, value: str | None) -> int | None:
    """`after` / `before`: the feature id a `next` / `prev` link continues from."""
    if value is None:
        return None
    return _integer(name, value)


def parse_crs(value: str | None, name: str = "crs") -> Crs:
    """`crs` / `bbox-crs`: a served CRS by its URI, safe CURIE, `EPSG:2255` or OGC URN
    (`crs.by_reference`), CRS84 when absent.

    Part 2, /req/crs/fc-crs-valid-value and /req/crs/fc-bbox-crs-valid-value: a CRS the
    collection does not list is a 400. The message lists those served and how to write one:
    "'EPSG:2255' is not a CRS this API serves" sent the demo county's planners away from
    their own CRS, which was served under its URI.
    """
    if value is None:
        return crs_registry.CRS84
    found = crs_registry.by_reference(value)
    if found is None:
        served = crs_registry.served()
        example = next((crs for crs in served if crs.srid != 4326), served[-1])  # the trust's
        short = crs_registry.short_name(example)
        raise ParamError(
            name,
            f"'{value}' is not a CRS this API serves, or not written as one: it serves "
            f"{', '.join(map(crs_registry.short_name, served))}, written as {short}, "
            f"[{short}] or {example.uri}",
        )
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

# Numbers as the API definition declares them (OpenAPI integer and number): ASCII digits, a
# sign, a point, an exponent. Python's int(), float() and Decimal() also take '５', '٥' and
# '1_0', and re's \d matches any script's digits; neither is a number a client writes.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
INTEGER_DIGITS = 18  # any 18-digit integer fits PostgreSQL's bigint
INTEGER_MAX = 10**INTEGER_DIGITS - 1


def _integer(name: str, value: str, *, minimum: int = -INTEGER_MAX) -> int:
    """An integer in ASCII digits, from `minimum` to INTEGER_MAX."""
    text = value.strip()
    if not _INTEGER.fullmatch(text):
        raise ParamError(name, f"'{value}' is not an integer; write it with the digits 0-9")
    sign, digits = "-" if text[0] == "-" else "", _digits(text)
    if len(digits) > INTEGER_DIGITS and not sign:
        raise ParamError(name, f"'{value}' is too large; give at most {INTEGER_MAX}")
    if len(digits) > INTEGER_DIGITS or int(sign + digits) < minimum:
        raise ParamError(name, f"'{value}' is too small; give at least {minimum}")
    return int(sign + digits)


def _digits(text: str) -> str:
    """An integer's digits without its sign and leading zeros: 00000000000000000001 is one
    digit, not twenty (and int() refuses a text of more than 4,300 digits, zeros or not)."""
    return text.lstrip("+-").lstrip("0") or "0"


def _number_text(name: str, value: str) -> str:
    """`value` stripped, if it is a plain decimal number (`_NUMBER`); else why it is not."""
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return text
    try:
        endless = not math.isfinite(float(text))  # NaN, Infinity: numbers, but not finite
    except ValueError:
        endless = False
    if endless:
        raise ParamError(name, f"'{value}' is not a finite number")
    raise ParamError(name, f"'{value}' is not a number; write it with the digits 0-9 and a point")


def _finite(name: str, value: str) -> float:
    number = float(_number_text(name, value))
    if not math.isfinite(number):  # 1e999: plain, but beyond a double
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
        return _decimal(field, value)
    if field.type == "date":
        return _date(field.name, value)
    if field.type == "boolean":
        return _boolean(field.name, value)
    if "\x00" in value:
        raise ParamError(field.name, "may not contain a NUL character")
    return value


# A boolean as clients write it: JSON's true/false (what the features show), and 1/0, which is
# how GDAL's OAPIF driver (so QGIS) sends `-where "available=1"` on an OGR boolean field (OGR
# stores booleans as integers); yes/no as people type them. Any case.
BOOLEAN_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _boolean(name: str, value: str) -> bool:
    """`value` as a boolean (BOOLEAN_WORDS), or a 400 naming the field."""
    found = BOOLEAN_WORDS.get(value.strip().lower())
    if found is None:
        raise ParamError(name, f"'{value}' is not true or false")
    return found


def _decimal(field: LayerField, value: str) -> Decimal:
    """A number the field's column can hold, or a 400 saying what it holds.

    Refused rather than answered with no features: a value no row can ever have (arrears of
    1e20 dollars, or of a tenth of a cent) is a mistake the client should hear about, and an
    empty page would read as "no lease owes that". PostgreSQL could not even read the largest
    (1e999999999 overflows numeric: the 500 this replaces).
    """
    before, places = _capacity(field)
    finest = Decimal(1).scaleb(-places)
    largest = Decimal(10) ** before - finest
    try:
        number = Decimal(_number_text(field.name, value))
    except InvalidOperation:  # an exponent of 19 digits or more, beyond even a Decimal
        raise ParamError(
            field.name,
            f"'{value}' is out of range; give at most {largest:f}, to {places} decimal places",
        ) from None
    if number and number.adjusted() >= before:
        if number < 0:
            raise ParamError(field.name, f"'{value}' is too small; give at least -{largest:f}")
        raise ParamError(field.name, f"'{value}' is too large; give at most {largest:f}")
    if _decimal_places(number) > places:
        raise ParamError(
            field.name,
            f"'{value}' has more than {places} decimal places; round it to {places}, "
            f"the finest {field.name} holds",
        )
    if not -places <= number.as_tuple().exponent <= before:
        # 0E-999999999 or 1.000... with 20,000 zeros is a value the field holds, but not as
        # PostgreSQL's numeric reads it: written again with `places` places.
        number = number.quantize(finest, context=Context(prec=before + places + 1))
    return number


def _capacity(field: LayerField) -> tuple[int, int]:
    """The digits before the point and after it that the field's column holds: its model
    field's (arrears: numeric(14, 2), 12 and 2), else those of DECIMAL_CAPACITY."""
    try:
        column = field.expression.output_field
    except (AttributeError, FieldError):  # an F() has none until resolved against a model
        column = None
    digits, places = getattr(column, "max_digits", None), getattr(column, "decimal_places", None)
    if digits is None or places is None:
        return DECIMAL_CAPACITY
    return digits - places, places


# For a number field whose column does not say (a double precision): well within what a
# double tells apart and PostgreSQL's numeric reads.
DECIMAL_CAPACITY = (15, 15)


def _decimal_places(number: Decimal) -> int:
    """The decimal places `number` needs: 1.50 needs 1, 1e-3 needs 3, 1200 and 0E-9 none."""
    if not number:
        return 0
    _, digits, exponent = number.as_tuple()
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing_zeros))


def _date(name: str, value: str) -> dt.date:
    try:
        if re.fullmatch(_DATE, value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise ParamError(name, f"'{value}' is not a date (YYYY-MM-DD)")
