"""What every OGC API view shares: which layers the asker may see, format, links, errors.

Errors are RFC 9457 problem documents (`application/problem+json`), which OGC 17-069r4 allows
for exceptions (/rec/core/exceptions); a user's mistake is a 4xx with a sentence, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers

from clt.security import problem_response, read_only
from maps.credentials import refusal
from maps.layers import Layer, get_layer
from maps.ogcapi.conditional import ETAG, NotModified
from maps.ogcapi.params import ParamError, parse_f, single

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


class Problem(Exception):
    """An HTTP error with a problem body: raised anywhere in a view, rendered by `ogc_view`."""

    def __init__(self, status: int, title: str, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.headers = headers or {}


def ogc_view(view: Callable) -> Callable:
    """GET/HEAD only (`clt.security.read_only`); `ParamError` and `Problem` become problem
    responses, `NotModified` a 304 (maps.ogcapi.conditional)."""

    @read_only
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except ParamError as exc:
            response = _error(request, 400, "Invalid query parameter", str(exc))
        except Problem as exc:
            response = _error(request, exc.status, exc.title, exc.detail)
            for name, value in exc.headers.items():
                response[name] = value
        except NotModified:
            response = HttpResponseNotModified()
        _validated(request, response)
        return _keep_out_of_shared_caches(request, response)

    return wrapper


def _error(request: HttpRequest, status: int, title: str, detail: str) -> HttpResponse:
    """A problem document, or, to a browser asking for HTML (`f=html`, or by Accept), a page
    saying the same: a browser showed the JSON as bare text, a page with no title or language
    (WCAG 2.4.2, 3.1.1). A request whose `f` is itself the error gets the document."""
    try:
        html = wants_html(request)
    except ParamError:
        html = False
    if not html:
        return problem(status, title, detail)
    context = {"status": status, "title": title, "detail": detail}
    return render(request, "ogcapi/problem.html", context, status=status)


def _validated(request: HttpRequest, response: HttpResponse) -> None:
    """The answer's ETag (`conditional.answer_etag`), on a 200 or a 304 only (an error has
    none: its body is not the resource). `no-cache`, as the tiles say it: keep it, but ask each
    time, since any commit may change it; the answer is a 304 until one does."""
    etag = getattr(request, ETAG, None)
    if etag and response.status_code in (200, 304):
        response["ETag"] = etag
        patch_cache_control(response, no_cache=True)


def _keep_out_of_shared_caches(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """What a signed-in user gets (staff layers, staff collections listed) is theirs alone: no
    proxy may keep it. Any answer may differ by who asks, so caches must key on both; and on
    `Accept` where it chose HTML or JSON (RFC 9110 §12.5.5), or a cache that kept a browser's
    HTML page would hand it to GDAL for the same URL ("not a JSON document")."""
    patch_vary_headers(response, ["Cookie", "Authorization"])
    if getattr(request, NEGOTIATED, False):
        patch_vary_headers(response, ["Accept"])
    user = getattr(request, "user", None)
    if (user is not None and user.is_authenticated) or "Authorization" in request.headers:
        patch_cache_control(response, private=True)
    return response


problem = problem_response  # the site's one problem-document builder (clt.security)


# Set on a request whose representation `wants_html` chose by its Accept header.
NEGOTIATED = "ogcapi_negotiated_by_accept"


def wants_html(request: HttpRequest) -> bool:
    """HTML or JSON: `f=` if given, else the Accept header; JSON when nothing says.

    Choosing by Accept marks the request, so its answer says `Vary: Accept`; with `f=` the
    URL alone decides, and the downloads (chosen by suffix) never ask.
    """
    f = parse_f(single(request.GET, "f"))
    if f:
        return f == "html"
    setattr(request, NEGOTIATED, True)
    preferred = request.get_preferred_type([JSON, GEOJSON, HTML])
    return preferred == HTML


def json_response(data: dict, content_type: str = JSON, headers: dict | None = None):
    return HttpResponse(json.dumps(data), content_type=content_type, headers=headers)


def html_response(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    return render(request, f"ogcapi/{template}", context)


# --- who may see which layer -----------------------------------------------------------


def layer_or_problem(request: HttpRequest, name: str) -> Layer:
    """The layer named `name` if this user may see it; else 404, 401 (anonymous) or 403."""
    layer = get_layer(name)
    if layer is None:
        raise Problem(404, "Not found", f"there is no collection '{name}'")
    if layer.visible_to(request.user):  # a session, or the header's credentials
        return layer
    status, title, headers = refusal(request)
    raise Problem(status, title, f"collection '{name}' is for the trust's staff", headers=headers)


# --- links -----------------------------------------------------------------------------


def url(request: HttpRequest, name: str, *args, query: dict | None = None) -> str:
    """The absolute URL of a named OGC route, with an optional query string."""
    path = reverse(f"ogcapi:{name}", args=args)
    if query:
        path += "?" + urlencode(query, doseq=True)
    return request.build_absolute_uri(path)


def link(href: str, rel: str, type_: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def format_links(
    request: HttpRequest,
    name: str,
    *args,
    json_type: str = JSON,
    html: bool = False,
    query: dict | None = None,
) -> list[dict]:
    """`self` and `alternate` links for a resource served as JSON and HTML."""
    query = {k: v for k, v in (query or {}).items() if k != "f"}
    as_json = url(request, name, *args, query={**query, "f": "json"})
    as_html = url(request, name, *args, query={**query, "f": "html"})
    if html:
        return [
            link(as_html, "self", HTML, "This document"),
            link(as_json, "alternate", json_type, "This document as JSON"),
        ]
    return [
        link(as_json, "self", json_type, "This document"),
        link(as_html, "alternate", HTML, "This document as HTML"),
    ]
