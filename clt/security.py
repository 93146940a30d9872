"""Site-wide protections a page or an API gets without asking: a Content Security Policy on every
HTML page, and a 503 (not a 500 with a traceback) while the database is away.

The CSP follows the django-csp convention: `request.csp_nonce` is the per-request nonce, which
django-leaflet's admin widget and our templates put on their inline scripts. A view that sets its
own `Content-Security-Policy` (the public map) keeps it.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils.functional import SimpleLazyObject
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt

from clt import statement_timeout
from clt.contact import contact_html

logger = logging.getLogger("clt.security")

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_S = 5


def basemap_origin() -> str | None:
    """The scheme and host the base map's tiles come from, for the CSP (None: no base map)."""
    if not settings.BASEMAP_URL:
        return None
    parts = urlsplit(settings.BASEMAP_URL)
    host = parts.netloc.replace("{s}.", "*.")  # Leaflet's subdomains: a.tile..., b.tile...
    return f"{parts.scheme}://{host}"


def content_security_policy(nonce: str) -> str:
    """The app itself, plus the base map's images; inline scripts and styles only by nonce."""
    basemap = basemap_origin()
    images = "'self' data:" + (f" {basemap}" if basemap else "")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            f"img-src {images}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    """A nonce per request, and the policy on every HTML response that has none of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Lazy: JSON, tiles and downloads never pay for a nonce they do not use.
        request.csp_nonce = SimpleLazyObject(lambda: secrets.token_urlsafe(18))
        response = self.get_response(request)
        if "Content-Security-Policy" not in response and _is_html(response):
            response["Content-Security-Policy"] = content_security_policy(str(request.csp_nonce))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        """A view that met a dead database connection answers 503, and the next request
        reconnects (Django's health check, or the pool's check, drops the broken connection);
        one whose query the database stopped for time answers 503 "took too long"."""
        if statement_timeout.cancelled(exception):
            return took_too_long(request, exception)
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable(request, exception)
        return None


class RefuseNulCharactersMiddleware:
    """400 for a NUL character anywhere in the query string; cookies holding one are dropped.

    PostgreSQL text cannot hold NUL, so one in any filter would reach the database as a
    driver error (a 500). Refusing it here covers every parameter of every view, present and
    future; forms already refuse it in posted text (Django's ProhibitNullCharactersValidator).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _drop_cookies_holding_nul(request)
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return problem_response(
                    400, "Invalid query parameter",
                    f"parameter '{name.replace(chr(0), '')}' contains a NUL character (%00)",
                )  # fmt: skip
        return self.get_response(request)


def _drop_cookies_holding_nul(request: HttpRequest) -> None:
    """A cookie with a NUL in it was never set by this site (a session key, a CSRF token): it is
    left unread, as if not sent. Django unquotes `"\\000"` in a cookie to NUL, and looking that
    session key up was a 500 on any page that asks who is logged in."""
    held = [name for name, value in request.COOKIES.items() if "\x00" in name + value]
    for name in held:
        del request.COOKIES[name]


PROBLEM = "application/problem+json"


def problem_response(status: int, title: str, detail: str, **extra) -> HttpResponse:
    """An RFC 9457 problem document: how every API of the site answers an error. `extra` adds
    members, such as the standard's "invalid-params"."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return HttpResponse(json.dumps(body), status=status, content_type=PROBLEM)


READ_METHODS = ("GET", "HEAD")


