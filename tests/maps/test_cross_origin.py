"""Another site's web map reads the trust's public layers: the OGC API, the downloads and the
tiles answer `Access-Control-Allow-Origin: *` (OGC 17-069r4 /rec/core/cross-origin), and no
credentialed answer is ever readable across origins."""

from __future__ import annotations

import pytest

from maps import tokens
from tests.browser import Visit
from tests.maps import factories_ogc as f
from tests.maps.factories_map import tile_of

pytestmark = pytest.mark.django_db

ORIGIN = {"HTTP_ORIGIN": "https://maps.example.org"}
EXPOSED = {"ETag", "Link", "Content-Crs", "Content-Disposition", "WWW-Authenticate", "Retry-After"}


@pytest.fixture
def street():
    return f.street(trust=2, vacant=2, occupied=1)


def data_urls(street) -> list[str]:
    z, x, y = tile_of(street.vacant[0], 16)
    return [
        "/ogcapi/collections",
        "/ogcapi/collections/parcels/items?limit=2",
        f"/ogcapi/collections/parcels/items/{street.vacant[0].pk}",
        "/export/parcels.geojson",
        "/export/parcels.csv",
        f"/tiles/parcels/{z}/{x}/{y}.pbf",
    ]


def assert_readable_from_anywhere(response) -> None:
    assert response["Access-Control-Allow-Origin"] == "*"
    exposed = {h.strip() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert exposed == EXPOSED
    assert "Access-Control-Allow-Credentials" not in response


def test_every_data_endpoint_may_be_read_by_another_sites_map(client, street):
    for url in data_urls(street):
        response = client.get(url, HTTP_ACCEPT="application/geo+json", **ORIGIN)
        assert response.status_code == 200, url
        assert_readable_from_anywhere(response)


def test_a_staff_tokens_answer_still_says_star_and_stays_private(client, street):
    key = tokens.issue(f.staff_user(), "QGIS")[1]
    z, x, y = tile_of(street.leased[0], 16)
    # A public layer's tile is the same for everyone, and says so ("public"): not here.
    documents = [url for url in data_urls(street) if not url.startswith("/tiles/")]
    staff = ["/ogcapi/collections/leases/items", f"/tiles/leases/{z}/{x}/{y}.pbf"]
    for url in [*documents, *staff]:
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}", **ORIGIN)
        assert response.status_code == 200, url
        assert_readable_from_anywhere(response)  # `*`: a browser never shows it to a script
        assert "private" in response["Cache-Control"], url


def test_a_refusal_is_readable_too_so_a_script_can_say_why(client, street):
    for response in [
        client.get("/ogcapi/collections/leases/items", **ORIGIN),  # 401
        client.get("/ogcapi/collections/parcels/items?limit=zero", **ORIGIN),  # 400
        client.get("/ogcapi/nope", **ORIGIN),  # 404
    ]:
        assert response["Content-Type"] == "application/problem+json"
        assert_readable_from_anywhere(response)


@pytest.mark.parametrize("url", ["/", "/map/", "/admin/login/", "/api/vacant-lots", "/healthz"])
def test_the_sites_pages_are_for_the_site_alone(client, url):
    assert "Access-Control-Allow-Origin" not in client.get(url, **ORIGIN)


def test_a_preflight_is_still_refused(client):
    """None is needed for a GET with safelisted headers; one asking to send Authorization
    from another site is refused, as tokens are not for other sites' pages."""
    response = client.options(
        "/ogcapi/collections",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
        **ORIGIN,
    )
    assert response.status_code == 405
    assert "Access-Control-Allow-Methods" not in response
    assert "Access-Control-Allow-Headers" not in response


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_chromium_on_another_origin_reads_the_items_and_their_etag(browser, live_server):
    """A page on 127.0.0.1 fetches from localhost (another origin, the same server), as a map
    on the city's site would: no CORS error, the GeoJSON and the exposed ETag are readable."""
    f.street(trust=1, vacant=1, occupied=0)
    port = live_server.url.rsplit(":", 1)[1]
    with Visit(browser) as visit:
        visit.page.goto(f"http://127.0.0.1:{port}/healthz")  # a JSON page: no CSP to stop it
        read = visit.page.evaluate(
            """async (url) => {
                const r = await fetch(url, {headers: {Accept: "application/geo+json"}});
                const doc = await r.json();
                return [r.status, doc.type, r.headers.get("ETag"), r.headers.get("Content-Crs")];
            }""",
            f"http://localhost:{port}/ogcapi/collections/parcels/items?limit=1",
        )
    status, kind, etag, crs = read
    assert (status, kind) == (200, "FeatureCollection")
    assert etag.startswith('W/"')
    assert crs == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
