"""The holding page's parcel rows: what a parcel joining says about the public "available now"
list, and a holding cannot go on once every parcel has left it."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from parcels.models import Holding, HoldingParcel
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def with_new_row(client, holding, parcel, began: dt.date) -> dict:
    """The holding's page posted back with `parcel` in a new row from `began`."""
    data = factories.admin_form_data(client.get(change_url(holding)))
    row = int(data["holdingparcel_set-TOTAL_FORMS"])
    data["holdingparcel_set-TOTAL_FORMS"] = str(row + 1)
    data[f"holdingparcel_set-{row}-holding"] = str(holding.pk)
    data[f"holdingparcel_set-{row}-parcel"] = str(parcel.pk)
    data[f"holdingparcel_set-{row}-began_on"] = str(began)
    return data


def membership_row(data: dict, parcel) -> str:
    (key,) = [k for k, v in data.items() if k.startswith("holdingparcel_set-")
              and k.endswith("-parcel") and v == str(parcel.pk)]  # fmt: skip
    return key.removesuffix("-parcel")


def non_form_errors(response) -> list[str]:
    [formset] = [
        inline.formset for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is HoldingParcel
    ]  # fmt: skip
    return list(formset.non_form_errors())


# --- (4) a parcel joining an available holding is listed publicly, and staff are told ------------


@pytest.fixture
def lynch_st():
    lots = [factories.parcel(apn="165-124-007", address="1412 Lynch St")]
    return factories.holding(name="Lots at 1412-1418 Lynch St", parcels=lots, available=True,
                             acquired_on=dt.date(2025, 1, 1))  # fmt: skip


def test_a_parcel_joining_an_available_holding_is_said_to_be_listed_publicly(editor, lynch_st):
    lot = factories.parcel(apn="165-124-009", address="1422 Lynch St")
    today = timezone.localdate()
    response = editor.post(change_url(lynch_st), with_new_row(editor, lynch_st, lot, today))
    assert response.status_code == 302, response.context and response.context["errors"]
    assert "1422 Lynch St is now listed publicly as available." in said(response)
    assert "1412 Lynch St" not in " ".join(said(response))  # listed before: nothing new


def test_a_parcel_joining_later_is_said_to_be_listed_from_that_day(editor, lynch_st):
    lot = factories.parcel(apn="165-124-009", address="1422 Lynch St")
    later = timezone.localdate() + dt.timedelta(days=30)
    response = editor.post(change_url(lynch_st), with_new_row(editor, lynch_st, lot, later))
    assert response.status_code == 302, response.context and response.context["errors"]
    assert f"1422 Lynch St will be listed publicly as available from {later}." in said(response)


