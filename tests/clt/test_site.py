"""The app serves its pages against the real PostGIS."""

import re

import pytest

from tests import factories

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


def test_home_page_lists_the_homes_and_lots_available_with_links_to_the_map(client):
    offered = factories.parcel(apn="164-900-001", address="1418 Lynch St")
    factories.holding(parcels=[offered], available=True, current_use="single_family_home")
    kept = factories.parcel(apn="164-900-002", address="1420 Lynch St")
    factories.holding(parcels=[kept], available=False)

    page = client.get("/").content.decode()

    listed = page[page.index('id="available"') :]
    assert '<a href="/map/?parcel=164-900-001">1418 Lynch St</a> · Single-family home' in listed
    assert "1420 Lynch St" not in listed
    assert "1 home or lot available now" in " ".join(re.sub(r"<[^>]+>", " ", page).split())


@pytest.mark.parametrize("unsafe", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_a_login_with_an_unsafe_next_lands_on_the_admin_not_a_404(client, unsafe):
    factories.user("lorna", is_staff=True, is_superuser=True)  # password "pw"
    response = client.post("/admin/login/", {"username": "lorna", "password": "pw", "next": unsafe})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
