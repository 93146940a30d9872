"""The app serves its pages against the real PostGIS."""

import re

import pytest
from django.conf import settings
from django.utils import timezone

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


def test_health_check_is_503_while_migrations_are_pending(client):
    """Updated code on a database not migrated yet: its pages would be 500s (missing columns),
    so a load balancer or compose must not send traffic here."""
    with one_migration_behind():
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "migrations pending", "pending": 1, "fix": "clt migrate"}


def test_health_check_looks_again_whenever_the_applied_migrations_change(client):
    forget_migration()
    assert client.get("/healthz").status_code == 503
    catch_up()  # `clt migrate` ran
    assert client.get("/healthz").status_code == 200
    forget_migration()  # an older backup restored under the running server
    assert client.get("/healthz").status_code == 503
    catch_up()
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


def test_home_page_says_how_to_apply_for_what_is_available(client, settings):
    settings.CLT_HOW_TO_APPLY = "Apply at https://example.org/apply or call 601-000-0000."
    assert "how-to-apply" not in client.get("/").content.decode()  # nothing offered, nothing said
    factories.holding(parcels=[factories.parcel(apn="164-900-001")], available=True)
    page = client.get("/").content.decode()
    assert (
        '<p class="how-to-apply">Apply at <a href="https://example.org/apply">'
        'https://example.org/apply</a> or call <a href="tel:+16010000000">601-000-0000</a>.</p>'
    ) in page


def test_home_page_counts_the_county_parcels_the_map_shows_not_retired_ones(client):
    factories.parcel(apn="164-102-004")
    factories.parcel(apn="164-102-905")
    factories.parcel(apn="164-102-005", retired_at=timezone.now())  # renumbered as 905
    page = client.get("/").content.decode()
    assert "<strong>2</strong> county parcels on the map" in page


@pytest.mark.parametrize("unsafe", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_a_login_with_an_unsafe_next_lands_on_the_admin_not_a_404(client, unsafe):
    factories.user("lorna", is_staff=True, is_superuser=True)  # password "pw"
    response = client.post("/admin/login/", {"username": "lorna", "password": "pw", "next": unsafe})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_admin_login_page_is_headed_staff_login_above_djangos_form(client):
    page = client.get("/admin/login/").content.decode()
    assert page.count("<h1") == 1 and "<h1>Staff login</h1>" in page  # axe: page-has-heading-one
    assert page.index("<h1>Staff login</h1>") < page.index('id="login-form"')


def test_a_missing_page_is_the_sites_page_with_a_way_home(client):
    response = client.get("/nope/")
    assert (response.status_code, response["Content-Type"]) == (404, "text/html; charset=utf-8")
    page = response.content.decode()
    assert f"<title>Page not found — {settings.CLT_NAME}</title>" in page
    assert '<header class="site">' in page and "<main>" in page
    assert '<a href="/">The home page</a>' in page
    assert '<a href="/map/">The map of the land</a>' in page
    assert "There is no page at <code>/nope/</code>." in page


def test_a_missing_page_shows_the_address_escaped_and_nothing_of_the_url_patterns(client):
    page = client.get("/<script>alert(1)</script>/").content.decode()
    assert "<script>" not in page
    assert "/%3Cscript%3Ealert%281%29%3C/script%3E/" in page
    assert "Resolver404" not in page and "tried" not in page and "ogcapi" not in page


@pytest.mark.parametrize("path", ["/api/nope", "/ogcapi/nope", "/tiles/nope", "/export/nope"])
def test_a_missing_api_address_is_still_a_problem_document(client, path):
    response = client.get(path)
    assert (response.status_code, response["Content-Type"]) == (404, "application/problem+json")
    assert response.json()["detail"].startswith(f"nothing is served at {path};")


TOO_MANY = "&".join(["bbox=1"] * (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))


@pytest.mark.parametrize(
    "path",
    ["/ogcapi/collections/parcels/items", "/api/vacant-lots", "/export/parcels.geojson"],
)
def test_too_many_query_parameters_for_an_api_is_a_problem_document_with_the_limit(client, path):
    """Django refuses them before any view (DATA_UPLOAD_MAX_NUMBER_FIELDS): its blank HTML
    "Bad Request (400)" told a GIS client nothing."""
    response = client.get(f"{path}?{TOO_MANY}", HTTP_ACCEPT="application/geo+json")
    assert (response.status_code, response["Content-Type"]) == (400, "application/problem+json")
    assert response.json()["detail"] == (
        "the request has more than 1000 parameters, the most this server reads; "
        "give each parameter once (a repeated name counts each time)"
    )


def test_too_many_query_parameters_for_a_page_is_still_an_html_400(client):
    response = client.get(f"/map/?{TOO_MANY}")
    assert (response.status_code, response["Content-Type"]) == (400, "text/html; charset=utf-8")


def test_no_text_in_the_sites_css_is_sized_in_px(client):
    # A px size ignores the reader's font size setting (WCAG 1.4.4); %, rem and em follow it.
    css = b"".join(client.get("/static/clt/site.css")).decode()
    sizes = re.findall(r"\bfont(?:-size)?\s*:\s*([^;}]*)", css)
    assert sizes, "site.css sets no font size at all: the test reads the wrong file"
    assert [size for size in sizes if re.search(r"\d\s*px", size)] == []
