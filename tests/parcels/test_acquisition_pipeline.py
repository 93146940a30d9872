"""The acquisition pipeline and the holdings it ends in: "acquired" names its holding, a parcel
joining a holding closes its open pipeline, and a parcel's page shows both and leads to them."""

import datetime as dt
import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.contrib.messages import get_messages
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from pghistory.models import Events

from parcels.actions import holding_acquire
from parcels.models import AcquisitionEvent, Holding, HoldingParcel
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db


def pursued(apn: str, stage: str = "under_contract", **fields):
    """A lot the trust is after, its pipeline at `stage` since 2025-05-22."""
    lot = factories.parcel(apn=apn, **fields)
    AcquisitionEvent.objects.create(parcel=lot, stage="prospect", on=dt.date(2024, 9, 22))
    reason = "Buried fuel tank" if stage == "dropped" else ""
    AcquisitionEvent.objects.create(parcel=lot, stage=stage, on=dt.date(2025, 5, 22), reason=reason)
    return lot


def steps(lot) -> list[tuple[str, dt.date, str | None]]:
    rows = AcquisitionEvent.objects.filter(parcel=lot).order_by("on", "id")
    return list(rows.values_list("stage", "on", "holding__name"))


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def holding_post(*rows, **fields) -> dict:
    """The add-holding POST body, one parcel row per (parcel, began_on, ended_on)."""
    data = {
        "name": "Lot at 1412 Lamar St",
        "current_use": "held_vacant",
        "acquired_via": "purchase",
        "acquired_on": "2026-11-21",
        "price": "5500",
        "holdingparcel_set-TOTAL_FORMS": str(len(rows)),
        "holdingparcel_set-INITIAL_FORMS": "0",
        "improvements-TOTAL_FORMS": "0",
        "improvements-INITIAL_FORMS": "0",
        "sources-TOTAL_FORMS": "0",
        "sources-INITIAL_FORMS": "0",
        **fields,
    }
    for i, (parcel, began, ended) in enumerate(rows):
        data[f"holdingparcel_set-{i}-parcel"] = str(parcel.pk)
        data[f"holdingparcel_set-{i}-began_on"] = began
        data[f"holdingparcel_set-{i}-ended_on"] = ended
    return data


def membership_row(data: dict, parcel) -> str:
    (key,) = [k for k, v in data.items() if k.startswith("holdingparcel_set-")
              and k.endswith("-parcel") and v == str(parcel.pk)]  # fmt: skip
    return key.removesuffix("-parcel")


# --- a step names itself, and "acquired" names its holding --------------------------------------


def test_a_step_is_named_by_its_parcel_stage_and_date():
    lot = pursued("165-124-009")
    names = [str(step) for step in AcquisitionEvent.objects.filter(parcel=lot).order_by("on")]
    assert names == [
        "165-124-009: prospect on 2024-09-22", "165-124-009: under contract on 2025-05-22"
    ]


