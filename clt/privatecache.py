"""What a signed-in user is answered stays out of every cache, unless the view says otherwise.

The staff pages (the stewardship report and its CSV, with resale prices and buyers' incomes; the
finder and its API) sent no `Cache-Control`, so a browser's disk cache, or a proxy, could keep
them after the user logged out. Rather than one decorator per view, which the next staff view
would forget, every answer to a request made with a login (a session, a token, a Basic password)
that says nothing of caching gets `private, no-store`. A view that says something keeps it: the
staff tiles, the OGC API and the downloads are `private` with an ETag, to be revalidated, not
fetched again; the admin is `never_cache`; the public pages are for anyone.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class PrivateWhenSignedInMiddleware:
    """`Cache-Control: private, no-store` on an answer to a signed-in request that has none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response and signed_in(request):
            patch_cache_control(response, private=True, no_store=True)
        return response


def signed_in(request: HttpRequest) -> bool:
    """Whether the request was made with a login (`request.user`, from a session or from the
    credentials `maps.credentials` read).

    A request with no session cookie and no Authorization header is nobody's, and is not looked
    up: asking `request.user` reads the session, and that has every answer say `Vary: Cookie`,
    which a shared cache would then keep once per visitor's cookies."""
    sent = settings.SESSION_COOKIE_NAME in request.COOKIES or "Authorization" in request.headers
    if not sent:
        return False
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated
