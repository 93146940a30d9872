"""The finder over HTTP: staff only, GeoJSON out, RFC 9457 problems naming the bad field."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import MultiPolygon, Polygon

from parcels.actions import holding_acquire
from parcels.models import Parcel

pytestmark = pytest.mark.django_db

LON, LAT, SIDE = -90.2010, 32.2990, 0.0003


def lot(col: int) -> MultiPolygon:
    west, east = LON + col * SIDE, LON + (col + 1) * SIDE
    ring = ((west, LAT), (east, LAT), (east, LAT + SIDE), (west, LAT + SIDE), (west, LAT))
    return MultiPolygon(Polygon(ring), srid=4326)


@pytest.fixture
def land():
    held = Parcel.objects.create(apn="H0", geom=lot(0), vacancy_status="occupied")
    for col in (1, 2):
        Parcel.objects.create(apn=f"V{col}", geom=lot(col), vacancy_status="vacant",
                              address=f"{col} Ewing St")  # fmt: skip
    holding_acquire(
        name="Ewing St co-op", parcels=[held], current_use="coop_housing",
        acquired_via="purchase", acquired_on=dt.date(2020, 1, 1),
    )  # fmt: skip


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("fannie", password="x")
    client.force_login(user)
    return client


def test_vacant_lots_answer_geojson_to_staff(staff_client, land):
    response = staff_client.get("/api/vacant-lots", {"near": f"{LON},{LAT}", "within_m": "500"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert [f["properties"]["apn"] for f in body["features"]] == ["V1", "V2"]
    assert body["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_adjacent_and_assemblage_endpoints(staff_client, land):
    adjacent = staff_client.get("/api/vacant-lots/adjacent", {"tolerance_m": "1"}).json()
    assert [f["properties"]["holdings"] for f in adjacent["features"]] == [["Ewing St co-op"]]
    groups = staff_client.get("/api/assemblages", {"tolerance_m": "1"}).json()
    props = groups["features"][0]["properties"]
    assert (props["apns"], props["lots"], props["touches_trust_land"]) == (["V1", "V2"], 2, True)


def test_anonymous_callers_get_401_and_non_staff_403(client, land):
    response = client.get("/api/vacant-lots")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    User.objects.create_user("visitor", password="x")
    client.login(username="visitor", password="x")
    assert client.get("/api/assemblages").status_code == 403


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/vacant-lots", {"bbox": "-90.1,32.3,-90.2,32.4"}, "bbox"),
        ("/api/vacant-lots", {"min_area_m2": "900", "max_area_m2": "100"}, "min_area_m2"),
        ("/api/vacant-lots", {"near": "-90.2,32.3", "within_m": "abc"}, "within_m"),
        ("/api/vacant-lots", {"near": "-90.2,32.3", "within_m": "-5"}, "within_m"),
        ("/api/vacant-lots", {"limit": "0"}, "limit"),
        ("/api/vacant-lots/adjacent", {"tolerance_m": "abc"}, "tolerance_m"),
        ("/api/assemblages", {"tolerance_m": "-5"}, "tolerance_m"),
        ("/api/assemblages", {"bbox": "a,b,c,d"}, "bbox"),
        ("/api/assemblages", {"min_lots": "two"}, "min_lots"),
        ("/api/vacant-lots", {"near": "0,0"}, "near"),
        ("/api/vacant-lots", {"near": "0,0", "within_m": "10"}, "near"),
        ("/api/vacant-lots/adjacent", {"near": "0,0", "within_m": "10"}, "near"),
        ("/api/vacant-lots", {"polygon": '{"type":"Polygon"}'}, "polygon"),
        ("/api/vacant-lots", {"polygon": '{"type":"Polygon","coordinates":"x"}'}, "polygon"),
        ("/api/assemblages", {"polygon": '{"type":"Polygon"}'}, "polygon"),
        ("/api/assemblages", {"polygon": '{"type":"Polygon","coordinates":"x"}'}, "polygon"),
    ],
)
def test_bad_parameters_are_400_problems_naming_the_field(staff_client, land, url, params, field):
    response = staff_client.get(url, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert (problem["status"], problem["title"]) == (400, "Invalid parameter")
    assert problem["invalid-params"][0]["name"] == field
    assert problem["detail"].startswith(f"{field}: ")


def test_finder_page_loads_leaflet_from_our_own_static_files(staff_client):
    response = staff_client.get("/finder/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '/static/leaflet/leaflet.js"' in html
    assert '/static/leaflet/leaflet.css"' in html
    assert "unpkg" not in html and "cdn" not in html.lower()


def test_finder_page_sends_visitors_to_log_in(client):
    response = client.get("/finder/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
