"""The API definition (/req/oas30/oas-definition-1): OpenAPI 3.0, built from the layers.

Each collection the user may see gets its own items path declaring exactly the parameters it
accepts (its whitelisted fields as equality filters, and `datetime`, which on a layer without
dates selects every feature), so clients (GDAL reads this document for queryable fields and the
page size) and fuzzers (schemathesis) see the same rules the views enforce.

Every status code the server answers is listed (/req/oas30/completeness): 401 on every
operation, since credentials sent and wrong are refused anywhere (maps.credentials), and 429
once too many wrong passwords came from one address (clt.lockout); 403 too on a staff layer's,
with the ways to authenticate (/req/oas30/security); 304 on each operation that sends an ETag.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from clt.security import PROBLEM
from maps.layers import Layer, LayerField, layers_for
from maps.ogcapi import crs as crs_registry
from maps.ogcapi.collections import UNDATED, description
from maps.ogcapi.conditional import conditional
from maps.ogcapi.landing import TITLE
from maps.ogcapi.params import LIMIT_DEFAULT, LIMIT_MAX, check_known
from maps.ogcapi.responses import (
    GEOJSON,
    HTML,
    JSON,
    OPENAPI,
    html_response,
    json_response,
    ogc_view,
    wants_html,
)

REF = "#/components/"


@ogc_view
def openapi(request: HttpRequest) -> HttpResponse:
    check_known(request.GET, ["f"])
    html = wants_html(request)
    layers = layers_for(request.user)
    # One ETag per set of layers the asker may see (staff get the leases' paths); it also
    # changes when their data does, which the definition does not print: a refetch, never a
    # stale copy. GDAL and QGIS read it on every connection.
    conditional(request, layers, representation=HTML if html else OPENAPI)
    document = definition(request, layers)
    if html:
        return html_response(request, "api.html", {"doc": document})
    return json_response(document, content_type=OPENAPI)


def definition(request: HttpRequest, layers: list[Layer]) -> dict:
    """The OpenAPI 3.0 document for these layers, served from this request's host."""
    paths = {
        "/": _get(
            "getLandingPage",
            "Landing page",
            "LandingPage",
            ["f"],
            tag="Capabilities",
            revalidates=True,
        ),
        "/conformance": _get(
            "getConformance",
            "Conformance classes",
            "Conformance",
            ["f"],
            tag="Capabilities",
            revalidates=True,
        ),
        "/api": _get(
            "getApi",
            "This API definition",
            None,
            ["f"],
            tag="Capabilities",
            media=OPENAPI,
            revalidates=True,
        ),
        "/collections": _get(
            "getCollections",
            "The collections (map layers)",
            "Collections",
            ["f"],
            tag="Capabilities",
            revalidates=True,
        ),
    }
    for layer in layers:
        base = f"/collections/{layer.name}"
        op = layer.name.replace("-", "_")
        staff = not layer.is_public
        paths[base] = _get(
            f"describe_{op}",
            f"About {layer.title}",
            "Collection",
            ["f"],
            tag=layer.name,
            staff=staff,
            revalidates=True,
        )
        paths[base + "/items"] = _get(
            f"get_{op}_items",
            f"Features of {layer.title}",
            "FeatureCollection",
            _items_parameters(layer),
            tag=layer.name,
            media=GEOJSON,
            staff=staff,
            revalidates=True,
        )
        paths[base + "/items/{featureId}"] = _get(
            f"get_{op}_item",
            f"One feature of {layer.title}",
            "Feature",
            ["featureId", "f", "crs"],
            tag=layer.name,
            media=GEOJSON,
            staff=staff,
            revalidates=True,
        )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": TITLE,
            "version": "1.0.0",
            "description": "Map layers of the land trust as OGC API - Features collections.",
            "license": {"name": "AGPL-3.0-or-later"},
        },
        # No trailing slash: OpenAPI appends each path ("/collections") to the server URL.
        "servers": [{"url": request.build_absolute_uri(reverse("ogcapi:landing")).rstrip("/")}],
        "tags": [
            {"name": "Capabilities"},
            *({"name": layer.name, "description": description(layer)} for layer in layers),
        ],
        "paths": paths,
        "components": {
            "parameters": {
                **_common_parameters(),
                **{
                    _field_param_name(layer, lf): _field_parameter(lf)
                    for layer in layers
                    for lf in layer.fields
                },
            },
            "schemas": _schemas(),
            "responses": _error_responses(),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


# How a staff layer may be read without a browser session (maps.credentials, maps.tokens).
SECURITY_SCHEMES = {
    "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
    "token": {
        "type": "http",
        "scheme": "bearer",
        "description": "A planner's access token (clt token create)",
    },
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "A staff user name and password, or any user name and an access token "
        "as the password",
    },
}


