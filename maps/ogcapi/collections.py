"""Collections (/req/core/fc-md-success, /req/core/sfc-md-success): one per declared map layer.

A user sees the layers `layers_for(user)` gives: the public ones, plus the staff ones for staff
whose role may see them (`Layer.visible_to`).
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from maps.export_urls import MEDIA_TYPE_ESSENCES
from maps.layers import Layer, layers_for
from maps.ogcapi import crs as crs_registry
from maps.ogcapi import query
from maps.ogcapi.conditional import conditional
from maps.ogcapi.params import check_known
from maps.ogcapi.responses import (
    GEOJSON,
    HTML,
    JSON,
    format_links,
    html_response,
    json_response,
    layer_or_problem,
    link,
    ogc_view,
    url,
    wants_html,
)

GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
DOWNLOAD_TITLES = {
    "geojson": "GeoJSON (RFC 7946)",
    "gpkg": "GeoPackage",
    "csv": "CSV with WKT and a point on each feature",
    "shp.zip": "Zipped Shapefile",
}
# Each download's link: its media type as /export/ sends it.
DOWNLOADS = {suffix: (MEDIA_TYPE_ESSENCES[suffix], title)
             for suffix, title in DOWNLOAD_TITLES.items()}  # fmt: skip


@ogc_view
def collections(request: HttpRequest) -> HttpResponse:
    check_known(request.GET, ["f"])
    html = wants_html(request)
    visible = layers_for(request.user)
    conditional(request, visible, representation=HTML if html else JSON)
    body = {
        "links": format_links(request, "collections", html=html),
        "collections": [describe(request, layer) for layer in visible],
    }
    if html:
        return html_response(request, "collections.html", {"doc": body})
    return json_response(body)


@ogc_view
def collection(request: HttpRequest, collection_id: str) -> HttpResponse:
    layer = layer_or_problem(request, collection_id)
    check_known(request.GET, ["f"])
    html = wants_html(request)
    conditional(request, [layer], representation=HTML if html else JSON)
    body = describe(request, layer, html=html)
    if html:
        return html_response(request, "collection.html", {"doc": body, "layer": layer})
    return json_response(body)


def temporal_interval(first: str | None, last: str | None) -> list[str | None]:
    """A layer's first and last dates (ISO) as the RFC 3339 date-times 17-069 asks for (7.13.3:
    "date-time"): the first instant of the first day and the last second of the last day, the
    days being the trust's (a holding acquired on 2 April was acquired on 2 April in Jackson),
    written in UTC with Z. A client that asks for `datetime=<first>/<last>` gets every feature:
    the API compares a date-time with a date by its day in that time zone. None stays open.
    """
    return [_utc(first, dt.time(0, 0)), _utc(last, dt.time(23, 59, 59))]


def _utc(day: str | None, clock: dt.time) -> str | None:
    """`clock` on `day` in the trust's time zone, as an RFC 3339 date-time in UTC."""
    if day is None:
        return None
    local = dt.datetime.combine(dt.date.fromisoformat(day), clock, timezone.get_default_timezone())
    try:
        return local.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    except OverflowError:  # 31 December 9999 ends in the year 10000 in UTC: leave it open
        return None


# Part 1 has every collection's items take `datetime` (/req/core/fc-time-definition); a layer
# without dates says what it does there (maps.ogcapi.params.parse_filter).
UNDATED = "Its features carry no date: a datetime filter selects every one of them."


def description(layer: Layer) -> str:
    """The collection's description; for a layer without dates, with what `datetime` does."""
    return layer.description if layer.datetime_field else f"{layer.description} {UNDATED}"


def extent(found: query.Extents) -> dict:
    """The collection's `extent`, with only what is known: it is optional, and "if provided"
    includes every geometry (/req/core/fc-md-extent). An empty layer gets no bounding box (the
    whole world sent QGIS's "Zoom to layer" round the globe) and no interval ([null, null]
    would say "open at both ends": all time)."""
    known: dict = {}
    if found.bbox:
        known["spatial"] = {"bbox": [found.bbox], "crs": crs_registry.CRS84.uri}
    if found.temporal and any(found.temporal):
        known["temporal"] = {"interval": [temporal_interval(*found.temporal)], "trs": GREGORIAN}
    return known


def describe(request: HttpRequest, layer: Layer, *, html: bool = False) -> dict:
    """A collection's metadata: extent, CRSs served, and links to its items and downloads."""
    known = extent(query.extents(layer))
    # No `?f=json` on the GeoJSON link (JSON is the default): GDAL's OAPIF driver appends
    # "/{id}" to this href to fetch one feature, and "?f=json/202108" is no address.
    items_json = url(request, "items", layer.name)
    items_html = url(request, "items", layer.name, query={"f": "html"})
    return {
        "id": layer.name,
        "title": layer.title,
        "description": description(layer),
        "itemType": "feature",
        **({"extent": known} if known else {}),
        "crs": [crs.uri for crs in crs_registry.served()],
        "storageCrs": crs_registry.STORAGE.uri,
        "links": [
            *format_links(request, "collection", layer.name, html=html),
            link(items_json, "items", GEOJSON, f"{layer.title} (GeoJSON)"),
            link(items_html, "items", HTML, f"{layer.title} (HTML)"),
            *(
                link(
                    request.build_absolute_uri(
                        reverse("export:download", args=(layer.name, suffix))
                    ),
                    "enclosure",
                    media_type,
                    f"Download: {title}",
                )
                for suffix, (media_type, title) in DOWNLOADS.items()
            ),
        ],
    }
