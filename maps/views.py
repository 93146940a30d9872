"""The map's HTTP face: thin views that validate a request, call maps/, and answer.

Public layers are served to anyone. A staff layer's tiles answer 401 with a challenge to a
request without credentials and 403 to a user who may not see it (not staff, or staff without a
role that may view its records: `Layer.visible_to`), as its OGC API collection and
downloads do (the OGC API lists the layer, so a 404 hid nothing and told a planner with an
expired session "no such layer"); an unknown layer is a 404, and so is a layer's GeoJSON to
anyone who may not see it (no staff layer is served as GeoJSON). Errors are RFC 9457 problem
documents.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from django.views.decorators.http import require_safe

from clt import compression, security
from maps import publicmap, tiles, versions
from maps import search as map_search
from maps.areas import areas_of_parcel
from maps.credentials import refusal
from maps.layers import Layer, all_layers, get_layer, layers_for, staff_layers_for
from maps.ogcapi.query import extents
from maps.tiles import unordered

MVT_CONTENT_TYPE = "application/vnd.mapbox-vector-tile"


problem = security.problem_response  # the site's one problem-document builder


def visible_layer(request: HttpRequest, name: str) -> Layer | None:
    """The layer called `name` if this request may see it (None for an unknown layer too)."""
    layer = get_layer(name)
    return layer if layer is not None and _may_see(request, layer) else None


def _may_see(request: HttpRequest, layer: Layer) -> bool:
    return layer.is_public or layer.visible_to(request.user)


def _refused(request: HttpRequest, layer: Layer) -> HttpResponse:
    """A staff layer asked for by someone who may not see it (`credentials.refusal`)."""
    status, title, headers = refusal(request)
    response = problem(status, title, f"layer '{layer.name}' is for the trust's staff")
    for header, value in headers.items():
        response[header] = value
    patch_vary_headers(response, ["Cookie", "Authorization"])
    return response


def _cache_headers(response: HttpResponse, layer: Layer, etag: str) -> HttpResponse:
    response["ETag"] = etag
    # no-cache: keep it, but ask each time; the answer is a 304 until the data changes.
    response["Cache-Control"] = "public, no-cache" if layer.is_public else "private, no-cache"
    if not layer.is_public:
        patch_vary_headers(response, ["Cookie", "Authorization"])  # a session or a token
    return response


def _client_etags(request: HttpRequest) -> list[str]:
    return parse_etags(request.headers.get("If-None-Match", ""))


@security.read_only
def tile(request: HttpRequest, layer: str, z: str, x: str, y: str) -> HttpResponse:
    """GET /tiles/{layer}/{z}/{x}/{y}.pbf: a Mapbox vector tile; 204 when nothing is there."""
    compiled = tiles.compiled_layer(layer)
    found = compiled.layer if compiled else None
    if found is None or found.delivery != "tiles":
        return problem(404, "No such layer", f"'{layer}' is not a tile layer.")
    if not _may_see(request, found):
        return _refused(request, found)
    try:
        address = tiles.parse_tile_address(z, x, y)
    except tiles.TileAddressError as exc:
        return problem(400, "Bad tile address", str(exc))
    built = tiles.fetch(compiled, address, _client_etags(request))
    if built.not_modified:
        return _cache_headers(HttpResponseNotModified(), found, built.etag)
    if not built.body:
        response = HttpResponse(status=204)
        del response["Content-Type"]  # no body, so no type (Django's default says text/html)
    elif len(built.body) < compression.MIN_BYTES:
        response = HttpResponse(built.body, content_type=MVT_CONTENT_TYPE)
    else:
        return _compressible_tile(request, found, built)
    return _cache_headers(response, found, built.etag)


def _compressible_tile(request: HttpRequest, layer: Layer, built: tiles.Tile) -> HttpResponse:
    """A tile gzipped for a client that accepts it (its gzip kept with the tile, so that
    clt.compression leaves it be), as it is for one that does not; a weak ETag on the gzip,
    whose bytes differ from the tile's (If-None-Match compares weakly: both revalidate)."""
    if not compression.accepts_gzip(request):
        response = HttpResponse(built.body, content_type=MVT_CONTENT_TYPE)
        etag = built.etag
    else:
        response = HttpResponse(tiles.gzipped(built), content_type=MVT_CONTENT_TYPE)
        response["Content-Encoding"] = "gzip"
        etag = compression.weak_etag(built.etag)
    patch_vary_headers(response, ["Accept-Encoding"])
    return _cache_headers(response, layer, etag)


