"""Who is asking, on the data endpoints: a session, an access token, or a staff login sent as
HTTP Basic credentials.

GIS clients (GDAL, QGIS, scripts) have no session: they send `Authorization` with every
request. On the data paths (OGC API, downloads, tiles, layer GeoJSON, the finder API) and for
reads only, this middleware turns that header into `request.user`, once, before any view, so
every data endpoint honours the same credentials in the same way. (Before, only the OGC API and
the downloads read a Basic password, and a tile or the finder API answered the same planner
as a stranger.)

Credentials that are sent and wrong are a 401 at once, never a silent anonymous answer: a
planner would otherwise see an empty staff layer, or only the public fields, and not know why.
A header that is not Basic or Bearer at all is a 400. A Basic password is a login like the admin's
form: each wrong one counts, and after too many the user name is locked for the address it came
from, a 429 with `Retry-After` even for the right password (clt.lockout). A token never counts.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse

from clt import lockout
from clt.security import problem_response
from maps import tokens

# Where credentials may stand in for a session (reads only, see maps.tokens).
DATA_PATHS = ("/ogcapi", "/export/", "/tiles/", "/map/layers/", "/api/")
BASIC_CHALLENGE = 'Basic realm="clt staff", charset="UTF-8"'
BEARER_REALM = 'Bearer realm="clt staff layers"'
WRONG_PASSWORD = "the user name or password is wrong"
USERNAME_MAX_LENGTH = 150  # django.contrib.auth's User.username


class MalformedCredentials(ValueError):
    """The Authorization header cannot be read; the message says how it is wrong."""


class LockedOut(Exception):
    """Too many wrong passwords for this user name from this address (clt.lockout)."""

    def __init__(self, username: str):
        super().__init__(f"user '{username}' is locked out for this address")
        self.username = username


class WrongCredentials(Exception):
    """The header could be read, and names nobody (or a token that no longer opens)."""

    def __init__(self, title: str, detail: str, challenge: str):
        super().__init__(detail)
        self.title, self.challenge = title, challenge


def basic_pair(value: str) -> tuple[str, str]:
    """The user name and password of a Basic credential (RFC 7617: base64 of "user:password")."""
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise MalformedCredentials(
            "the Authorization header is not valid Basic: base64 of UTF-8 'user:password'"
        ) from None
    username, colon, password = decoded.partition(":")
    if not colon:
        raise MalformedCredentials("the Basic credentials have no ':' between user and password")
    # PostgreSQL text cannot hold NUL: looking such a user name up was a 500.
    if "\x00" in decoded:
        raise MalformedCredentials("the Basic credentials contain a NUL character")
    return username, password


def user_from_header(request: HttpRequest, header: str):
    """The user the Authorization `header` stands for; None when it carries no credentials."""
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if not value:
        return None
    if scheme == "bearer":
        return _token_user(value, f'{BEARER_REALM}, error="invalid_token"')
    if scheme != "basic":
        said = scheme[:20]
        raise MalformedCredentials(f"'{said}' credentials are not read: send Basic or Bearer")
    username, password = basic_pair(value)
    if password.startswith(tokens.PREFIX):  # a token, as Basic's password, any user name
        return _token_user(password, BASIC_CHALLENGE)
    if len(username) > USERNAME_MAX_LENGTH:
        # Names nobody; and axes' record of the failure holds 255 characters (a 500, before).
        raise WrongCredentials("Wrong credentials", WRONG_PASSWORD, BASIC_CHALLENGE)
    user = authenticate(request, username=username, password=password)
    if user is None and lockout.locked_out(request):
        raise LockedOut(username)
    if user is None:
        raise WrongCredentials("Wrong credentials", WRONG_PASSWORD, BASIC_CHALLENGE)
    return user


def challenge_for(request: HttpRequest) -> str:
    """The `WWW-Authenticate` challenge of a 401 for a staff resource asked without usable
    credentials, in the scheme the client used: Bearer to one that sent `Bearer` with no token
    (RFC 6750 §3: a request that "does not contain an access token that enables access"
    gets the Bearer challenge), Basic to the rest, which GDAL, QGIS and curl answer with a
    password. Wrong credentials never get here: the middleware answers them with their own
    scheme's challenge.

    A page's own script (a fetch whose `Sec-Fetch-Mode` is not "navigate": the staff map's
    tiles after its session expired) gets the Bearer challenge too: to a Basic one a browser
    answers with its login box, over the map, asking for a password the page never needed."""
    scheme = request.headers.get("Authorization", "").partition(" ")[0].lower()
    fetched_by_a_page = request.headers.get("Sec-Fetch-Mode", "navigate") != "navigate"
    return BEARER_REALM if scheme == "bearer" or fetched_by_a_page else BASIC_CHALLENGE


def refusal(request: HttpRequest) -> tuple[int, str, dict[str, str]]:
    """(status, title, headers) refusing a staff resource to this request: 401 with the
    challenge (`challenge_for`) when no one is logged in, 403 to a user who may not see it
    (RFC 9110 §15.5.2, §15.5.4). The OGC API, the downloads and the tiles all answer so."""
    if request.user.is_authenticated:
        return 403, "Forbidden", {}
    return 401, "Login required", {"WWW-Authenticate": challenge_for(request)}


def _token_user(key: str, challenge: str):
    try:
        return tokens.user_for(key)
    except tokens.TokenRejected as exc:
        raise WrongCredentials("Invalid access token", str(exc), challenge) from None


class DataCredentialsMiddleware:
    """After Django's AuthenticationMiddleware: on a safe request to a data path, the
    credentials in `Authorization` (if any) make the request their user's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if header and request.method in ("GET", "HEAD") and request.path.startswith(DATA_PATHS):
            try:
                user = user_from_header(request, header)
            except MalformedCredentials as exc:
                return problem_response(400, "Bad credentials", str(exc))
            except LockedOut as exc:
                return lockout.problem(request, exc.username)
            except WrongCredentials as exc:
                response = problem_response(401, exc.title, str(exc))
                response["WWW-Authenticate"] = exc.challenge
                return response
            if user is not None:
                request.user = user
                # Credentials are not a session: no cookie is set, and no CSRF applies to a read.
                request._dont_enforce_csrf_checks = True
        return self.get_response(request)
