"""Planners' access tokens: a GIS client reads the staff layers without a browser session.

A token stands in for its staff user on *reads* of the data endpoints (OGC API, downloads, tiles,
layer GeoJSON, the finder API) and nowhere else: not the admin, not a form, never a write. So a
token copied out of a QGIS project can show staff layers to whoever holds it, but cannot change
the registry; revoking it (or the user leaving the staff) closes that door on the next request.

Clients send it as `Authorization: Bearer clt_…`, or, for clients that only know Basic auth
(GDAL's GDAL_HTTP_USERPWD, QGIS's Basic method), as the password with any user name.
Only its SHA-256 is stored: a token is 256 random bits, so a fast hash is as good as a slow one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from clt.security import problem_response
from maps.models import AccessToken

PREFIX = "clt_"
# Where a token may stand in for its user (reads only, see the module docstring).
DATA_PATHS = ("/ogcapi", "/export/", "/tiles/", "/map/layers/", "/api/")
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)  # no write per request under load


class TokenRejected(Exception):
    """The request carried a token that does not open the door; the message says why."""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue(user, name: str, *, expires_at: dt.datetime | None = None) -> tuple[AccessToken, str]:
    """A new token for `user`; the key is returned once and never stored."""
    if not (user.is_active and user.is_staff):
        raise ValueError(f"{user} is not active staff; tokens are for the trust's staff")
    if not name.strip():
        raise ValueError("say what the token is for (a name such as 'QGIS, planning laptop')")
    token = AccessToken(user=user, name=name.strip(), expires_at=expires_at)
    key = set_new_key(token)
    token.save()
    return token, key


def set_new_key(token: AccessToken) -> str:
    """Give `token` a fresh random key (its prefix and hash); return the key itself."""
    key = PREFIX + secrets.token_urlsafe(32)
    token.prefix, token.key_sha256 = key[:10], _digest(key)
    return key


def revoke(token: AccessToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def user_for(key: str):
    """The staff user `key` stands for, or TokenRejected saying why not."""
    token = AccessToken.objects.select_related("user").filter(key_sha256=_digest(key)).first()
    if token is None:
        raise TokenRejected("this access token is not known; ask the trust's admin for a new one")
    if token.revoked_at:
        revoked = timezone.localtime(token.revoked_at)
        raise TokenRejected(f"this access token was revoked on {revoked:%Y-%m-%d}")
    now = timezone.now()
    if token.expires_at and token.expires_at <= now:  # its last day, in the trust's time zone
        last_day = timezone.localtime(token.expires_at)
        raise TokenRejected(f"this access token's last day was {last_day:%Y-%m-%d}")
    if not (token.user.is_active and token.user.is_staff):
        raise TokenRejected("this access token's user is no longer on the trust's staff")
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def key_in(request: HttpRequest) -> str | None:
    """The token in the Authorization header (Bearer, or Basic's password), if any."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            password = base64.b64decode(value, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return None  # not ours to judge: the OGC API's Basic check answers 400
        return password if password.startswith(PREFIX) else None
    return None


class AccessTokenMiddleware:
    """After Django's AuthenticationMiddleware: a token makes a safe request on a data path
    its user's request. A bad token is a 401 at once, never a silent anonymous answer (a
    planner would otherwise see an empty staff layer and not know why)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD") and request.path.startswith(DATA_PATHS):
            key = key_in(request)
            if key is not None:
                try:
                    request.user = user_for(key)
                except TokenRejected as exc:
                    return _unauthorized(str(exc))
                # A token is not a session: no cookie is set, and no CSRF applies to a read.
                request._dont_enforce_csrf_checks = True
        return self.get_response(request)


def _unauthorized(detail: str) -> HttpResponse:
    response = problem_response(401, "Invalid access token", detail)
    response["WWW-Authenticate"] = 'Bearer realm="clt staff layers", error="invalid_token"'
    return response
