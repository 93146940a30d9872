"""The OGC API and the downloads serve the trust's own CRSs (maps/ogcapi/crs.py): its metric CRS
(CLT_METRIC_SRID) always and its planners' (CLT_OGC_CRS), each described from PROJ, besides
CRS84 and EPSG:4326. Durham's planners ask in EPSG:2264, NAD83 / North Carolina in US feet (QA:
a second trust adopting clt, finding 7: only Mississippi's were served, 2264 was a 400)."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from pyproj import Transformer

from clt import settings as clt_settings
from maps.ogcapi import crs
from tests import factories
from tests.maps.factories_ogc import download

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
NC_FEET, NC_METRES = 2264, 32119
# A 15 x 20 m lot in East Durham (lon, lat corners).
WEST, SOUTH, EAST, NORTH = -78.87350, 35.98750, -78.87333, 35.98768


def uris(codes) -> list[str]:
    return [CRS84, EPSG + "4326", *(f"{EPSG}{code}" for code in codes)]


# --- the setting, read and refused ------------------------------------------------------------


def test_the_setting_is_epsg_codes_and_its_default_the_demos(monkeypatch):
    assert clt_settings.CLT_OGC_CRS == (2255, 3814)
    monkeypatch.setenv("CLT_OGC_CRS", "EPSG:2264, 32119")
    assert clt_settings._env_epsg_codes("CLT_OGC_CRS", (2255,)) == (NC_FEET, NC_METRES)


@pytest.mark.parametrize(
    ("value", "says"),
    [("2264,feet", "'feet' is not a number"),
     ("999999", "EPSG:999999 is not a code PROJ knows"),
     ("4269", "EPSG:4269 (NAD83) is not a projected CRS")],
)  # fmt: skip
def test_a_code_that_cannot_be_served_is_refused_naming_the_variable(monkeypatch, value, says):
    monkeypatch.setenv("CLT_OGC_CRS", value)
    with pytest.raises(ImproperlyConfigured) as refused:
        clt_settings._env_epsg_codes("CLT_OGC_CRS", (2255,))
    message = str(refused.value)
    assert message.startswith("CLT_OGC_CRS must be EPSG codes of projected CRSs")
    assert says in message and "e.g. CLT_OGC_CRS=2264" in message


# --- what is served ---------------------------------------------------------------------------


@override_settings(CLT_OGC_CRS=(NC_FEET,), CLT_METRIC_SRID=NC_METRES)
def test_durhams_feet_and_its_metric_crs_are_served_instead_of_mississippis():
    assert [served.uri for served in crs.served()] == uris([NC_FEET, NC_METRES])
    assert crs.by_reference(f"[EPSG:{NC_FEET}]") is crs.epsg(NC_FEET)
    assert crs.by_reference(f"{EPSG}2255") is None
    with override_settings(CLT_OGC_CRS=(NC_METRES, NC_FEET)):  # the metric one listed: once
        assert [served.uri for served in crs.served()] == uris([NC_METRES, NC_FEET])


def test_a_crs_is_described_from_its_definition():
    feet = crs.epsg(NC_FEET)
    assert feet.title == "NAD83 / North Carolina (ftUS)"
    assert (feet.decimals, feet.lat_first) == (2, False)
    x, y = Transformer.from_crs(4326, NC_FEET, always_xy=True).transform(WEST, SOUTH)
    west, south, east, north = feet.bounds
    assert west < x < east and south < y < north
    assert crs.epsg(NC_METRES).decimals == 3
    assert crs.epsg(3035).lat_first  # ETRS89 / LAEA Europe: northing first


# --- the API and the downloads ------------------------------------------------------------------


@pytest.fixture
def durham_lot():
    ring = [(WEST, SOUTH), (EAST, SOUTH), (EAST, NORTH), (WEST, NORTH), (WEST, SOUTH)]
    return factories.parcel(apn="0831-12-95-4431", geom=MultiPolygon(Polygon(ring), srid=4326))


def in_nc_feet(lon: float, lat: float) -> tuple[float, float]:
    return Transformer.from_crs(4326, NC_FEET, always_xy=True).transform(lon, lat)


@pytest.mark.django_db
@override_settings(CLT_OGC_CRS=(NC_FEET,))
def test_each_collection_and_the_api_definition_list_the_crss_served(client):
    served = uris([NC_FEET, clt_settings.CLT_METRIC_SRID])
    collection = client.get("/ogcapi/collections/vacant-lots").json()
    assert collection["crs"] == served
    assert collection["storageCrs"] == CRS84
    api = client.get("/ogcapi/api").json()
    assert api["components"]["parameters"]["crs"]["schema"]["enum"] == served


@pytest.mark.django_db
@override_settings(CLT_OGC_CRS=(NC_FEET,))
def test_a_durham_lot_is_answered_in_north_carolina_feet(client, durham_lot):
    url = f"/ogcapi/collections/vacant-lots/items/{durham_lot.pk}?crs={EPSG}{NC_FEET}"
    response = client.get(url)
    assert response.status_code == 200, response.content
    assert response["Content-Crs"] == f"<{EPSG}{NC_FEET}>"
    [[ring]] = response.json()["geometry"]["coordinates"]
    corners = [in_nc_feet(lon, lat) for lon, lat in [(WEST, SOUTH), (EAST, NORTH)]]
    for x, y in corners:
        assert any(abs(x - rx) <= 0.006 and abs(y - ry) <= 0.006 for rx, ry in ring)


@pytest.mark.django_db
@override_settings(CLT_OGC_CRS=(NC_FEET,))
def test_a_box_in_north_carolina_feet_finds_the_lot_and_mississippis_feet_are_refused(
    client, durham_lot
):
    x, y = in_nc_feet((WEST + EAST) / 2, (SOUTH + NORTH) / 2)
    url = f"/ogcapi/collections/vacant-lots/items?bbox={x},{y},{x},{y}&bbox-crs=[EPSG:{NC_FEET}]"
    assert [ft["id"] for ft in client.get(url).json()["features"]] == [durham_lot.pk]
    refused = client.get(f"/ogcapi/collections/vacant-lots/items?crs={EPSG}2255")
    assert refused.status_code == 400
    assert f"{EPSG}2255" in refused.json()["detail"]


@pytest.mark.django_db
@override_settings(CLT_OGC_CRS=(NC_FEET,))
def test_a_download_is_written_in_north_carolina_feet(client, durham_lot):
    body = download(client, f"/export/vacant-lots.csv?crs={EPSG}{NC_FEET}").decode()
    x, y = in_nc_feet(WEST, SOUTH)
    assert f"{x:.2f} {y:.2f}" in body


@pytest.mark.django_db
def test_the_trusts_metric_crs_is_served_whatever_the_setting_lists(client, durham_lot):
    url = f"/ogcapi/collections/vacant-lots/items/{durham_lot.pk}"
    answer = client.get(f"{url}?crs={EPSG}{clt_settings.CLT_METRIC_SRID}")
    assert answer.status_code == 200
    assert answer["Content-Crs"] == f"<{EPSG}{clt_settings.CLT_METRIC_SRID}>"


@pytest.mark.django_db
def test_a_new_list_of_crss_is_a_new_etag_not_a_304_for_the_old_list(client):
    """Restarted with another CLT_OGC_CRS, the collections name another list: a client's copy
    naming the old one is answered whole (QA re-test, finding 4: a 304 kept QGIS on the old
    list until some data changed)."""
    first = client.get("/ogcapi/collections")
    with override_settings(CLT_OGC_CRS=(NC_FEET,)):
        again = client.get("/ogcapi/collections", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]
    assert uris([NC_FEET])[0] in again.content.decode()
