"""A real headless Chromium (Debian's, driven by Playwright) for the browser tests: the
`browser` fixture, and `Visit`, a tab that records what it asks for with every outside host
blocked. Shared by the map's walk-through and the pages' phone checks."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PARCEL_PATHS = "document.querySelectorAll('.leaflet-cltParcels-pane svg path').length"
# A function, not an expression: Playwright evals a bare expression in the page, which the
# page's CSP (no 'unsafe-eval') rightly refuses.
PARCELS_DRAWN = f"() => {PARCEL_PATHS} > 0"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from maps import assets  # imported late: this module is loaded before Django is set up

    if not assets.installed():
        pytest.fail("the map's libraries are not installed: run .venv/bin/clt map-assets")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between page actions are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# A 1x1 grey PNG: the base map's tiles as a stand-in serves them.
TILE_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGO4CwAA3wDeKXlwtgAAAABJRU5ErkJggg=="
)


class Visit:
    """A browser tab that records every request and console message, with every outside host
    blocked. The base map's host is answered by a stand-in (a grey tile), as a reachable base
    map would be, unless `basemap_blocked`: then the map says the street map did not load."""

    def __init__(self, browser, *, basemap_blocked: bool = False, **context_options):
        self.context = browser.new_context(**context_options)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.console: list[str] = []
        self.errors: list[str] = []  # uncaught exceptions in the page's scripts
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda message: self.console.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.route(re.compile(r"^(?!https?://(localhost|127\.0\.0\.1)[:/])"), _abort)
        if not basemap_blocked:  # routes registered later are asked first
            from django.conf import settings

            basemap = urlsplit(settings.BASEMAP_URL).hostname
            if basemap:
                self.page.route(f"https://{basemap}/**", _stand_in_tile)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_function(PARCELS_DRAWN, timeout=20_000)
        self.page.wait_for_load_state("networkidle")

    def hosts(self) -> set[str]:
        return {urlsplit(url).hostname for url in self.requests if not url.startswith("data:")}

    def point_of(self, lat: float, lon: float) -> tuple[float, float]:
        """Where (lat, lon) is on the page, in CSS pixels from its top-left corner."""
        x, y = self.page.evaluate(
            "([lat, lon]) => { const m = CLTMap.state.map;"
            " const p = m.latLngToContainerPoint([lat, lon]);"
            " const r = m.getContainer().getBoundingClientRect();"
            " return [r.left + p.x, r.top + p.y]; }",
            [lat, lon],
        )
        return x, y

    def click_at(self, lat: float, lon: float) -> None:
        self.page.mouse.click(*self.point_of(lat, lon))

    def popup_text(self) -> str:
        popup = self.page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10_000)
        return popup.inner_text()

    def close(self) -> None:
        self.context.close()

    def __enter__(self) -> Visit:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def staff_visit(browser, live_server, **context_options) -> Visit:
    """A tab logged in as a superuser, by the test client's session cookie (no login form)."""
    from django.contrib.auth.models import User
    from django.test import Client

    visit = Visit(browser, **context_options)
    client = Client()
    client.force_login(User.objects.create_superuser("ella", password="x"))
    host = urlsplit(live_server.url).hostname
    cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": host}
    visit.context.add_cookies([{**cookie, "path": "/"}])
    return visit


def _abort(route) -> None:
    route.abort()


def _stand_in_tile(route) -> None:
    route.fulfill(body=TILE_PNG, content_type="image/png")
