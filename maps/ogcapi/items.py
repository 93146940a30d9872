"""Features (/req/core/fc-response, /req/core/f-success): a layer's items, one page at a time.

PostGIS writes every Feature; this module only joins their texts into a FeatureCollection and
adds the paging links. `next` carries the last id of the page (`after=`), `prev` the first
(`before=`): keyset paging, so following `next` to the millionth feature costs what the first
page cost (see `maps.ogcapi.query`). `offset=` is accepted for clients that compute pages, but
the links it returns are keyset links again.

`numberMatched` (optional in Part 1; when present it must be exact) is given on the first
page and on `offset=` pages, and left out of the pages `next`/`prev` lead to: counting a
million-feature layer costs ~150 ms, ten times the page itself, and a client paging through
already has the count from the first page.
"""

from __future__ import annotations

import datetime as dt
import json

from django.http import HttpRequest, HttpResponse

from maps.layers import Layer
from maps.ogcapi import query
from maps.ogcapi.conditional import answer_etag, conditional, revalidate
from maps.ogcapi.crs import Crs
from maps.ogcapi.params import (
    FeatureFilter,
    ParamError,
    check_known,
    items_params,
    parse_crs,
    parse_cursor,
    parse_filter,
    parse_limit,
    parse_offset,
    single,
)
from maps.ogcapi.responses import (
    GEOJSON,
    HTML,
    JSON,
    Problem,
    html_response,
    layer_or_problem,
    link,
    ogc_view,
    url,
    wants_html,
)

PAGING = ("after", "before", "offset", "f")


@ogc_view
def items(request: HttpRequest, collection_id: str) -> HttpResponse:
    layer = layer_or_problem(request, collection_id)
    params = request.GET
    check_known(params, items_params(layer))
    html = wants_html(request)
    flt = parse_filter(layer, params)
    crs = parse_crs(single(params, "crs"))
    limit = parse_limit(single(params, "limit"))
    after = parse_cursor("after", single(params, "after"))
    before = parse_cursor("before", single(params, "before"))
    offset = parse_offset(single(params, "offset"))
    if sum([after is not None, before is not None, offset > 0]) > 1:  # after=0 is a cursor
        raise ParamError("after", "give at most one of after, before and offset")

    conditional(request, [layer], representation=HTML if html else GEOJSON)
    page = query.page(layer, flt, limit=limit, crs=crs, after=after, before=before, offset=offset)
    keyset = after is not None or before is not None
    more_before, more_after = _neighbours(
        layer, flt, page, after=after, before=before, offset=offset
    )
    envelope = {
        **({} if keyset else {"numberMatched": _matched(layer, flt, page, offset)}),
        "numberReturned": len(page.features),
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": _links(
            request, layer, page, more_before=more_before, more_after=more_after, html=html
        ),
    }
    headers = {"Content-Crs": crs.header}
    if html:
        features = [json.loads(text) for text in page.features]
        response = html_response(
            request,
            "items.html",
            {
                "doc": envelope,
                "layer": layer,
                "features": features,
                "crs": crs,
            },
        )
        response["Content-Crs"] = crs.header
        return response
    # The features are already JSON text: splice them in rather than parse and re-dump them.
    body = (
        '{"type":"FeatureCollection","features":['
        + ",".join(page.features)
        + "],"
        + json.dumps(envelope)[1:]
    )
    return HttpResponse(body, content_type=GEOJSON, headers=headers)


@ogc_view
def item(request: HttpRequest, collection_id: str, feature_id: str) -> HttpResponse:
    layer = layer_or_problem(request, collection_id)
    check_known(request.GET, ["f", "crs"])
    html = wants_html(request)
    crs = parse_crs(single(request.GET, "crs"))
    # The versions before the feature (see answer_etag); `*` matches only a feature that exists.
    etag = answer_etag(request, [layer], representation=HTML if html else GEOJSON)
    text = query.feature(layer, int(feature_id), crs) if _is_id(feature_id) else None
    if text is None:
        raise Problem(404, "Not found", f"collection '{layer.name}' has no feature '{feature_id}'")
    revalidate(request, etag)
    links = _feature_links(request, layer, feature_id, crs, html=html)
    if html:
        response = html_response(
            request,
            "item.html",
            {
                "feature": json.loads(text),
                "layer": layer,
                "links": links,
            },
        )
        response["Content-Crs"] = crs.header
        return response
    body = text[:-1] + ',"links":' + json.dumps(links) + "}"
    return HttpResponse(body, content_type=GEOJSON, headers={"Content-Crs": crs.header})


def _matched(layer: Layer, flt, page: query.Page, offset: int) -> int:
    """`numberMatched`, counted only when the page itself does not already tell."""
    if not page.has_more and (page.features or offset == 0):
        return offset + len(page.features)
    return query.count(layer, flt)


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 18


def _neighbours(
    layer: Layer,
    flt: FeatureFilter,
    page: query.Page,
    *,
    after: int | None,
    before: int | None,
    offset: int,
) -> tuple[bool, bool]:
    """Whether selected features lie before and after the page: `prev` and `next` are offered
    only where there is one (/rec/core/fc-next-1: a `next` link leads to more features).

    The page's own extra row tells its direction of travel. The other side is certain for an
    `offset=` page (it skipped features) and the first page (nothing before); a cursor may
    name any id (`after=0`, `before=999999`), so there one EXISTS on the id's index tells.
    """
    if page.last_id is None:
        return False, False
    if before is not None:
        return page.has_more, query.exists_after(layer, flt, page.last_id)
    if after is not None:
        return query.exists_before(layer, flt, page.first_id), page.has_more
    return offset > 0, page.has_more


def _links(
    request, layer: Layer, page: query.Page, *, more_before: bool, more_after: bool, html: bool
) -> list[dict]:
    """self/alternate, and next/prev pages with the request's own filters (/req/core/fc-links)."""
    kept = {k: v for k, v in request.GET.lists() if k not in PAGING}

    def items_url(fmt: str, **paging) -> str:
        return url(request, "items", layer.name, query={**kept, **paging, "f": fmt})

    here = {k: request.GET[k] for k in ("after", "before", "offset") if k in request.GET}
    fmt, other = ("html", "json") if html else ("json", "html")
    types = {"json": GEOJSON, "html": HTML}
    links = [
        link(items_url(fmt, **here), "self", types[fmt], "This page"),
        link(items_url(other, **here), "alternate", types[other], f"This page as {other}"),
        link(url(request, "collection", layer.name), "collection", JSON, layer.title),
    ]
    if more_after:
        links.append(link(items_url(fmt, after=page.last_id), "next", types[fmt], "Next page"))
    if more_before:
        links.append(
            link(items_url(fmt, before=page.first_id), "prev", types[fmt], "Previous page")
        )
    return links


def _feature_links(request, layer: Layer, feature_id: str, crs: Crs, *, html: bool) -> list:
    query_crs = {"crs": crs.uri} if "crs" in request.GET else {}
    as_json = url(request, "item", layer.name, feature_id, query={**query_crs, "f": "json"})
    as_html = url(request, "item", layer.name, feature_id, query={**query_crs, "f": "html"})
    first, second = (
        ((as_html, HTML), (as_json, GEOJSON)) if html else ((as_json, GEOJSON), (as_html, HTML))
    )
    return [
        link(first[0], "self", first[1], "This feature"),
        link(second[0], "alternate", second[1], "This feature in the other format"),
        link(url(request, "collection", layer.name), "collection", JSON, layer.title),
    ]
