"""Site-wide pages: the home page, the health check, and "not found"."""

from django.db import connection
from django.db.utils import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.defaults import page_not_found

from clt.security import problem_response
from parcels.models import Holding, Parcel


def home(request: HttpRequest) -> HttpResponse:
    """The public front page: what the trust holds, in numbers anyone may see."""
    context = {
        "parcel_count": Parcel.objects.count(),
        "holding_count": Holding.objects.current().count(),
        "held_parcel_count": Parcel.objects.held_by_trust().count(),
        # The map's "Homes and lots available now" layer counts parcels; a resident asks how
        # many homes or lots they could apply for, which is holdings.
        "available_count": Holding.objects.current().filter(available=True).count(),
    }
    return render(request, "home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    """Whether the app and its database answer (for Docker and load balancers)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            postgis = cursor.fetchone()[0]
    except OperationalError:
        return JsonResponse({"status": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok", "postgis": postgis})


API_PREFIXES = ("/api/", "/export/", "/tiles/", "/ogcapi", "/map/layers/", "/map/search")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an API address that matches no route gets a problem document, as every
    other API error does; a page gets Django's page."""
    if not request.path.startswith(API_PREFIXES):
        return page_not_found(request, exception)
    return problem_response(
        404, "Not found",
        f"nothing is served at {request.path}; the API is described at /api/openapi.json and "
        "/ogcapi/api",
    )  # fmt: skip
