"""The map's search and deep links find land the trust holds even when the county's file
retired its parcel (renumbered or dropped it): the trust's layers still show it, so a resident
who looks it up must find it. A retired parcel the trust does not hold today stays unfound."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from parcels.actions import holding_end
from parcels.models import Parcel
from tests import factories

pytestmark = pytest.mark.django_db

HOME_APN, HOME_ADDRESS = "164-210-005", "1110 Quillfeather Ave"
GONE_APN, GONE_ADDRESS = "164-210-006", "1112 Quillfeather Ave"
SOLD_APN, SOLD_ADDRESS = "164-210-007", "1114 Quillfeather Ave"


def retire(*parcels: Parcel) -> None:
    """As a county re-import that no longer names them does (parcels.importing)."""
    Parcel.objects.filter(pk__in=[p.pk for p in parcels]).update(retired_at=timezone.now())


@pytest.fixture
def retired_street():
    """Three lots the county's latest file retired: a home the trust holds under lease, a lot
    it never held, and a lot it held until it sold it in 2024."""
    home, gone, sold = (
        factories.parcel(apn=apn, address=address, vacancy_status="occupied",
                         geom=factories.lot(-90.2010 + 0.0004 * n, 32.2990))
        for n, (apn, address) in enumerate(
            [(HOME_APN, HOME_ADDRESS), (GONE_APN, GONE_ADDRESS), (SOLD_APN, SOLD_ADDRESS)]
        )
    )  # fmt: skip
    held = factories.holding(parcels=[home], name="Home at 1110")
    factories.lease(holding_=held, reference="GL-2017-110")
    disposed = factories.holding(parcels=[sold], name="Lot at 1114")
    holding_end(holding=disposed, on=dt.date(2024, 6, 1), reason="sold to the neighbour")
    retire(home, gone, sold)
    return home


def found(client, q: str, url: str = "/map/search.json") -> list[tuple[str, str]]:
    response = client.get(url, {"q": q})
    assert response.status_code == 200, response.content[:300]
    return [(r["layer"], r["properties"]["apn"]) for r in response.json()["results"]]


@pytest.mark.parametrize("q", [HOME_ADDRESS, "Quillfeather", HOME_APN, "164210005", "164 210 005"])
def test_trust_land_the_county_retired_is_found_by_its_address_or_apn(client, retired_street, q):
    assert found(client, q) == [("trust-land", HOME_APN)]


@pytest.mark.parametrize("link", [HOME_APN, "164210005"])
def test_a_deep_link_opens_trust_land_the_county_retired(client, retired_street, link):
    response = client.get("/map/", {"parcel": link})

    assert response.status_code == 200
    assert response.context["message"] == ""
    html = response.content.decode()
    assert f'"apn": "{HOME_APN}"' in html and f'"address": "{HOME_ADDRESS}"' in html
    assert '"zoom": 18' in html  # opened on it


@pytest.mark.parametrize(("apn", "address"), [(GONE_APN, GONE_ADDRESS), (SOLD_APN, SOLD_ADDRESS)])
def test_a_retired_parcel_the_trust_does_not_hold_today_is_not_found(
    client, retired_street, apn, address
):
    assert found(client, address) == []
    assert found(client, apn) == []
    assert found(client, apn.replace("-", "")) == []
    page = client.get("/map/", {"parcel": apn})
    assert page.context["message"] == f"No parcel with APN “{apn}” is on this map."


def test_the_staff_search_finds_a_retired_leased_home_with_its_lease(client, retired_street):
    client.force_login(factories.user("planner", role="read-only", is_staff=True))

    assert found(client, HOME_ADDRESS, "/map/staff/search.json") == [("leases", HOME_APN)]
    assert found(client, SOLD_ADDRESS, "/map/staff/search.json") == []


def test_the_held_parcels_leave_the_search_on_its_indexes(retired_street):
    candidates = Parcel.objects.active_or_held().filter(address__folded_search="Quillfeather")
    with connection.cursor() as cursor:
        # A near-empty table is always cheapest to scan: forbid it, and a walk of a whole B-tree.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
        shown = candidates.order_by().explain()
    assert "parcel_address_trgm" in shown, shown
    assert "Seq Scan on parcels_parcel" not in shown, shown
    assert [p.apn for p in candidates] == [HOME_APN]
