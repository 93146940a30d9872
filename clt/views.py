"""Site-wide pages: the home page, the health check, the icon, "not found" and "bad request"."""

from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import connection
from django.db.utils import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found

from clt.schema import pending_migrations_cached
from clt.security import problem_response, read_only
from maps.land_list import parcel_rows_by_street
from maps.layers import get_layer
from parcels.models import Holding, HoldingUse, Parcel

AVAILABLE_LISTED = 12  # the front page's list; the map shows them all


@read_only
def home(request: HttpRequest) -> HttpResponse:
    """The public front page: what the trust holds, in numbers anyone may see, and the homes and
    lots offered now, each a link to it on the map."""
    # Through the public layer, so the page shows its whitelisted fields and nothing else.
    # By street, then house number, as the list of the land: as text, 1004 W Mill Pl came
    # before 102 W Magnolia Ave. The first few of every one offered, its three fields each.
    first = parcel_rows_by_street(get_layer("available"), ("f_apn", "f_address", "f_use"))
    uses = dict(HoldingUse.choices)
    context = {
        # The county's current parcels, as the public map and the OGC parcels layer show them:
        # a retired parcel (renumbered, split, merged) is on record, but no longer land.
        "parcel_count": Parcel.objects.active().count(),
        "holding_count": Holding.objects.holding_land().count(),
        # DISTINCT over ids, not whole rows with their outlines (held_by_trust is distinct).
        "held_parcel_count": Parcel.objects.held_by_trust().values("pk").count(),
        "available_count": len(first),
        "available": [
            {
                "apn": row["f_apn"],
                "address": row["f_address"] or row["f_apn"],
                "use": uses.get(row["f_use"], ""),
            }
            for row in first[:AVAILABLE_LISTED]
        ],
    }
    return render(request, "home.html", context)


@read_only
def healthz(request: HttpRequest) -> JsonResponse:
    """Whether the app and its database answer, and the database has the tables this code
    expects (for Docker and load balancers).

    A 503 while migrations are pending: the pages would be 500s asking for columns the tables do
    not have yet, so no traffic should come here until `clt migrate` has run. A 503 too when
    production's static files were never collected: every page is then a 500, naming them.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            postgis = cursor.fetchone()[0]
        pending = pending_migrations_cached()
    except OperationalError:
        return JsonResponse({"status": "database unavailable"}, status=503)
    if pending:
        return JsonResponse(
            {"status": "migrations pending", "pending": len(pending), "fix": "clt migrate"},
            status=503,
        )
    if static_manifest_missing():
        return JsonResponse(
            {"status": "static files not collected", "fix": COLLECT_FIX}, status=503
        )
    if static_manifest_lacks_files():
        return JsonResponse(
            {"status": "static files older than the code", "fix": COLLECT_FIX}, status=503
        )
    return JsonResponse({"status": "ok", "postgis": postgis})


COLLECT_FIX = "clt manage collectstatic --noinput (with these settings), then restart"


def static_manifest_lacks_files() -> bool:
    """Whether the manifest the storage read lacks a static file of this code: collected by an
    older version and not again after an upgrade, so the pages naming the new files (the map)
    are 500s while the rest answer. The likeliest way to forget collectstatic, which `/healthz`
    said "ok" to.

    Asked once per storage, so once a process (the storage keeps its manifest until a
    restart): listing the static folders takes a few milliseconds, never per check."""
    if static_manifest_missing():
        return False  # said above
    storage = staticfiles_storage._wrapped if hasattr(staticfiles_storage, "_wrapped") else None
    if not isinstance(storage, ManifestFilesMixin):
        return False
    lacking = getattr(storage, "clt_lacking", None)
    if lacking is None:
        from clt.staticfiles import files_of_the_code

        lacking = storage.clt_lacking = bool(files_of_the_code() - storage.hashed_files.keys())
    return lacking


def static_manifest_missing() -> bool:
    """Whether the settings use the manifest storage (clt.production) and it has no manifest:
    every `{% static %}`, so every page, then fails ("no static files manifest at ...").

    Asks the storage, not the disk: it reads staticfiles.json once, when first used, and keeps
    it for the life of the process, so this costs nothing on each check, and it is what the
    pages see: a manifest collected later reaches no worker that has used the storage until a
    restart. Static files do not change under a running server but by a deploy, which restarts
    it. A manifest from an older version, lacking only the new files, fails only the pages
    naming them: `clt doctor` finds it.
    """
    try:
        manifest_storage = isinstance(staticfiles_storage, ManifestFilesMixin)
    except ValueError:  # a manifest it cannot read: the storage, so every page, fails to start
        return True
    return manifest_storage and not staticfiles_storage.hashed_files


FAVICON = Path(__file__).resolve().parent / "static" / "clt" / "favicon.svg"
FAVICON_MAX_AGE_S = 7 * 24 * 60 * 60


@read_only
def favicon(request: HttpRequest) -> HttpResponse:
    """GET /favicon.ico: the site's icon, for the pages that do not link it (the admin) and the
    browsers that ask here anyway; every request for it was a 404 page of 1.5 kB.

    The SVG itself rather than a redirect to its hashed static name: on a phone at 400 ms a
    round trip, a redirect costs as much again, and a redirect kept for long would outlive a
    new icon's name. A week, since this name never changes with the icon."""
    response = HttpResponse(_favicon_bytes(), content_type="image/svg+xml")
    response["Cache-Control"] = f"public, max-age={FAVICON_MAX_AGE_S}"
    return response


@cache
def _favicon_bytes() -> bytes:
    """The icon's file, read once a process rather than on every request for it."""
    return FAVICON.read_bytes()


API_PREFIXES = ("/api/", "/export/", "/tiles/", "/ogcapi", "/map/layers/", "/map/search")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a request Django refuses before any view reads it (too many parameters, a
    body too big) gets a problem document on an API address, saying what and the limit, as
    every other API error does; a page gets Django's own 400 page."""
    if not request.path.startswith(API_PREFIXES):
        return django_bad_request(request, exception)
    return problem_response(400, "Bad request", _why_refused(exception))


def _why_refused(exception: Exception) -> str:
    """What was wrong with a request Django refused, and the limit it broke. Any other
    refusal is told in general words: its message may name settings or hosts."""
    if isinstance(exception, TooManyFieldsSent):
        most = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return (
            f"the request has more than {most} parameters, the most this server reads; "
            "give each parameter once (a repeated name counts each time)"
        )
    if isinstance(exception, RequestDataTooBig):
        most = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return f"the request body is larger than {most} bytes, the most this server reads"
    if isinstance(exception, TooManyFilesSent):
        most = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return f"the request has more than {most} files, the most this server reads"
    return "the request could not be read; check its address, query string and headers"


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an API address that matches no route gets a problem document, as every
    other API error does; a page gets the site's own page (clt/templates/404.html, which Django's
    page_not_found draws), with the site's header and a way home."""
    if not request.path.startswith(API_PREFIXES):
        return page_not_found(request, exception)
    return problem_response(
        404, "Not found",
        f"nothing is served at {request.path}; the API is described at /api/openapi.json and "
        "/ogcapi/api",
    )  # fmt: skip
