"""The map's search by APN as people copy one from a tax bill: with its dashes, without them,
or with spaces; and by an index, never a scan of the county."""

from __future__ import annotations

import pytest
from django.db import connection

from maps import search
from parcels.models import Parcel
from tests import factories
from tests.maps import factories_map

pytestmark = pytest.mark.django_db


@pytest.fixture
def block():
    return factories_map.block()


def found(client, q: str) -> list[str]:
    response = client.get("/map/search.json", {"q": q})
    assert response.status_code == 200, response.content[:300]
    return [r["properties"]["apn"] for r in response.json()["results"]]


@pytest.mark.parametrize("typed", ["170001011", "170 001 011", "170.001.011", " 170-001 011 "])
def test_an_apn_typed_without_its_dashes_or_with_spaces_finds_its_parcel(client, block, typed):
    farm = next(p for p in block.trust if p.apn == "170-001-011")
    assert found(client, typed) == [farm.apn]


def test_the_start_of_an_apn_finds_its_parcels_with_or_without_dashes(client, block):
    farm = ["170-001-011", "170-001-012"]
    assert found(client, "170-001-011") == farm[:1]  # as before: exactly, with its dashes
    assert found(client, "170-001-") == farm
    assert found(client, "170001") == farm
    assert found(client, "170 001") == farm
    assert found(client, "1700010111") == []  # longer than any APN here
    assert found(client, "171 013") == []  # the block's 171- rows are 007 to 012


def test_the_key_drops_every_separator_and_upper_cases():
    assert search.apn_key(" 07-113.a b ") == "07113AB"


def test_the_search_by_apn_key_can_use_its_index():
    for n in range(3):
        factories.parcel(apn=f"164-113-{n:03d}")
    queryset = Parcel.objects.alias(key=search.ApnKey("apn")).filter(key__startswith="164113")
    with connection.cursor() as cursor:
        # A near-empty table is always cheapest to scan: forbid it, and a walk of a whole B-tree.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
        shown = queryset.order_by().explain()
    assert "parcel_apn_key" in shown, shown
    assert sorted(queryset.values_list("apn", flat=True)) == [
        "164-113-000",
        "164-113-001",
        "164-113-002",
    ]


@pytest.mark.parametrize("linked", ["170001011", "170 001 011"])
def test_a_deep_link_with_the_apn_without_its_dashes_opens_its_parcel(client, block, linked):
    page = client.get("/map/", {"parcel": linked})

    assert page.status_code == 200
    assert page.context["message"] == ""
    assert "170-001-011" in page.content.decode()  # the parcel the map opens on


def test_a_deep_link_to_an_apn_start_opens_nothing(client, block):
    page = client.get("/map/", {"parcel": "170001"})  # two parcels start so: a link names one

    assert "No parcel with APN" in page.context["message"]
