"""Site-wide pages: the home page and the health check."""

from django.db import connection
from django.db.utils import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from parcels.models import Holding, Parcel


def home(request: HttpRequest) -> HttpResponse:
    """The public front page: what the trust holds, in numbers anyone may see."""
    context = {
        "parcel_count": Parcel.objects.count(),
        "holding_count": Holding.objects.current().count(),
        "held_parcel_count": Parcel.objects.held_by_trust().count(),
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
