"""The landing page (/req/core/root-success): what this API is and where its parts are."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from maps.ogcapi.conditional import conditional
from maps.ogcapi.params import check_known
from maps.ogcapi.responses import (
    HTML,
    JSON,
    OPENAPI,
    format_links,
    html_response,
    json_response,
    link,
    ogc_view,
    url,
    wants_html,
)

TITLE = "Land trust map layers (OGC API - Features)"


@ogc_view
def landing(request: HttpRequest) -> HttpResponse:
    check_known(request.GET, ["f"])
    html = wants_html(request)
    # No layer under it: its ETag changes with the trust's name, the host and the code.
    conditional(request, [], representation=HTML if html else JSON)
    body = {
        "title": TITLE,
        "description": (
            f"The public map layers of {settings.CLT_NAME}, and the staff layers after login, "
            "as GeoJSON for GIS software (QGIS, ArcGIS, GDAL) and scripts."
        ),
        "links": [
            *format_links(request, "landing", html=html),
            link(
                url(request, "openapi", query={"f": "json"}),
                "service-desc",
                OPENAPI,
                "The API definition (OpenAPI 3.0)",
            ),
            link(
                url(request, "openapi", query={"f": "html"}),
                "service-doc",
                HTML,
                "The API documentation",
            ),
            link(url(request, "conformance"), "conformance", JSON, "Conformance classes"),
            link(url(request, "collections"), "data", JSON, "The collections (map layers)"),
        ],
    }
    if html:
        return html_response(request, "landing.html", {"doc": body})
    return json_response(body)
