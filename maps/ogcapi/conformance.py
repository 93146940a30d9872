"""The conformance declaration (/req/core/conformance-success): the classes this API meets."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from maps.ogcapi.conditional import conditional
from maps.ogcapi.params import check_known
from maps.ogcapi.responses import (
    HTML,
    JSON,
    format_links,
    html_response,
    json_response,
    ogc_view,
    wants_html,
)

CONFORMS_TO = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)


@ogc_view
def conformance(request: HttpRequest) -> HttpResponse:
    check_known(request.GET, ["f"])
    html = wants_html(request)
    conditional(request, [], representation=HTML if html else JSON)  # changes with the code
    body = {
        "conformsTo": list(CONFORMS_TO),
        "links": format_links(request, "conformance", html=html),
    }
    if html:
        return html_response(request, "conformance.html", {"doc": body})
    return json_response(body)