@security.read_only
def layer_geojson(request: HttpRequest, layer: str) -> HttpResponse:
    """GET /map/layers/{layer}.geojson: a small layer (overlays) as one GeoJSON document."""
    found = visible_layer(request, layer)
    if found is None or found.delivery != "geojson":
        return problem(404, "No such layer", f"'{layer}' is not a GeoJSON layer you can see.")
    sql, params = unordered(found).select_sql()
    tables = versions.tables_in(sql)
    # ST_AsGeoJSON(record) writes every column but the geometry as a property: the whitelist.
    # Outer rings counter-clockwise, holes clockwise (RFC 7946 §3.1.6), as the OGC API and the
    # downloads write them: rings are stored as drawn or imported, either way round.
    columns = ", ".join(
        ["r.id", "ST_ForcePolygonCCW(r.geom) AS geom", *(f'r."{f.name}"' for f in found.fields)]
    )
    statement = (
        "SELECT json_build_object('type', 'FeatureCollection', 'features', "
        "COALESCE(json_agg(ST_AsGeoJSON(q.*, 'geom', 6)::json), '[]'::json))::text "
        f"FROM (SELECT {columns} FROM ({sql}) AS r) AS q"
    )
    versions.watch(tables)
    # From the whole statement: a change to how it writes the layer retires the old ETags.
    etag = tiles.etag_for(statement, tuple(params), versions.versions(tables))
    if tiles.etag_matches(etag, _client_etags(request)):
        return _cache_headers(HttpResponseNotModified(), found, etag)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        body = cursor.fetchone()[0]
    response = HttpResponse(body, content_type="application/geo+json")
    return _cache_headers(response, found, etag)


@security.read_only
def search(request: HttpRequest) -> HttpResponse:
    """GET /map/search.json?q=: parcels by APN or address, from the public layers only."""
    public = [layer for layer in all_layers().values() if layer.is_public]
    return _search_answer(request, public)


def _search_answer(request: HttpRequest, layers: list[Layer]) -> HttpResponse:
    """The search's JSON answer over `layers`, or a 400 saying what to type instead."""
    try:
        query = map_search.parse_query(request.GET.get("q"))
    except map_search.SearchError as exc:
        return problem(400, "Bad search", str(exc))
    results, more = map_search.find_page(query, layers)
    return JsonResponse({"query": query, "results": results, "more": more})


@security.read_only
def parcel_areas(request: HttpRequest) -> HttpResponse:
    """GET /map/areas.json?apn=: the flood zones, neighbourhoods and conservation easements a
    parcel lies in, as its popup lists them (`maps.areas`), from the layers this user may see.
    A 404 for an APN the map shows no parcel of."""
    apn = request.GET.get("apn", "").strip()
    if not apn or len(apn) > map_search.MAX_QUERY_CHARS:
        return problem(400, "Bad parcel number", "apn: give the parcel number (APN) of a parcel")
    lines = areas_of_parcel(apn, request.user)
    if lines is None:
        return problem(404, "Not found", f"apn: no parcel {apn} on the map")
    response = JsonResponse({"apn": apn, "areas": lines})
    # Areas and easements change by import and by staff edits: asked again each time, as a
    # popup opens (a query of a few milliseconds); a staff user's answer is theirs alone.
    response["Cache-Control"] = "no-cache" if request.user.is_anonymous else "private, no-cache"
    return response


@security.read_only
def search_page(request: HttpRequest) -> HttpResponse:
    """GET /map/search/?q=: the public search as a page of links to the map, each opening on
    the parcel found. What the map's search form asks for: where the map's scripts did not
    download (or run), the form is sent as it is, and a resident on a phone got search.json's
    JSON. A page of its own rather than search.json answering HTML to a browser's Accept:
    a URL ending in .json stays JSON for every client and cache, with no Vary on Accept."""
    public = [layer for layer in all_layers().values() if layer.is_public]
    return _search_page(request, public, staff=False)


@login_required
@require_safe
def staff_search_page(request: HttpRequest) -> HttpResponse:
    """GET /map/staff/search/?q=: the staff map's search as a page of links to the staff map;
    refused as the staff map is."""
    response = _search_page(request, _staff_map_layers(request), staff=True)
    response["Cache-Control"] = "private, no-store"
    return response


def _search_page(request: HttpRequest, layers: list[Layer], *, staff: bool) -> HttpResponse:
    """The search over `layers` as HTML: the same search, and the same whitelisted fields, as
    `_search_answer`; a query it cannot run is a 400 saying what to type instead."""
    context = {"staff": staff, "query": "", "problem": "", "results": [], "more": False}
    context["map_url"] = reverse("staff-map" if staff else "map")
    context["search_url"] = reverse("staff-map-search-page" if staff else "map-search-page")
    status = 200
    if "q" in request.GET:
        context["query"] = request.GET["q"][: map_search.MAX_QUERY_CHARS]
        try:
            query = map_search.parse_query(request.GET["q"])
        except map_search.SearchError as exc:
            context["problem"] = _said(str(exc))
            status = 400
        else:
            context["query"] = query
            context["results"], context["more"] = map_search.find_page(query, layers)
    return render(request, "maps/search.html", context, status=status)


