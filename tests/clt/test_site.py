"""The app serves its pages against the real PostGIS."""

import pytest

pytestmark = pytest.mark.django_db


def test_home_page_shows_the_trust_and_its_figures(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Land held in common" in page
    assert 'name="viewport"' in page  # readable on a phone


def test_admin_login_page_is_served(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_admin_redirects_anonymous_visitors_to_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_health_check_reports_postgis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["postgis"].startswith("3.")


def test_static_css_is_served_by_the_app(client):
    response = client.get("/static/clt/site.css")
    assert response.status_code == 200