def _error_responses() -> dict:
    problem = {PROBLEM: {"schema": _ref("Problem")}}
    # To a browser that asked for HTML (f=html, or by Accept), the same as a page.
    problem_or_page = {**problem, HTML: {"schema": {"type": "string"}}}
    challenge = {
        "WWW-Authenticate": {
            "description": "How to authenticate: Basic, or Bearer to a client that sent Bearer",
            "schema": {"type": "string"},
        }
    }
    return {
        "NotModified": {
            "description": "The copy named by If-None-Match is current: the data under it "
            "has not changed",
            "headers": {"ETag": {"description": "The same ETag", "schema": {"type": "string"}}},
        },
        "BadRequest": {
            "description": "A query parameter is invalid", "content": problem_or_page
        },
        "Unauthorized": {
            "description": "Credentials are needed (a staff layer) or were sent and are wrong",
            "headers": challenge,
            "content": problem_or_page,
        },
        "Forbidden": {
            "description": "The layer is for the trust's staff", "content": problem_or_page
        },
        "NotFound": {"description": "No such collection or feature", "content": problem_or_page},
        "TooManyFailedLogins": {
            "description": "Too many wrong passwords for this user name from this address: "
            "refused, even the right one, until Retry-After has passed (clt.lockout)",
            "headers": {"Retry-After": {"description": "Seconds", "schema": {"type": "integer"}}},
            "content": problem,
        },
    }


def _items_parameters(layer: Layer) -> list[str | dict]:
    names = ["f", "bbox", "bbox-crs", "crs", "limit", "offset", "after", "before"]
    names.append("datetime" if layer.datetime_field else "datetime-undated")
    return [
        *names,
        *({"$ref": REF + "parameters/" + _field_param_name(layer, lf)} for lf in layer.fields),
    ]


def _get(
    operation_id: str,
    summary: str,
    schema: str | None,
    parameters: list,
    *,
    tag: str,
    media: str = JSON,
    staff: bool = False,
    revalidates: bool = False,
) -> dict:
    """A GET operation; a staff layer's also answers 403, and says how to authenticate; one
    with an ETag (maps.ogcapi.conditional) answers 304 to a client whose copy is current."""
    content = {media: {"schema": _ref(schema) if schema else {"type": "object"}}}
    if media != OPENAPI:
        content[HTML] = {"schema": {"type": "string"}}
    responses = {
        "200": {"description": summary, "content": content},
        "400": {"$ref": REF + "responses/BadRequest"},
        "401": {"$ref": REF + "responses/Unauthorized"},
        **({"304": {"$ref": REF + "responses/NotModified"}} if revalidates else {}),
        **({"403": {"$ref": REF + "responses/Forbidden"}} if staff else {}),
        "404": {"$ref": REF + "responses/NotFound"},
        "429": {"$ref": REF + "responses/TooManyFailedLogins"},
    }
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "parameters": [
            p if isinstance(p, dict) else {"$ref": REF + "parameters/" + p} for p in parameters
        ],
        "responses": responses,
    }
    if staff:
        operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
    return {"get": operation}


def _ref(schema: str) -> dict:
    return {"$ref": REF + "schemas/" + schema}


def _query(name: str, description: str, schema: dict, **extra) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        "style": "form",
        "explode": False,
        **extra,
    }


