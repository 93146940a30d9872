"""Cross-origin reads of the data endpoints: the OGC API, the downloads and the tiles answer
`Access-Control-Allow-Origin: *`, so a web map on another site (the city's, a regional one) can
read the trust's public layers (OGC 17-069r4 /rec/core/cross-origin). The pages (the map, the
finder, the admin) get no such header: no other site has any business reading them.

Why `*` leaks no staff data: a browser lets a script on another origin read a response that
was sent with credentials (a cookie, an Authorization header) only if it names that origin and
says `Access-Control-Allow-Credentials: true`, which is never sent here; with `*` the browser
withholds every credentialed answer from the script. A request sent without credentials is
answered as anonymous, i.e. the public layers only. So `*`, and never a reflected Origin.

No preflight (OPTIONS) is answered, and none is needed for these reads: a GET whose only
headers are CORS-safelisted (`Accept: application/geo+json` is one) is sent as it is. A
cross-origin script that adds an `Authorization` header would need a preflight, which is refused
(405, `clt.security.read_only`), as intended: tokens are for GIS clients and scripts, not for
pages on other sites.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CROSS_ORIGIN_PATHS = ("/ogcapi", "/export/", "/tiles/")
# Response headers a script may read besides the safelisted ones (Content-Type, Cache-Control,
# Content-Length...): revalidation, the CRS of the coordinates, a CSV's metadata link, a
# download's file name, and why and for how long a request was refused.
EXPOSED_HEADERS = (
    "ETag",
    "Link",
    "Content-Crs",
    "Content-Disposition",
    "WWW-Authenticate",
    "Retry-After",
)


class CrossOriginReadsMiddleware:
    """`Access-Control-Allow-Origin: *` on every answer of the data endpoints, errors too (a
    script shows the problem document's sentence rather than "Failed to fetch")."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(CROSS_ORIGIN_PATHS):
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
        return response