def _said(error: str) -> str:
    """A `SearchError` as a sentence for a resident, without the parameter's name, as map.js's
    `problemSaid` says it: "q: type at least 2 letters..." is "Type at least 2 letters..."."""
    text = error.removeprefix("q: ")
    return text[:1].upper() + text[1:] + "."


@require_safe
def staff_search(request: HttpRequest) -> HttpResponse:
    """GET /map/staff/search.json?q=: the staff map's search, over the layers this user may
    see (a leased home is found with its lease); 404 to anyone who may see no staff layer,
    as to anyone not on the staff."""
    if not staff_layers_for(request.user):
        return problem(404, "Not found", "no such search")
    response = _search_answer(request, layers_for(request.user))
    response["Cache-Control"] = "private, no-store"
    return response


@security.read_only
def public_map(request: HttpRequest) -> HttpResponse:
    """GET /map/: the public map; ?parcel=APN opens on that parcel, ?lat=&lon=&z= on a place."""
    public = [layer for layer in all_layers().values() if layer.is_public]
    return _map_page(request, public, staff=False)


@login_required
@require_safe
def staff_map(request: HttpRequest) -> HttpResponse:
    """GET /map/staff/: the map with the staff layers (lease status, arrears, monitoring).

    403 to staff whose role lets them see no staff layer (or who have no role), as the report
    answers them: a public map under the staff map's address would look like a lease layer
    that lost its data, where a refusal says why (and /map/ is the public map)."""
    return _map_page(request, _staff_map_layers(request), staff=True)


def _staff_map_layers(request: HttpRequest) -> list[Layer]:
    """The layers of the staff map (and of its search page) for this user; PermissionDenied,
    saying why, to a user not on the staff or whose role lets them see no staff layer."""
    if not request.user.is_staff:
        raise PermissionDenied("The staff map is for the trust's staff.")
    if not staff_layers_for(request.user):
        raise PermissionDenied(
            "The staff map is for staff whose role lets them view leases; ask an admin for one."
        )
    return layers_for(request.user)


def _map_page(request: HttpRequest, layers: list[Layer], *, staff: bool) -> HttpResponse:
    view = publicmap.parse_view(request.GET)
    selected, message = None, ""
    apn = (request.GET.get("parcel") or "").strip()[: map_search.MAX_QUERY_CHARS]
    if apn:
        found = map_search.find(apn, layers, limit=1, exact_apn=True)
        if found:
            selected = found[0]
            if view is None:
                view = publicmap.MapView(selected["lat"], selected["lon"], publicmap.DETAIL_ZOOM)
        else:
            message = f"No parcel with APN “{apn}” is on this map."
    urls = publicmap.MapUrls(
        tile=reverse("tile", args=["xlayerx", "1", "2", "3"])
        .replace("xlayerx", "{layer}")
        .replace("/1/2/3.pbf", "/{z}/{x}/{y}.pbf"),
        geojson=reverse("map-layer-geojson", args=["xlayerx"]).replace("xlayerx", "{layer}"),
        search=reverse("staff-map-search" if staff else "map-search"),
        areas=reverse("map-areas"),
    )
    listed = publicmap.with_features(layers)  # the search still reads every layer
    folium_map = publicmap.build_map(
        layers=listed, urls=urls, view=view, bounds=_trust_bounds(), selected=selected
    )
    rendered = publicmap.render(folium_map)
    nonce = str(request.csp_nonce)  # clt.security: one nonce per request
    context = {
        "map": rendered,
        "nonce": nonce,
        "legend": publicmap.legend(listed),
        "staff": staff,
        "message": message,
    }
    response = render(request, "maps/map.html", context)
    response["Content-Security-Policy"] = security.content_security_policy(nonce)
    # The base map's tile server may ask who is using it: tell it the site, never the page
    # (a URL can name the parcel someone looked up).
    response["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response["Cache-Control"] = "no-store" if staff else "no-cache"
    return response


def _trust_bounds() -> tuple[float, float, float, float] | None:
    """The extent (w, s, e, n) of the land the trust holds, for the map's first view.

    The trust-land collection's extent, kept until the data under it changes (an aggregate
    over every holding: 43 ms on each visit at 10,000 holdings, before)."""
    layer = get_layer("trust-land")
    bbox = extents(layer).bbox if layer is not None else None
    return tuple(bbox) if bbox else None
