"""The registry's own HTTP API as OpenAPI 3.0: the finder, the map's search, tiles, downloads.

The OGC API (`/ogcapi/api`) describes the map layers as collections; this document
(`/api/openapi.json`) describes everything else a client may call, with the same limits the
views enforce (parcels.finder, maps.views), so a client generator or a fuzzer (schemathesis, in
the test suite) sees the rules that hold. Staff operations say how to authenticate: a session,
or a planner's access token (maps/tokens.py) as Bearer or as Basic's password.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from clt.security import PROBLEM
from maps.export_urls import MEDIA_TYPE_ESSENCES
from maps.layers import all_layers
from maps.search import MAX_QUERY_CHARS, MIN_QUERY_CHARS
from maps.views import MVT_CONTENT_TYPE as MVT
from parcels.finder import (
    DEFAULT_TOLERANCE_M,
    EASEMENT_CHOICES,
    MAX_ASSEMBLAGE_TOLERANCE_M,
    MAX_DISTANCE_M,
    MAX_NEAR_HOLDINGS_M,
    MAX_PAGE_SIZE,
    MAX_TOLERANCE_M,
    ORDERS,
    PIPELINE_CHOICES,
    TAX_STATUSES,
)
from parcels.queries import OWNER_KINDS

GEOJSON = "application/geo+json"
EXPORT_MEDIA_TYPES = tuple(dict.fromkeys(MEDIA_TYPE_ESSENCES.values()))  # what /export/ sends


def _param(name: str, schema: dict, description: str, *, where: str = "query",
           required: bool = False) -> dict:  # fmt: skip
    return {"name": name, "in": where, "required": required or where == "path",
            "description": description, "schema": schema}  # fmt: skip


def _number(maximum: float | None = None, minimum: float = 0) -> dict:
    schema: dict = {"type": "number", "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def _integer(minimum: int, maximum: int) -> dict:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


NUMBER = r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*"  # as float() reads one
BBOX = _param("bbox", {"type": "string", "pattern": rf"^{NUMBER}(,{NUMBER}){{3}}$"},
              "minLon,minLat,maxLon,maxLat (WGS84)")  # fmt: skip
SEARCH_QUERY = _param(
    "q", {"type": "string", "minLength": MIN_QUERY_CHARS, "maxLength": MAX_QUERY_CHARS},
    "Address (words in any order) or APN, with at least two letters or digits; a first word of "
    "one or two letters or digits is found where a word of the address starts", required=True,
)
# The downloads take the OGC API items' filters (maps.ogcapi.params): a 2D or 3D bbox in any
# CRS served, the output CRS, a date or interval on a dated layer, and field=value.
# bbox: 4 numbers, or 6 with heights, never 5 (maps.ogcapi.params.parse_bbox refuses it).
EXPORT_FILTERS = [
    _param("bbox", {"type": "string", "pattern": rf"^{NUMBER}(,{NUMBER}){{3}}((,{NUMBER}){{2}})?$"},
           "minx,miny,maxx,maxy (or six numbers with heights), in bbox-crs"),
    _param("bbox-crs", {"type": "string", "format": "uri"},
           "CRS of bbox (default CRS84), e.g. http://www.opengis.net/def/crs/EPSG/0/2255"),
    _param("crs", {"type": "string", "format": "uri"},
           "CRS of the file (not GeoJSON, which is always CRS84)"),
    _param("datetime", {"type": "string"},
           "RFC 3339 date, date-time or interval (a/b, ../b, a/..), on dated layers only"),
    {"name": "fields", "in": "query", "style": "form", "explode": True,
     "schema": {"type": "object", "additionalProperties": {"type": "string"}},
     "description": "field=value: keep features whose whitelisted field equals the value"},
]  # fmt: skip
LIMIT = _param("limit", _integer(1, MAX_PAGE_SIZE), "Features per page (default 100)")
PAGE = _param("page", _integer(1, 100_000), "Page number, from 1 (the answer's has_next says "
              "whether there is a next)")  # fmt: skip


def _tolerance(maximum: float, why: str) -> dict:
    return _param(
        "tolerance_m",
        _number(maximum),
        f"Gap (metres) that still counts as touching (default {DEFAULT_TOLERANCE_M:g}: the "
        "slivers and gaps of real parcel layers; lots farther apart are not neighbours); at "
        f"most {maximum:g} m {why}",
    )


TOLERANCE = _tolerance(MAX_TOLERANCE_M, "(farther, a lot is near trust land: near_holdings_m "
                       "in /api/vacant-lots)")  # fmt: skip
ASSEMBLAGE_TOLERANCE = _tolerance(
    MAX_ASSEMBLAGE_TOLERANCE_M, "(wider, groups reach across streets and blocks until most "
    "of a county's lots are one, too big to outline in time)",
)  # fmt: skip
TOUCHES_TRUST_LAND = _param(
    "touches_trust_land", {"type": "boolean"},
    "true: only the groups beside land the trust holds (a lot of the group within tolerance_m "
    "of it); false: only those apart from it. Applied before the page is cut. By default both, "
    "each saying touches_trust_land",
)  # fmt: skip


def _comma_list(name: str, allowed: tuple[str, ...], description: str) -> dict:
    """A comma-separated list of choices (form style, not exploded: tax_status=a,b)."""
    schema = {"type": "array", "items": {"type": "string", "enum": list(allowed)}, "minItems": 1}
    return {**_param(name, schema, description), "style": "form", "explode": False}


# The lots' filters: every finder answer takes them (parcels.finder.LOT_FILTERS), and refuses a
# parameter it does not take with a 400.
LOT_FILTER_PARAMS = [
    BBOX,
    _param("polygon", {"type": "string"}, "Only inside this polygon (WKT or GeoJSON, WGS84)"),
    _param("near", {"type": "string"}, "lon,lat: measure distance from here"),
    _param("address", {"type": "string"}, "Measure distance from the parcel at this address"),
    _param("within_m", _number(MAX_DISTANCE_M), "Only within this many metres of near/address"),
    _param("near_holdings_m", _number(MAX_NEAR_HOLDINGS_M), "Only this close to trust land"),
    _param("min_area_m2", _number(), "Each lot's area at least this many square metres"),
    _param("max_area_m2", _number(), "Each lot's area at most this many square metres"),
    _param("min_acres", _number(), "Each lot's area at least this many acres"),
    _param("max_acres", _number(), "Each lot's area at most this many acres"),
    _param("land_use", {"type": "string"}, "Comma-separated county land-use codes"),
    _param("zoning", {"type": "string"}, "Comma-separated zoning codes"),
    _comma_list("tax_status", TAX_STATUSES, "Tax statuses, comma-separated"),
    _comma_list("owner", OWNER_KINDS, "Kinds of owner of record, comma-separated"),
    _param(
        "neighbourhood",
        {"type": "string"},
        "Only lots in this neighbourhood overlay, overlapping it by more than 0.5 m (a lot "
        "sharing only an edge with it is not in it; 400 when none by this name is loaded)",
    ),
    _param(
        "outside_flood",
        {"type": "boolean"},
        "Leave out lots in a flood zone: overlapping one by more than 0.5 m (400 when no "
        "flood-zone overlay is loaded: clt import-layer FILE --kind flood-zone)",
    ),
    _comma_list(
        "pipeline",
        PIPELINE_CHOICES,
        "Lots by where they stand in the acquisition pipeline, by their latest step, "
        "comma-separated: any (the default: every lot, each marked with its stage), new (never "
        "in it), open (prospect, under_review, offer or under_contract), dropped, acquired (its "
        "last step says so, yet the trust does not hold it); new,open leaves out the lots "
        "dropped; any is given alone",
    ),
    _param(
        "easement",
        {"type": "string", "enum": list(EASEMENT_CHOICES)},
        "Lots a conservation easement in force covers (its protected area overlaps the lot by "
        f"more than {DEFAULT_TOLERANCE_M:g} m, the digitising allowance): any (the default: every "
        "lot; a vacant-lots answer marks each under_easement) or exclude (leave them out)",
    ),
]
AREA_FILTERS = ("min_area_m2", "max_area_m2", "min_acres", "max_acres")
# An assemblage's lots are filtered before they are grouped; the group's own size is
# min_lots and min_total_m2 (staff asked for "area from 2000" and got no group of 2000 m²).
ASSEMBLAGE_LOT_FILTER_PARAMS = [
    {**p, "description": f"{p['description']}: a lot outside the range is left out before "
     "lots are grouped (a group's combined area is min_total_m2)"} if p["name"] in AREA_FILTERS
    else p
    for p in LOT_FILTER_PARAMS
]  # fmt: skip
FINDER_PARAMS = [
    *LOT_FILTER_PARAMS,
    _param("order", {"type": "string", "enum": list(ORDERS)}, "Sort order"),
    PAGE,
    LIMIT,
]


# What each finder answer's features carry (the page, the CLI's CSV and a client read these).
PAGED = (
    "A page of the answer, in a fixed order: the FeatureCollection says its page, limit and "
    "has_next (whether the next page holds more) at its top level."
)
PIPELINE_PROPERTIES = (
    "pipeline_stage, pipeline_on and pipeline_reason: the lot's latest step in the acquisition "
    "pipeline (prospect, under_review, offer, under_contract, acquired or dropped), its date and "
    "its reason (why a lot was dropped), all null for a lot never in the pipeline"
)
LOT_PROPERTIES = (
    f"{PAGED} Each feature's id is the parcel's; its properties: apn, address, owner_of_record, "
    "land_use, zoning, tax_status, area_m2, acres, score, distance_m (measured from near or "
    "address), under_easement (whether a conservation easement in force covers it), "
    f"{PIPELINE_PROPERTIES}."
)
ADJACENT_PROPERTIES = (
    f"{PAGED} Nearest trust land first, then by APN. Each feature's id is the parcel's; its "
    "properties: apn, address, owner_of_record, "
    "land_use, zoning, tax_status, area_m2, gap_m (to the nearest trust land), holdings (the "
    "names of the holdings it touches) and holding_ids (their ids, in the same order), "
    "touches_apns (the trust's parcels it touches), under_easement (whether a conservation "
    f"easement in force covers it), {PIPELINE_PROPERTIES}."
)
ASSEMBLAGE_PROPERTIES = (
    f"{PAGED} Each feature is a group of touching lots, largest first (its id: its place in "
    "that order, from 1): lots, area_m2, acres, apns and "
    "parcel_ids (in the same order), touches_trust_land, holdings (names) and holding_ids (in "
    "the same order), under_easement_apns (the APNs of its lots a conservation easement in "
    "force covers, in order; empty when none), pipeline (its lots in the acquisition pipeline: "
    "apn, stage, on, reason)."
)


def _responses(ok: dict, *, staff: bool = False, extra: tuple[str, ...] = ()) -> dict:
    problem = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    responses = {"200": {"description": "OK", "content": ok},
                 "400": {"description": "A parameter is invalid", "content": problem}}  # fmt: skip
    if staff:
        responses["401"] = {"description": "Log in, or send an access token (or credentials "
                            "sent are wrong)", "content": problem,
                            "headers": {"WWW-Authenticate": {"schema": {"type": "string"},
                                        "description": "How to authenticate"}}}  # fmt: skip
        responses["403"] = {"description": "Not the trust's staff", "content": problem}
        responses["429"] = {"description": "Too many wrong passwords for this user name from "
                            "this address: refused until Retry-After has passed",
                            "content": problem,
                            "headers": {"Retry-After": {"schema": {"type": "integer"},
                                        "description": "Seconds"}}}  # fmt: skip
    for code in extra:
        responses[code] = {"description": {"204": "Nothing here", "304": "Not modified",
                                           "404": "No such layer",
                                           "503": "Busy: a download is being prepared; "
                                                  "try again after Retry-After"}[code]}  # fmt: skip
        if code in ("404", "503"):
            responses[code]["content"] = problem
        if code == "503":  # maps/export_cache.py: too many builds at once
            responses[code]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                          "description": "Seconds"}}  # fmt: skip
    return responses


def _operation(op_id: str, summary: str, params: list, responses: dict, *,
               staff: bool = False, description: str | None = None) -> dict:  # fmt: skip
    operation = {"operationId": op_id, "summary": summary, "parameters": params,
                 "responses": responses}  # fmt: skip
    if description:
        operation["description"] = description
    if staff:
        operation["security"] = [{"session": []}, {"token": []}, {"tokenAsBasic": []}]
    return {"get": operation}


def _geojson() -> dict:
    return {GEOJSON: {"schema": {"type": "object", "required": ["type", "features"]}}}


def _geojson_page() -> dict:
    """A finder answer: a FeatureCollection that says which page it is, and if more follow."""
    schema = {"type": "object", "required": ["type", "features", "page", "limit", "has_next"],
              "properties": {"page": {"type": "integer", "minimum": 1},
                             "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                             "has_next": {"type": "boolean"}}}  # fmt: skip
    return {GEOJSON: {"schema": schema}}


def definition(request: HttpRequest) -> dict:
    layers = sorted(all_layers())
    tile_layers = [n for n, layer in all_layers().items() if layer.delivery == "tiles"]
    document = {
        "openapi": "3.0.3",
        "info": {
            "title": "Land trust registry API",
            "version": "1.0.0",
            "description": "Find land (staff), search the public map, its tiles and downloads. "
            "The layers as OGC API - Features: /ogcapi/api.",
            "license": {"name": "AGPL-3.0-or-later"},
        },
        "servers": [{"url": request.build_absolute_uri("/").rstrip("/")}],
        "paths": {
            "/api/vacant-lots": _operation(
                "findVacantLots",
                "Vacant lots, filtered and ranked",
                FINDER_PARAMS,
                _responses(_geojson_page(), staff=True),
                staff=True,
                description=LOT_PROPERTIES,
            ),
            "/api/vacant-lots/adjacent": _operation(
                "findAdjacentLots",
                "Vacant lots touching trust land",
                [TOLERANCE, *LOT_FILTER_PARAMS, PAGE, LIMIT],
                _responses(_geojson_page(), staff=True),
                staff=True,
                description=ADJACENT_PROPERTIES,
            ),
            "/api/assemblages": _operation(
                "findAssemblages",
                "Groups of touching vacant lots",
                [
                    ASSEMBLAGE_TOLERANCE,
                    *ASSEMBLAGE_LOT_FILTER_PARAMS,
                    TOUCHES_TRUST_LAND,
                    PAGE,
                    LIMIT,
                    _param("min_lots", _integer(1, 100_000), "Fewest lots in a group (default 2)"),
                    _param(
                        "min_total_m2",
                        _number(),
                        "Smallest group: its combined area (the sum of its lots' areas), "
                        "square metres; min_area_m2 and min_acres filter each lot instead",
                    ),
                ],
                _responses(_geojson_page(), staff=True),
                staff=True,
                description=ASSEMBLAGE_PROPERTIES,
            ),
            "/map/search.json": _operation(
                "searchMap",
                "Find a public parcel by address or APN",
                [SEARCH_QUERY],
                _responses({"application/json": {"schema": {"type": "object"}}}),
            ),
            "/map/staff/search.json": _operation(
                "searchStaffMap",
                "Find a parcel on the staff map, a leased home with its lease (404 to others)",
                [SEARCH_QUERY],
                _responses({"application/json": {"schema": {"type": "object"}}},
                           extra=("404",)),
                staff=True,
            ),
            "/tiles/{layer}/{z}/{x}/{y}.pbf": _operation(
                "getTile",
                "A Mapbox vector tile of a layer (a staff layer's is a 401 without credentials, "
                "a 403 to a user who is not staff; 404: no such tile layer)",
                [
                    _param("layer", {"type": "string", "enum": tile_layers}, "Layer", where="path"),
                    _param("z", _integer(0, 22), "Zoom", where="path"),
                    _param("x", _integer(0, 2**22 - 1), "Column", where="path"),
                    _param("y", _integer(0, 2**22 - 1), "Row", where="path"),
                ],
                _responses(
                    {MVT: {"schema": {"type": "string", "format": "binary"}}},
                    staff=True,
                    extra=("204", "304", "404"),
                ),
            ),
            "/export/{layer}.{format}": _operation(
                "downloadLayer",
                "A layer as a file (GeoJSON, GeoPackage, CSV, zipped shapefile)",
                [
                    _param("layer", {"type": "string", "enum": layers}, "Layer", where="path"),
                    _param(
                        "format",
                        {"type": "string", "enum": ["geojson", "gpkg", "csv", "shp.zip"]},
                        "Format",
                        where="path",
                    ),
                    *EXPORT_FILTERS,
                ],
                _responses(
                    {media: {"schema": {"type": "object"} if media == GEOJSON
                             else {"type": "string", "format": "binary"}}
                     for media in EXPORT_MEDIA_TYPES},
                    staff=True,
                    extra=("304", "404", "503"),  # If-None-Match; the export cache busy
                ),
            ),
            "/export/{layer}.csv-metadata.json": _operation(
                "csvMetadata",
                "The W3C CSVW metadata (columns, types, provenance) of a layer's CSV download",
                [
                    _param("layer", {"type": "string", "enum": layers}, "Layer", where="path"),
                    *EXPORT_FILTERS,
                ],
                _responses({"application/csvm+json": {"schema": {"type": "object"}}},
                           staff=True, extra=("304", "404")),
            ),
        },  # fmt: skip
        "components": {
            "schemas": {
                "Problem": {
                    "type": "object",
                    "description": "RFC 9457 problem details",
                    "required": ["title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                    },
                }
            },
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A planner's access token (clt token create)",
                },
                "tokenAsBasic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "Any user name; the access token as password",
                },
            },  # fmt: skip
        },
    }
    paths = document["paths"]
    for path in FINDER_PATHS:
        paths[f"{path}.csv"] = _as_spreadsheet(paths[path])
    return document


# The finder's answers, each also as CSV at the same path with ".csv" (parcels.views).
FINDER_PATHS = ("/api/vacant-lots", "/api/vacant-lots/adjacent", "/api/assemblages")


def _as_spreadsheet(path_item: dict) -> dict:
    """A finder path's operation answering CSV: the same parameters and page, no outlines."""
    operation = dict(path_item["get"])
    operation["operationId"] += "Csv"
    operation["summary"] += ", as CSV (the same page; no outlines)"
    ok = {"description": "OK", "content": {"text/csv": {"schema": {"type": "string"}}}}
    operation["responses"] = {**operation["responses"], "200": ok}
    return {"get": operation}


@require_safe
def openapi(request: HttpRequest) -> HttpResponse:
    """GET /api/openapi.json: this API's OpenAPI 3.0 document."""
    return HttpResponse(
        json.dumps(definition(request), indent=1),
        content_type="application/vnd.oai.openapi+json;version=3.0",
    )
