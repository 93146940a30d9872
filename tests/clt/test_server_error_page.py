"""An error in a page is the site's own 500 page: the trust's name, a sentence, a way home and
whom to tell, never a traceback; and that page does not fail itself (clt.security, 500.html).

This module is its own URLconf: the site's, plus one page that raises.
"""

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import path

from clt import security, urls


class SecretBreakage(RuntimeError):
    """An error whose name and message must stay in the server's log."""


def page_that_raises(request):
    raise SecretBreakage("password=hunter2 in /srv/clt/leases/views.py")


urlpatterns = [path("test-broken-page/", page_that_raises), *urls.urlpatterns]
handler500 = urls.handler500

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture
def broken_page(client):
    """The response to the page that raises, as a visitor gets it (DEBUG off, as in tests)."""
    assert not settings.DEBUG
    client.raise_request_exception = False
    return client.get("/test-broken-page/", HTTP_ACCEPT=BROWSER_ACCEPT)


# What a browser asks for a page (Chromium's Accept header).
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_an_error_answering_an_api_client_is_a_problem_document(client):
    # A GIS client or script reads JSON: an HTML page was all it got of a 500.
    client.raise_request_exception = False
    response = client.get("/test-broken-page/", HTTP_ACCEPT="application/json")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Server error" and settings.CLT_CONTACT in problem["detail"]
    assert "hunter2" not in response.content.decode() and "SecretBreakage" not in problem["detail"]


def test_an_error_in_a_page_is_a_500_with_the_trusts_name_a_way_home_and_its_contact(broken_page):
    assert (broken_page.status_code, broken_page["Content-Type"]) == (
        500, "text/html; charset=utf-8",
    )  # fmt: skip
    page = broken_page.content.decode()
    assert f"<title>Something went wrong — {settings.CLT_NAME}</title>" in page
    assert "<h1>Something went wrong</h1>" in page
    assert '<a href="/">Back to the home page</a>' in page
    assert f"Contact: {settings.CLT_CONTACT}" in page


def test_the_500_page_shows_nothing_of_the_error(broken_page):
    page = broken_page.content.decode()
    for secret in ("Traceback", "SecretBreakage", "hunter2", "/srv/clt", "views.py"):
        assert secret not in page


def test_the_500_page_has_the_sites_csp_and_nothing_inline_the_csp_would_block(broken_page):
    assert "script-src 'self' 'nonce-" in broken_page["Content-Security-Policy"]
    page = broken_page.content.decode()
    assert "<script" not in page and "<style" not in page and "style=" not in page


def test_the_500_page_renders_without_a_static_files_manifest(client, settings, tmp_path):
    # Production with no collectstatic manifest fails every page that links a static file:
    # the 500 page must still be the site's, not the plain fallback.
    manifest_storage = {"BACKEND": "clt.staticfiles.CollectedStaticFiles"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": manifest_storage}
    settings.STATIC_ROOT = tmp_path
    client.raise_request_exception = False
    assert client.get("/nope/").status_code == 500  # the 404 page links the site's CSS
    page = client.get("/test-broken-page/", HTTP_ACCEPT=BROWSER_ACCEPT).content.decode()
    assert "not yours" in page and settings.CLT_CONTACT in page  # 500.html, not the fallback


def test_a_500_page_whose_template_fails_is_the_plain_page_with_the_name_and_contact(
    client, monkeypatch
):
    def broken_template(name, using=None):
        raise ValueError("no static files manifest")

    monkeypatch.setattr("django.template.loader.get_template", broken_template)
    client.raise_request_exception = False
    response = client.get("/test-broken-page/", HTTP_ACCEPT=BROWSER_ACCEPT)
    page = response.content.decode()
    assert response.status_code == 500
    assert f"<title>Server error — {settings.CLT_NAME}</title>" in page
    assert '<a href="/">Back to the home page</a>' in page
    assert f"Contact: {settings.CLT_CONTACT}" in page


@pytest.mark.django_db(databases=[])  # any query is an error here
def test_the_500_page_needs_neither_the_database_nor_a_request():
    response = security.server_error_page()
    assert response.status_code == 500
    assert settings.CLT_NAME in response.content.decode()


@pytest.mark.django_db(databases=[])
def test_a_database_outage_is_still_a_503_not_the_500_page():
    from django.db.utils import OperationalError

    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = security.server_error(RequestFactory().get("/", HTTP_ACCEPT="text/html"))
    assert response.status_code == 503 and response["Retry-After"] == "5"