def _common_parameters() -> dict:
    served = crs_registry.served()
    crs_uris = [crs.uri for crs in served]
    # The schema lists the URIs Part 2 asks for; the text, the spellings planners and GDAL send
    # too (`crs_registry.by_reference`), which a client reading only the enum would not know.
    example = crs_registry.short_name(next((c for c in served if c.srid != 4326), served[-1]))
    spellings = (
        f"A URI; also read: {example}, [{example}] (a safe CURIE) and "
        f"urn:ogc:def:crs:{example.replace(':', '::')}, and OGC:CRS84."
    )
    return {
        "f": _query(
            "f",
            "The format of the response; overrides the Accept header.",
            {"type": "string", "enum": ["json", "html"]},
        ),
        "bbox": _query(
            "bbox",
            "Features intersecting this box: lower corner, upper corner (4 or 6 numbers), in "
            "bbox-crs (CRS84 longitude,latitude by default).",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        ),
        "bbox-crs": _query(
            "bbox-crs",
            f"The CRS of bbox. {spellings}",
            {"type": "string", "format": "uri", "enum": crs_uris},
        ),
        "crs": _query(
            "crs",
            f"The CRS of the returned geometries. {spellings}",
            {"type": "string", "format": "uri", "enum": crs_uris},
        ),
        "datetime": _query(
            "datetime",
            "Features whose date falls on this RFC 3339 date, date-time or interval "
            "(start/end, `..` for an open end).",
            {"type": "string"},
        ),
        # The same parameter on a layer without dates (Part 1 has every collection take it).
        "datetime-undated": _query(
            "datetime",
            "An RFC 3339 date, date-time or interval (start/end, `..` for an open end). "
            f"{UNDATED} A malformed value is still refused.",
            {"type": "string"},
        ),
        "limit": _query(
            "limit",
            f"Features per page: 1 to {LIMIT_MAX:,}, default {LIMIT_DEFAULT}. A larger value "
            "is served as the maximum, with a `next` link.",
            {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT},
        ),
        "offset": _query(
            "offset",
            "Features to skip (prefer following `next` links).",
            {"type": "integer", "minimum": 0, "default": 0},
        ),
        "after": _query(
            "after",
            "Keyset paging: features after this id (from a `next` link).",
            {"type": "integer"},
        ),
        "before": _query(
            "before",
            "Keyset paging: features before this id (from a `prev` link).",
            {"type": "integer"},
        ),
        "featureId": {
            "name": "featureId",
            "in": "path",
            "required": True,
            "description": "The id of a feature.",
            "schema": {"type": "string"},
        },
    }


def _field_param_name(layer: Layer, lf: LayerField) -> str:
    return f"{layer.name}.{lf.name}"


def _field_parameter(lf: LayerField) -> dict:
    said = f"Features whose {lf.title or lf.name} equals this value."
    if lf.type == "boolean":  # as GDAL sends them (1/0), and as people type them
        said += " true or false; also read: 1 or 0, yes or no, in any case."
    return _query(lf.name, said, _json_schema(lf))


def _json_schema(lf: LayerField) -> dict:
    return {
        "integer": {"type": "integer"},
        "number": {"type": "number"},
        "decimal": {"type": "number"},
        "boolean": {"type": "boolean"},
        "date": {"type": "string", "format": "date"},
    }.get(lf.type, {"type": "string"})


def _schemas() -> dict:
    link = {
        "type": "object",
        "required": ["href"],
        "properties": {
            "href": {"type": "string"},
            "rel": {"type": "string"},
            "type": {"type": "string"},
            "title": {"type": "string"},
        },
    }
    links = {"type": "array", "items": _ref("Link")}
    geometry = {
        "nullable": True,
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"type": "string"}},
    }
    return {
        "Link": link,
        "LandingPage": {
            "type": "object",
            "required": ["links"],
            "properties": {
                "title": {"type": "string"},
                "description": {"type": "string"},
                "links": links,
            },
        },
        "Conformance": {
            "type": "object",
            "required": ["conformsTo"],
            "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
        },
        "Collection": {
            "type": "object",
            "required": ["id", "links"],
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "links": links,
                "extent": {"type": "object"},
                "itemType": {"type": "string"},
                "crs": {"type": "array", "items": {"type": "string"}},
                "storageCrs": {"type": "string"},
            },
        },
        "Collections": {
            "type": "object",
            "required": ["links", "collections"],
            "properties": {
                "links": links,
                "collections": {"type": "array", "items": _ref("Collection")},
            },
        },
        "Feature": {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "geometry": geometry,
                "properties": {"type": "object", "nullable": True},
                "links": links,
            },
        },
        "FeatureCollection": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": _ref("Feature")},
                "links": links,
                "timeStamp": {"type": "string", "format": "date-time"},
                "numberMatched": {"type": "integer", "minimum": 0},
                "numberReturned": {"type": "integer", "minimum": 0},
            },
        },
        "Problem": {
            "type": "object",
            "required": ["title", "status"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
            },
        },
    }