def read_only(view: Callable) -> Callable:
    """GET and HEAD only, for the public views that never write (map, tiles, search, APIs).

    Any other method is a 405 problem document with `Allow`. Without this, Django's CSRF check
    (which runs first, and is there for requests that may write) answered a POST with its HTML
    "CSRF verification failed" page, and `require_safe` a bare 405 with an empty HTML body.
    Exempting a view that refuses every writing method from CSRF protects nothing less.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in READ_METHODS:
            response = problem_response(
                405, "Method not allowed", f"{request.path} answers GET and HEAD only"
            )
            response["Allow"] = ", ".join(READ_METHODS)
            return response
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapper)


def _is_html(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def database_unavailable(request: HttpRequest, exception: BaseException) -> HttpResponse:
    """503 with Retry-After: a problem document for API clients, a sentence for people."""
    logger.warning("database unavailable on %s %s: %s", request.method, request.path, exception)
    detail = "The registry's database is not answering. Try again in a few seconds."
    response = _service_unavailable(request, "Service unavailable", detail)
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def took_too_long(request: HttpRequest, exception: BaseException) -> HttpResponse:
    """503 for a query the database stopped (CLT_STATEMENT_TIMEOUT_S, clt/statement_timeout.py),
    saying how to ask a smaller one. It is not "the database is not answering": it answered
    this. No Retry-After, as the same question would be stopped again."""
    limit_s = settings.CLT_STATEMENT_TIMEOUT_S
    reason = str(exception).strip().partition("\n")[0]
    logger.warning("query stopped on %s %s: %s (CLT_STATEMENT_TIMEOUT_S=%g)",
                   request.method, request.get_full_path(), reason, limit_s)  # fmt: skip
    limit = f" (a request's queries have {limit_s:g} s)" if limit_s else ""
    detail = (
        f"The query took too long, and the database stopped it{limit}. Narrow the filter "
        "(a smaller area or distance, fewer lots a page) and ask again."
    )
    return _service_unavailable(request, "Query took too long", detail)


def _service_unavailable(request: HttpRequest, title: str, detail: str) -> HttpResponse:
    """A 503 never cached: a problem document for API clients, a sentence for people."""
    if _wants_json(request):
        response = problem_response(503, title, detail)
    else:
        response = HttpResponse(
            f"<!doctype html><title>{title}</title><p>{detail}</p>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Cache-Control"] = "no-store"
    return response


def _wants_json(request: HttpRequest) -> bool:
    html_route = request.path.startswith(("/admin/", "/map/", "/finder/", "/staff/"))
    accept = request.headers.get("Accept", "")
    return not (html_route or accept.startswith("text/html") or request.path == "/")


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database outage anywhere (a middleware, a lazy session) is still a 503;
    any other error is the site's own 500 page.

    Django calls this inside its `except` block, so the exception is `sys.exc_info()`'s.
    """
    exception = sys.exc_info()[1]
    if exception is not None and statement_timeout.cancelled(exception):
        return took_too_long(request, exception)
    if isinstance(exception, DATABASE_ERRORS):
        return database_unavailable(request, exception)
    if _wants_json(request):  # an API client reads a problem document, as its 4xx and 503s
        response = problem_response(
            500, "Server error",
            "The request failed because of an error on our side; it has been logged. "
            f"Try again later, or contact the trust: {settings.CLT_CONTACT}",
        )  # fmt: skip
        response["Cache-Control"] = "no-store"
        return response
    return server_error_page()


def server_error_page() -> HttpResponse:
    """The site's 500 page: its name, a sentence, a way home and the trust's contact.

    Django's own handler renders 500.html with no context at all (no context processors, so no
    name or contact) and, without one, a bare "Server Error (500)". This page is given the two
    settings and needs nothing else: no database, no request, no static files (a missing
    collectstatic manifest fails every page that links one), no inline style or script (the
    CSP would block them). Whatever broke the request may break the template too, so a plain
    page saying the same is the fallback: the page that reports an error must not raise one.
    """
    name, contact = settings.CLT_NAME, settings.CLT_CONTACT
    try:
        body = loader.get_template("500.html").render(
            {"clt_name": name, "clt_contact": contact_html(contact)}
        )
    except Exception:  # any failure at all: the fallback below must always answer
        logger.exception("the 500 page (clt/templates/500.html) failed; served the plain one")
        body = (
            f"<!doctype html><title>Server error — {escape(name)}</title>"
            "<h1>Something went wrong</h1><p>This page could not be shown, because of an error "
            'on our side. <a href="/">Back to the home page</a>.</p>'
            f"<p>Contact: {escape(contact)}</p>"
        )
    return HttpResponse(body, status=500, content_type="text/html; charset=utf-8")
