"""Password guessing: after too many failed logins, a user name is locked for the address they
came from, and the site says until when.

django-axes counts the failures (its `AxesStandaloneBackend`, first in
AUTHENTICATION_BACKENDS, refuses a locked pair before any password is checked), on both places a
staff password is accepted: the admin's login form and HTTP Basic credentials on the data
endpoints (maps.credentials). The lock is on the pair (user name, address), never on one alone:
someone elsewhere who types a staff member's name wrong cannot lock them out of their own
account, and an office behind one NAT is not locked as a whole. Access tokens never go through
`authenticate()`, so they never count (they are long random keys, not guessable words).

This module says it: a page for the login form, a problem document with `Retry-After` for API
clients, both 429 (RFC 6585 §4), both naming when to try again and how a staff admin lifts the
lock at once.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from clt.security import problem_response

TITLE = "Too many failed logins"
RESET_COMMAND = "clt manage axes_reset_username"


def locked_out(request: HttpRequest) -> bool:
    """Whether this request's failed `authenticate()` is a lockout: axes flags the request when
    it refused a pair already locked, and when the failure it just counted reached the limit."""
    return bool(getattr(request, "axes_locked_out", False))


def lock_ends(request: HttpRequest, username: str) -> datetime:
    """When the lock on (`username`, this request's address) ends, at the latest: the cool-off
    after the last failure counted (failures while locked are not counted, so a client that keeps
    sending a wrong password does not keep its owner locked out for ever)."""
    cool_off = get_cool_off(request)
    last = AccessAttempt.objects.filter(
        username=username, ip_address=request.axes_ip_address
    ).aggregate(last=Max("attempt_time"))["last"]
    return (last or timezone.now()) + cool_off


def retry_after_s(ends: datetime) -> int:
    """Seconds until `ends`, rounded up, at least 1: the `Retry-After` value."""
    return max(1, math.ceil((ends - timezone.now()).total_seconds()))


def _when(ends: datetime) -> str:
    """When `ends` is, as staff read it: 14:47 (in 15 minutes), on the trust's clock, with the
    day when it is not today."""
    local, today = timezone.localtime(ends), timezone.localdate()
    clock = f"{local:%H:%M}" if local.date() == today else f"{local:%Y-%m-%d %H:%M}"
    minutes = math.ceil(retry_after_s(ends) / 60)
    return f"{clock} (in {minutes} minute{'' if minutes == 1 else 's'})"


def explanation(request: HttpRequest, username: str, ends: datetime) -> str:
    """The sentence both refusals give: what is locked, why, until when, and the way out."""
    return (
        f"after {settings.AXES_FAILURE_LIMIT} failed logins, user '{username}' is locked for "
        f"logins from this address ({request.axes_ip_address}) until {_when(ends)}, even with "
        f"the right password. Try again then, or ask a staff admin to lift the lock now: "
        f"{RESET_COMMAND} {username}"
    )


def problem(request: HttpRequest, username: str) -> HttpResponse:
    """429 problem document with `Retry-After`, for an API client (Basic credentials)."""
    ends = lock_ends(request, username)
    response = problem_response(429, TITLE, explanation(request, username, ends))
    response["Retry-After"] = str(retry_after_s(ends))
    return response


def page(request: HttpRequest, username: str) -> HttpResponse:
    """429 page in the admin's login style, for a person at the login form."""
    ends = lock_ends(request, username)
    context = {
        **admin.site.each_context(request),
        "title": TITLE,
        "username": username,
        "address": request.axes_ip_address,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "until": _when(ends),
        "reset_command": f"{RESET_COMMAND} {username}",
    }
    response = TemplateResponse(request, "admin/locked_out.html", context, status=429)
    response["Retry-After"] = str(retry_after_s(ends))
    return response.render()


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: what axes' middleware answers in place of a locked login.

    Only the admin's login form gets here (maps.credentials answers Basic credentials itself,
    before axes' middleware is reached); a login elsewhere gets the problem document."""
    username = get_client_username(request, credentials) or ""
    if request.path.startswith("/admin/"):
        return page(request, username)
    return problem(request, username)


def client_ip_behind_proxy(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE behind one reverse proxy (CLT_BEHIND_PROXY=1): the address the
    proxy put last in `X-Forwarded-For`, the client it saw.

    Only the last entry is the proxy's own word: a client may send an `X-Forwarded-For` of its
    choosing, which the proxy keeps in front of the address it adds (nginx's
    `$proxy_add_x_forwarded_for`), so an attacker reading the first entry would pick a new
    address for each guess. Without the header, or with something there that is no address,
    the proxy's own (REMOTE_ADDR) stands."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    last = forwarded.rpartition(",")[2].strip()
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return request.META.get("REMOTE_ADDR")