def test_a_parcel_joining_a_holding_not_available_is_not_said_to_be_listed(editor):
    holding = factories.holding(parcels=[factories.parcel()], available=False)
    lot = factories.parcel(address="1422 Lynch St")
    data = with_new_row(editor, holding, lot, timezone.localdate())
    response = editor.post(change_url(holding), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert not [line for line in said(response) if "listed publicly" in line]


def test_a_new_available_holding_names_each_parcel_it_lists(editor):
    lots = [factories.parcel(address="1603 Ewing St"), factories.parcel(address="1605 Ewing St")]
    today = str(timezone.localdate())
    data = {
        "name": "Ewing St co-op", "current_use": "coop_housing", "acquired_via": "city_transfer",
        "acquired_on": today, "price": "0", "available": "on",
        "holdingparcel_set-TOTAL_FORMS": "2", "holdingparcel_set-INITIAL_FORMS": "0",
        "improvements-TOTAL_FORMS": "0", "improvements-INITIAL_FORMS": "0",
        "sources-TOTAL_FORMS": "0", "sources-INITIAL_FORMS": "0",
    }  # fmt: skip
    for i, lot in enumerate(lots):
        data[f"holdingparcel_set-{i}-parcel"] = str(lot.pk)
        data[f"holdingparcel_set-{i}-began_on"] = today
    response = editor.post(reverse("admin:parcels_holding_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert (
        "1603 Ewing St and 1605 Ewing St are now listed publicly as available." in said(response)
    )


# --- (6) a holding the trust still has keeps a parcel -------------------------------------------


def test_ending_the_only_parcels_row_while_the_holding_goes_on_is_refused(editor):
    lot = factories.parcel(apn="165-137-004")
    holding = factories.holding(parcels=[lot], acquired_on=dt.date(2026, 11, 24))
    data = factories.admin_form_data(editor.get(change_url(holding)))
    data[f"{membership_row(data, lot)}-ended_on"] = "2026-11-24"

    response = editor.post(change_url(holding), data)

    assert response.status_code == 200
    assert non_form_errors(response) == [
        "Every parcel of this holding has left it on or before 2026-11-24: end the holding too "
        "(Ended on), or keep a parcel in it."
    ]
    assert HoldingParcel.objects.get(parcel=lot).ended_on is None


def test_ending_the_holding_with_its_last_parcel_is_saved(editor):
    lot = factories.parcel()
    holding = factories.holding(parcels=[lot], acquired_on=dt.date(2026, 11, 24))
    data = factories.admin_form_data(editor.get(change_url(holding)))
    data[f"{membership_row(data, lot)}-ended_on"] = "2026-11-24"
    data["ended_on"] = "2026-11-24"
    response = editor.post(change_url(holding), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert Holding.objects.get().ended_on == dt.date(2026, 11, 24)


def test_a_holding_may_lose_some_parcels_and_keep_others(editor):
    kept, split_off = factories.parcel(), factories.parcel()
    holding = factories.holding(parcels=[kept, split_off])
    data = factories.admin_form_data(editor.get(change_url(holding)))
    data[f"{membership_row(data, split_off)}-ended_on"] = "2024-06-30"
    assert editor.post(change_url(holding), data).status_code == 302


def test_a_holding_ending_after_its_last_parcel_left_is_refused_naming_that_day(editor):
    lots = [factories.parcel(), factories.parcel()]
    holding = factories.holding(parcels=lots, acquired_on=dt.date(2017, 3, 1))
    data = factories.admin_form_data(editor.get(change_url(holding)))
    data[f"{membership_row(data, lots[0])}-ended_on"] = "2020-01-01"
    data[f"{membership_row(data, lots[1])}-ended_on"] = "2021-06-30"
    data["ended_on"] = "2024-06-01"
    response = editor.post(change_url(holding), data)
    assert response.status_code == 200
    assert non_form_errors(response) == [
        "Every parcel of this holding has left it on or before 2021-06-30: end the holding too "
        "(Ended on), or keep a parcel in it."
    ]


# --- land bought under an easement the trust holds: the interests merge, and staff are told --


def test_a_parcel_joining_under_an_easement_the_trust_holds_is_said_to_merge_it(editor, lynch_st):
    meadow = factories.parcel(apn="166-156-001", address="1603 Florence Ave",
                              geom=factories.lot(-90.2100, 32.2990))  # fmt: skip
    easement = factories.easement(name="Florence Avenue pollinator meadow", geom=meadow.geom,
                                  began_on=dt.date(2023, 9, 1))  # fmt: skip
    today = timezone.localdate()

    response = editor.post(change_url(lynch_st), with_new_row(editor, lynch_st, meadow, today))

    assert response.status_code == 302, response.context and response.context["errors"]
    merged = [line for line in said(response) if "merges with the trust's ownership" in line]
    assert merged and "Florence Avenue pollinator meadow" in merged[0]
    page = editor.get(change_url(easement)).content.decode()
    assert "Yes: the trust now holds 166-156-001 under it" in page


def test_a_parcel_joining_beside_an_easement_is_not_said_to_merge_it(editor, lynch_st):
    factories.easement(geom=factories.lot(-90.2100, 32.2990))
    beside = factories.parcel(geom=factories.lot(-90.2100 + 0.0003, 32.2990))  # shares an edge
    data = with_new_row(editor, lynch_st, beside, timezone.localdate())

    response = editor.post(change_url(lynch_st), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert not [line for line in said(response) if "merges" in line]
