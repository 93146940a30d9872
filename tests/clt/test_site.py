"""The app serves its pages against the real PostGIS."""

import re

import pytest
from django.conf import settings

from clt import schema
from tests import factories
from tests.unapplied import catch_up, forget_migration, one_migration_behind

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


def test_health_check_is_503_while_migrations_are_pending(client, monkeypatch):
    """Updated code on a database not migrated yet: its pages would be 500s (missing columns),
    so a load balancer or compose must not send traffic here."""
    monkeypatch.setattr(schema, "_up_to_date", False)  # as in a process just started
    with one_migration_behind():
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "migrations pending", "pending": 1, "fix": "clt migrate"}


def test_health_check_looks_again_while_pending_and_no_more_once_up_to_date(client, monkeypatch):
    monkeypatch.setattr(schema, "_up_to_date", False)
    forget_migration()
    assert client.get("/healthz").status_code == 503
    catch_up()  # `clt migrate` ran
    assert client.get("/healthz").status_code == 200
    forget_migration()  # only new code brings new migrations, and it comes with a restart
    assert client.get("/healthz").status_code == 200


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
