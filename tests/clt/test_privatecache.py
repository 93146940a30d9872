"""What a signed-in user is answered stays out of caches (clt/privatecache.py)."""

from __future__ import annotations

import pytest

from maps import tokens
from tests import factories

pytestmark = pytest.mark.django_db

STAFF_PAGES = ("/staff/report/", "/staff/report.csv", "/finder/", "/api/vacant-lots",
               "/api/vacant-lots/adjacent", "/api/assemblages")  # fmt: skip


@pytest.fixture
def read_only(client):
    client.force_login(factories.user(role="read-only"))
    return client


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_a_staff_page_tells_caches_to_keep_no_copy(read_only, url):
    response = read_only.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_the_finder_api_read_with_a_token_tells_caches_to_keep_no_copy(client):
    key = tokens.issue(factories.user(role="read-only"), "QGIS")[1]
    response = client.get("/api/vacant-lots", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_a_view_that_says_how_to_cache_keeps_its_word(read_only):
    # The staff map says it itself; the admin is Django's never_cache
    assert read_only.get("/map/staff/")["Cache-Control"] == "no-store"
    admin = read_only.get("/admin/")["Cache-Control"]
    assert admin == "max-age=0, no-cache, no-store, must-revalidate, private"


def test_a_public_page_for_a_visitor_is_not_made_private(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Cache-Control" not in response
    assert "Cookie" not in response.get("Vary", "")
