"""The finder's answers as spreadsheets (`.csv` beside each API path): the page the GeoJSON
answer gives, in the CLI's `--format csv` columns, for the coordinator who works through a list
(a tester at a million parcels found the page offered GeoJSON alone)."""

from __future__ import annotations

import csv

import pytest
from django.contrib.auth.models import User

from tests.parcels import test_finder

pytestmark = pytest.mark.django_db

land = test_finder.land  # test_finder's neighbourhood: V1 beside the trust's farm, V6-V8 a group


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("coordinator", password="x"))
    return client


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(response.content.decode().splitlines()))


def test_each_answer_is_the_same_page_as_its_geojson(land, staff):
    lots = staff.get("/api/vacant-lots", {"limit": "2", "page": "2"}).json()
    sheet = staff.get("/api/vacant-lots.csv", {"limit": "2", "page": "2"})
    assert sheet["Content-Disposition"] == 'attachment; filename="vacant-lots-page-2.csv"'
    assert [r["apn"] for r in rows(sheet)] == [f["properties"]["apn"] for f in lots["features"]]

    beside = rows(staff.get("/api/vacant-lots/adjacent.csv", {"tolerance_m": "2"}))
    assert [r["apn"] for r in beside] == ["V1", "V5"]
    assert beside[0]["holdings"]  # which holding each touches, in words

    groups = rows(staff.get("/api/assemblages.csv", {"min_lots": "3"}))
    assert [r["apns"] for r in groups] == ["V6 V7 V8"]


def test_a_bad_value_is_a_400_naming_it_and_no_login_a_401(land, staff, client):
    refused = staff.get("/api/assemblages.csv", {"tolerance_m": "60"})
    assert refused.status_code == 400
    assert refused.json()["invalid-params"][0]["name"] == "tolerance_m"
    staff.logout()
    assert staff.get("/api/vacant-lots.csv").status_code == 401