def test_an_acquired_step_without_a_holding_is_refused_in_the_admin(editor):
    lot = factories.parcel(apn="165-126-008")
    response = editor.post(
        reverse("admin:parcels_acquisitionevent_add"),
        {"parcel": str(lot.pk), "stage": "acquired", "on": "2026-11-24", "reason": ""},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["holding"] == [
        "An acquired parcel is in a holding: choose the holding 165-126-008 joined, or add the "
        "holding with 165-126-008 in it (Holdings, Add), which records this step itself."
    ]
    assert not AcquisitionEvent.objects.exists()


def test_the_database_refuses_an_acquired_step_without_a_holding():
    lot = factories.parcel()
    refused = pytest.raises(IntegrityError, match="acquired_names_its_holding")
    with refused, transaction.atomic():
        AcquisitionEvent.objects.create(parcel=lot, stage="acquired", on=dt.date(2026, 11, 24))


def test_the_admin_message_names_the_step_it_added(editor):
    lot = factories.parcel(apn="165-134-009")
    response = editor.post(
        reverse("admin:parcels_acquisitionevent_add"),
        {"parcel": str(lot.pk), "stage": "offer", "on": "2026-11-02", "reason": "Offered $5,000"},
    )
    assert response.status_code == 302
    assert "165-134-009: offer made on 2026-11-02" in said(response)[0]


# --- a parcel joining a holding closes its open pipeline ----------------------------------------


def test_a_new_holding_records_the_acquired_step_of_a_parcel_under_contract(editor):
    lot = pursued("165-134-009")
    data = holding_post((lot, "2026-11-21", ""))
    response = editor.post(reverse("admin:parcels_holding_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert steps(lot)[-1] == ("acquired", dt.date(2026, 11, 21), "Lot at 1412 Lamar St")
    assert "Recorded in the acquisition pipeline: 165-134-009 acquired on 2026-11-21." in (
        said(response)
    )
    step = AcquisitionEvent.objects.get(parcel=lot, stage="acquired")
    [event] = Events.objects.tracks(step)
    assert event.pgh_context["action"] == "admin_holding_add"


def test_a_parcel_added_to_an_existing_holding_gets_its_acquired_step_on_the_day_it_joined(editor):
    held = factories.parcel(apn="165-124-007")
    holding = factories.holding(name="Lots at 1412-1418 Lynch St", parcels=[held],
                                acquired_on=dt.date(2025, 1, 1))  # fmt: skip
    lot = pursued("165-124-009")
    data = factories.admin_form_data(editor.get(change_url(holding)))
    data.update({
        "holdingparcel_set-TOTAL_FORMS": "2",
        "holdingparcel_set-1-holding": str(holding.pk),
        "holdingparcel_set-1-parcel": str(lot.pk),
        "holdingparcel_set-1-began_on": "2026-11-23",
    })  # fmt: skip
    response = editor.post(change_url(holding), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert steps(lot)[-1] == ("acquired", dt.date(2026, 11, 23), "Lots at 1412-1418 Lynch St")
    assert steps(held) == []  # never pursued: nothing to close


def test_a_dropped_pipeline_is_left_as_it_is(editor):
    lot = pursued("165-143-008", stage="dropped")
    editor.post(reverse("admin:parcels_holding_add"), holding_post((lot, "2026-11-21", "")))
    assert [stage for stage, _, _ in steps(lot)] == ["prospect", "dropped"]


def test_a_membership_entered_as_history_before_the_latest_step_leaves_the_pipeline_open(editor):
    lot = pursued("165-134-010")
    data = holding_post((lot, "2019-01-01", "2020-01-01"), acquired_on="2019-01-01",
                        ended_on="2020-01-01")  # fmt: skip
    assert editor.post(reverse("admin:parcels_holding_add"), data).status_code == 302
    assert [stage for stage, _, _ in steps(lot)] == ["prospect", "under_contract"]


def test_holding_acquire_records_the_acquired_step_too():
    lot = pursued("165-121-001")
    holding = holding_acquire(
        name="Lot at 1105 W Capitol St", parcels=[lot], current_use="held_vacant",
        acquired_via="tax_forfeit_patent", acquired_on=dt.date(2026, 11, 20),
    )  # fmt: skip
    assert steps(lot)[-1] == ("acquired", dt.date(2026, 11, 20), holding.name)
    step = AcquisitionEvent.objects.get(parcel=lot, stage="acquired")
    assert Events.objects.tracks(step).get().pgh_context["action"] == "holding_acquire"


def test_correcting_a_mistyped_parcel_moves_the_acquired_step_to_the_right_one(editor):
    wrong, right = pursued("165-146-006"), pursued("165-146-011")
    editor.post(reverse("admin:parcels_holding_add"), holding_post((wrong, "2026-11-21", "")))
    holding = Holding.objects.get()
    data = factories.admin_form_data(editor.get(change_url(holding)))
    data[f"{membership_row(data, wrong)}-parcel"] = str(right.pk)

    response = editor.post(change_url(holding), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert [stage for stage, _, _ in steps(wrong)] == ["prospect", "under_contract"]
    assert steps(right)[-1] == ("acquired", dt.date(2026, 11, 21), "Lot at 1412 Lamar St")
    assert (
        "165-146-006 is no longer in Lot at 1412 Lamar St: its acquisition pipeline no longer "
        "says acquired on 2026-11-21 (it stands at under contract on 2025-05-22)."
    ) in said(response)


# --- the parcel's page: its holdings, its stage, and the way to acquire it -----------------------


def test_a_parcels_page_shows_its_holdings_with_links_and_its_latest_stage(editor):
    lot = pursued("165-124-009")
    holding = factories.holding(name="Lots at 1412-1418 Lynch St", parcels=[lot],
                                acquired_on=dt.date(2025, 1, 1))  # fmt: skip
    HoldingParcel.objects.filter(parcel=lot).update(ended_on=dt.date(2025, 3, 1))

    page = editor.get(change_url(lot)).content.decode()

    panel = page[page.index('id="clt-trust-land"') :]
    panel = panel[: panel.index("</fieldset>")]
    assert (
        f'<a href="{change_url(holding)}">Lots at 1412-1418 Lynch St</a>, from 2025-01-01 to '
        "2025-03-01"
    ) in panel
    assert "Under contract on 2025-05-22" in panel
    steps_url = f"{reverse('admin:parcels_acquisitionevent_changelist')}?parcel__id__exact={lot.pk}"
    assert f'<a href="{steps_url}">every step</a>' in panel
    acquire_url = f"{reverse('admin:parcels_holding_add')}?parcel={lot.pk}"
    assert f'<a href="{acquire_url}">Record its acquisition</a>' in panel


def test_a_parcel_held_now_offers_no_new_acquisition(editor):
    lot = factories.parcel()
    factories.holding(parcels=[lot])
    page = editor.get(change_url(lot)).content.decode()
    assert "Record its acquisition" not in page
    assert "Never pursued." in page


def test_a_reader_is_shown_the_panel_without_the_links_to_record(reader):
    lot = pursued("165-124-009")
    page = reader.get(change_url(lot)).content.decode()
    assert 'id="clt-trust-land"' in page and "In no holding" in page
    assert "Record its acquisition" not in page and "Record a step" not in page


def test_the_add_holding_page_opened_for_a_parcel_has_it_in_its_first_row(editor):
    lot = pursued("165-134-009")
    response = editor.get(reverse("admin:parcels_holding_add"), {"parcel": lot.pk})
    [formset] = [inline.formset for inline in response.context["inline_admin_formsets"]
                 if inline.formset.model is HoldingParcel]  # fmt: skip
    assert [form["parcel"].value() for form in formset.forms] == [lot.pk]
    assert f'<option value="{lot.pk}" selected>{lot}</option>' in response.content.decode()


def test_the_add_holding_page_ignores_a_parcel_id_that_is_no_parcel(editor):
    response = editor.get(reverse("admin:parcels_holding_add"), {"parcel": "abc"})
    assert response.status_code == 200
    [formset] = [inline.formset for inline in response.context["inline_admin_formsets"]
                 if inline.formset.model is HoldingParcel]  # fmt: skip
    assert formset.forms == []


# --- migration 0015: "acquired" steps recorded before it -----------------------------------------

MIGRATION = importlib.import_module("parcels.migrations.0015_acquired_names_its_holding")
CHECK = "acquired_names_its_holding"


def migrated_again(*steps_before) -> None:
    """Migration 0015's data step run on steps saved as the registry could before it, then its
    constraint added again (PostgreSQL alters no table with foreign-key checks pending)."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE parcels_acquisitionevent DROP CONSTRAINT {CHECK}")
    for lot, on in steps_before:
        AcquisitionEvent.objects.create(parcel=lot, stage="acquired", on=on)
    with connection.schema_editor() as editor:
        MIGRATION.link_acquired_steps_to_their_holding(django_apps, editor)
        editor.execute(
            f"ALTER TABLE parcels_acquisitionevent ADD CONSTRAINT {CHECK} "
            "CHECK (NOT stage = 'acquired' OR holding_id IS NOT NULL)"
        )


def test_the_migration_links_an_earlier_acquired_step_to_the_holding_its_parcel_joined():
    lot = factories.parcel(apn="165-134-009")
    holding = factories.holding(parcels=[lot], acquired_on=dt.date(2026, 11, 21))
    migrated_again((lot, dt.date(2026, 11, 24)))
    assert steps(lot) == [("acquired", dt.date(2026, 11, 24), holding.name)]


def test_the_migration_stops_naming_an_acquired_step_whose_parcel_is_in_no_holding():
    lot = factories.parcel(apn="165-126-008")
    with pytest.raises(RuntimeError) as stopped, transaction.atomic():
        migrated_again((lot, dt.date(2026, 11, 24)))
    assert re.fullmatch(
        r"1 acquisition step\(s\) say acquired, but the parcel is in no holding: 165-126-008 "
        r"\(acquired on 2026-11-24, step \d+\)\. In the admin, add the holding with the parcel "
        r"\(Holdings, Add\) or change the step's stage, then run `clt migrate` again\.",
        str(stopped.value),
    )
    assert not AcquisitionEvent.objects.exists()  # the migration's transaction wrote nothing
