"""Every change to the registry is kept: who, when, which action, old and new values."""

import datetime as dt

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection
from pghistory.models import Events

from clt.history import recorded
from parcels.actions import holding_acquire
from parcels.models import Holding, Parcel

pytestmark = pytest.mark.django_db

ParcelEvent = apps.get_model("parcels", "ParcelEvent")


@pytest.fixture
def staff():
    return User.objects.create_user("ada", password="x")


@pytest.fixture
def parcels():
    return [Parcel.objects.create(apn=f"164-001-00{i}", tax_status="current") for i in range(3)]


def test_bulk_queryset_update_is_recorded_with_user_and_action(staff, parcels):
    with recorded("tax_status_refresh", staff):
        Parcel.objects.filter(apn__startswith="164-001").update(tax_status="delinquent")

    updates = ParcelEvent.objects.filter(pgh_label="update").select_related("pgh_context")
    assert updates.count() == 3
    for event in updates:
        assert event.tax_status == "delinquent"
        assert event.pgh_context.metadata["action"] == "tax_status_refresh"
        assert event.pgh_context.metadata["user"] == staff.pk


def test_raw_sql_update_is_recorded_too(parcels):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE parcels_parcel SET zoning = 'R-2' WHERE apn = %s", ["164-001-000"])
    event = ParcelEvent.objects.get(pgh_label="update", apn="164-001-000")
    assert event.zoning == "R-2"
    assert event.pgh_context is None  # no named action: visible as an untagged change


def test_history_shows_old_and_new_values(parcels):
    parcel = parcels[0]
    with recorded("parcel_rezone"):
        parcel.zoning = "C-2"
        parcel.save()
    diff = (
        Events.objects.tracks(parcel).filter(pgh_label="update").values_list("pgh_diff", flat=True)
    )
    assert diff[0]["zoning"] == ["", "C-2"]


def test_holding_acquire_is_one_tagged_transaction(staff, parcels):
    holding = holding_acquire(
        name="Ewing St lots", parcels=parcels[:2], current_use="held_vacant",
        acquired_via="tax_forfeit_patent", acquired_on=dt.date(2024, 5, 1), user=staff,
    )
    events = Events.objects.tracks(holding)
    assert [e.pgh_context["action"] for e in events] == ["holding_acquire"]
    assert set(Parcel.objects.held_by_trust(dt.date(2024, 5, 1))) == set(parcels[:2])


def test_as_of_query_answers_what_the_trust_held_on_a_date(parcels):
    holding_acquire(
        name="Farm", parcels=parcels[:1], current_use="urban_farm", acquired_via="donation",
        acquired_on=dt.date(2018, 3, 1),
    )
    holding_acquire(
        name="Garden", parcels=parcels[1:2], current_use="community_garden",
        acquired_via="city_transfer", acquired_on=dt.date(2022, 7, 1),
    )
    assert [h.name for h in Holding.objects.current(dt.date(2020, 1, 1))] == ["Farm"]
    assert [h.name for h in Holding.objects.current(dt.date(2023, 1, 1))] == ["Farm", "Garden"]
    assert list(Parcel.objects.held_by_trust(dt.date(2017, 12, 31))) == []
