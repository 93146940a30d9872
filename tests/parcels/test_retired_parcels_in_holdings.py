"""A parcel the county has retired joins no holding: its land is on record under the parcel that
replaced it, and holding both counted the same land twice (report, home page, trust-land layer)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from parcels.actions import holding_acquire
from parcels.models import Holding, HoldingParcel, ImportRun
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db

# Mid-morning in Jackson on the day of the county's import.
RETIRED_AT = dt.datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo(settings.TIME_ZONE))
ROSE_ST = factories.lot(-90.2100, 32.3000)


def county_import() -> ImportRun:
    return ImportRun.objects.create(
        jurisdiction="hinds-ms", source_file="county2027.geojson", source_sha256="0" * 64
    )


def renumbered_lot():
    """164-102-005, retired by a county import that names the same lot 164-102-905."""
    run = county_import()
    old = factories.parcel(
        apn="164-102-005", address="1022 Rose St", geom=ROSE_ST, retired_at=RETIRED_AT,
        import_run=run,
    )  # fmt: skip
    new = factories.parcel(apn="164-102-905", address="1022 Rose St", geom=ROSE_ST, import_run=run)
    return old, new


def holding_post(parcel, began: str = "2026-11-24", ended: str = "") -> dict:
    return {
        "name": "Retired parcel test",
        "current_use": "held_vacant",
        "acquired_via": "donation",
        "acquired_on": "2026-11-24",
        "price": "0",
        "holdingparcel_set-TOTAL_FORMS": "1",
        "holdingparcel_set-INITIAL_FORMS": "0",
        "holdingparcel_set-0-parcel": str(parcel.pk),
        "holdingparcel_set-0-began_on": began,
        "holdingparcel_set-0-ended_on": ended,
        "improvements-TOTAL_FORMS": "0",
        "improvements-INITIAL_FORMS": "0",
        "sources-TOTAL_FORMS": "0",
        "sources-INITIAL_FORMS": "0",
    }


def membership_errors(response) -> list[dict]:
    [formset] = [
        inline.formset for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is HoldingParcel
    ]  # fmt: skip
    return formset.errors


def test_a_retired_parcel_is_refused_naming_the_import_and_the_parcel_it_became(editor):
    old, _ = renumbered_lot()
    response = editor.post(reverse("admin:parcels_holding_add"), holding_post(old))
    assert response.status_code == 200
    assert membership_errors(response)[0]["parcel"] == [
        "164-102-005 was retired by the county import of 2026-11-24 (it looks renumbered as "
        "164-102-905): add the current parcel instead."
    ]
    assert not Holding.objects.exists()


def test_a_retired_parcel_with_no_successor_is_refused_saying_what_to_add(editor):
    gone = factories.parcel(apn="165-121-001", retired_at=RETIRED_AT, import_run=county_import())
    response = editor.post(reverse("admin:parcels_holding_add"), holding_post(gone))
    assert membership_errors(response)[0]["parcel"] == [
        "165-121-001 was retired by the county import of 2026-11-24: add the parcel the county's "
        "file has for this land now instead."
    ]


def test_the_parcel_it_became_is_accepted(editor):
    _, new = renumbered_lot()
    response = editor.post(reverse("admin:parcels_holding_add"), holding_post(new))
    assert response.status_code == 302, response.context and membership_errors(response)
    assert HoldingParcel.objects.get().parcel == new


def test_holding_acquire_refuses_a_retired_parcel_and_writes_nothing():
    old, _ = renumbered_lot()
    with pytest.raises(ValidationError) as refused:
        holding_acquire(
            name="Retired parcel test", parcels=[old], current_use="held_vacant",
            acquired_via="donation", acquired_on=dt.date(2026, 11, 24),
        )  # fmt: skip
    assert refused.value.message_dict == {"parcel": [
        "164-102-005 was retired by the county import of 2026-11-24 (it looks renumbered as "
        "164-102-905): add the current parcel instead."
    ]}  # fmt: skip
    assert not Holding.objects.exists()


def test_a_holding_whose_parcel_the_county_retired_later_is_still_saved(root):
    lot = factories.parcel(apn="164-102-004")
    holding = factories.holding(parcels=[lot], acquired_on=dt.date(2024, 5, 1))
    lot.retired_at = RETIRED_AT
    lot.save()
    data = factories.admin_form_data(root.get(change_url(holding)))
    data["notes"] = "The county renumbered 164-102-004: moving it to the new parcel."
    response = root.post(change_url(holding), data)
    assert response.status_code == 302, response.context and membership_errors(response)


def test_a_membership_that_ended_by_the_day_the_parcel_was_retired_may_be_recorded(editor):
    old, _ = renumbered_lot()
    data = holding_post(old, began="2026-11-24", ended="2026-11-24")
    data["ended_on"] = "2026-11-24"  # history: the trust held it, and no longer does
    response = editor.post(reverse("admin:parcels_holding_add"), data)
    assert response.status_code == 302, response.context and membership_errors(response)


def test_the_parcel_picker_marks_a_retired_parcel_with_its_date(editor):
    renumbered_lot()
    response = editor.get(
        "/admin/autocomplete/",
        {"term": "164-102", "app_label": "parcels", "model_name": "holdingparcel",
         "field_name": "parcel"},
    )  # fmt: skip
    assert [r["text"] for r in response.json()["results"]] == [
        "164-102-005 1022 Rose St (retired 2026-11-24)",
        "164-102-905 1022 Rose St",
    ]


@pytest.fixture
def root(client):
    client.force_login(factories.user("root", is_staff=True, is_superuser=True))
    return client
