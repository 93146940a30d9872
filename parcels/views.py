"""The finder over HTTP: a staff page with a map, and its JSON/GeoJSON API.

Thin: check who asks, parse the query with parcels.finder, return what it built. Bad
parameters answer 400 with an RFC 9457 problem document naming the parameter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.gis.db.models import Extent
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from clt.security import problem_response, read_only
from parcels import finder
from parcels.models import AcquisitionStage, Parcel

GEOJSON = "application/geo+json"
CSV = "text/csv; charset=utf-8"


problem = problem_response  # the site's one problem-document builder (clt.security)


def staff_api(view: Callable) -> Callable:
    """Staff only: 401 without a login, 403 for a login that may not see the registry."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            response = problem(401, "Login required", "Log in as staff to search for land.")
            # RFC 9110 asks a 401 to say how to authenticate. Bearer (an access token; Basic
            # works too): a Basic challenge would have a browser pop up its own login box over
            # the finder page when a session runs out.
            response["WWW-Authenticate"] = 'Bearer realm="clt staff"'
            return response
        if not (user.is_active and user.is_staff and user.has_perm("parcels.view_parcel")):
            return problem(403, "Forbidden", "The finder is for trust staff.")
        try:
            return view(request, *args, **kwargs)
        except finder.FinderError as exc:
            return problem(
                400, "Invalid parameter", str(exc),
                **{"invalid-params": [{"name": exc.field, "reason": exc.detail}]},
            )  # fmt: skip

    return wrapper


def _params(request: HttpRequest) -> dict[str, str]:
    """The query's parameters, each given once (which of two would be meant is a guess)."""
    for key, values in request.GET.lists():
        if len(values) > 1:
            raise finder.FinderError(key, "given more than once; give it once (codes and "
                                          "statuses take a comma-separated list)")  # fmt: skip
    return {key: request.GET.get(key, "") for key in request.GET}


@read_only
@staff_api
def vacant_lots(request: HttpRequest) -> HttpResponse:
    """GET /api/vacant-lots?bbox=&near=&within_m=&min_area_m2=&pipeline=&order=&page=&limit=..."""
    return HttpResponse(finder.vacant_lots_json(_params(request)), content_type=GEOJSON)


@read_only
@staff_api
def adjacent_lots(request: HttpRequest) -> HttpResponse:
    """GET /api/vacant-lots/adjacent?tolerance_m=0.5&bbox=...&page=&limit=: a page of the lots
    touching trust land."""
    body = json.dumps(finder.adjacent_lots_geojson(_params(request)))
    return HttpResponse(body, content_type=GEOJSON)


@read_only
@staff_api
def assemblages(request: HttpRequest) -> HttpResponse:
    """GET /api/assemblages?tolerance_m=0.5&min_lots=2&min_total_m2=&touches_trust_land=&bbox=
    ...&page=&limit=: a page of the groups of touching lots."""
    body = json.dumps(finder.assemblages_geojson(_params(request)))
    return HttpResponse(body, content_type=GEOJSON)


def _spreadsheet(collection: dict, columns: tuple[str, ...], name: str) -> HttpResponse:
    """A finder's answer as CSV, its columns the CLI's `--format csv` (no outlines: the
    GeoJSON has them), downloaded as `name` and its page ("vacant-lots-page-2.csv")."""
    response = HttpResponse(finder.as_csv(collection, columns), content_type=CSV)
    filename = f"{name}-page-{collection['page']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@read_only
@staff_api
def vacant_lots_csv(request: HttpRequest) -> HttpResponse:
    """GET /api/vacant-lots.csv?...: the page of lots /api/vacant-lots answers, as a spreadsheet
    a coordinator opens (the parameters and the page are the same)."""
    lots = finder.vacant_lots_geojson(_params(request))
    return _spreadsheet(lots, finder.LOT_COLUMNS, "vacant-lots")


@read_only
@staff_api
def adjacent_lots_csv(request: HttpRequest) -> HttpResponse:
    """GET /api/vacant-lots/adjacent.csv?...: /api/vacant-lots/adjacent's page, as CSV."""
    lots = finder.adjacent_lots_geojson(_params(request))
    return _spreadsheet(lots, finder.ADJACENT_COLUMNS, "lots-beside-trust-land")


@read_only
@staff_api
def assemblages_csv(request: HttpRequest) -> HttpResponse:
    """GET /api/assemblages.csv?...: /api/assemblages' page, as CSV."""
    groups = finder.assemblages_geojson(_params(request))
    return _spreadsheet(groups, finder.ASSEMBLAGE_COLUMNS, "assemblages")


@require_safe
@staff_member_required
def finder_page(request: HttpRequest) -> HttpResponse:
    """The staff finder: filters, a map, and the results as a table.

    For the staff its API answers (`staff_api`): a page whose every search is a 403 is none."""
    if not request.user.has_perm("parcels.view_parcel"):
        raise PermissionDenied("The finder is for staff whose role lets them view parcels.")
    basemap = {"url": settings.BASEMAP_URL, "attribution": settings.BASEMAP_ATTRIBUTION}
    # The map opens on the trust's own land: the lots worth a look are around it.
    held = Parcel.objects.held_by_trust().aggregate(extent=Extent("geom"))["extent"]
    context = {"tax_statuses": finder.TAX_STATUSES, "basemap": basemap, "held_extent": held,
               "tolerance_m": f"{finder.DEFAULT_TOLERANCE_M:g}",
               "stages": dict(AcquisitionStage.choices),
               "neighbourhoods": finder.overlay_names("neighbourhood"),
               "map_center": settings.MAP_DEFAULT_CENTER}  # fmt: skip
    return render(request, "parcels/finder.html", context)
