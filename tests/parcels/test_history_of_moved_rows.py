"""A record's history on its admin pages follows a row moved away from it (a membership's mistyped
parcel corrected), and names the records a foreign key points at by their labels, not ids."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcels.admin import history_of
from parcels.models import AcquisitionEvent, HoldingParcel
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def corrected(editor):
    """"Lot at 1620 Florence Ave" recorded on 165-146-006 by mistake, then corrected in the
    admin to 165-146-011: (wrong parcel, right parcel, holding)."""
    wrong = factories.parcel(apn="165-146-006", address="1618 Florence Ave")
    right = factories.parcel(apn="165-146-011", address="1620 Florence Ave")
    holding = factories.holding(name="Lot at 1620 Florence Ave", parcels=[wrong])
    data = factories.admin_form_data(editor.get(change_url(holding)))
    [row] = [k for k, v in data.items() if k.endswith("-parcel") and v == str(wrong.pk)]
    data[row] = str(right.pk)
    response = editor.post(change_url(holding), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    return wrong, right, holding


def changes(entries) -> list[tuple[str, str, str, str]]:
    return [(e.label, c.field, c.old, c.new) for e in entries for c in e.changes]


def test_the_wrong_parcels_history_shows_its_row_moving_away(corrected):
    wrong, _, _ = corrected
    entries = history_of(wrong)
    membership = HoldingParcel.objects.get()
    # A test is one transaction, so its events share one time: compared in any order.
    assert sorted((e.label, e.action, e.what) for e in entries) == [
        ("insert", "", f"holding parcel {membership.pk}: In the holding from 2017-03-01"),
        ("insert", "", f"parcel {wrong.pk}: 165-146-006 1618 Florence Ave"),
        ("update", "admin_holding_change", f"holding parcel {membership.pk}"),
    ]
    assert changes(entries) == [("update", "parcel", "165-146-006", "165-146-011")]


def test_the_move_reads_by_apn_on_the_wrong_parcels_page(editor, corrected):
    wrong, _, _ = corrected
    page = editor.get(change_url(wrong)).content.decode()
    history = page[page.index('id="clt-history"') :]
    assert "<strong>parcel</strong>: 165-146-006 → 165-146-011" in history
    assert "parcel_id" not in history


def test_the_right_parcel_and_the_holding_show_the_move_once_by_apn(corrected):
    _, right, holding = corrected
    for record in (right, holding):
        assert changes(history_of(record)) == [("update", "parcel", "165-146-006", "165-146-011")]


def test_a_holding_named_by_a_changed_foreign_key_reads_by_its_name(root):
    lot = factories.parcel()
    first = factories.holding(name="Ewing Street North Garden", parcels=[lot])
    second = factories.holding(name="Ewing Street South Garden", parcels=[factories.parcel()])
    HoldingParcel.objects.create(holding=second, parcel=lot, began_on=dt.date(2026, 1, 1),
                                 ended_on=dt.date(2026, 2, 1))  # fmt: skip
    step = AcquisitionEvent.objects.create(parcel=lot, stage="acquired", on=dt.date(2017, 3, 1),
                                           holding=first)  # fmt: skip
    data = factories.admin_form_data(root.get(change_url(step)))
    data["holding"] = str(second.pk)
    assert root.post(change_url(step), data).status_code == 302

    assert changes(history_of(step)) == [
        ("update", "holding", "Ewing Street North Garden", "Ewing Street South Garden")
    ]


def test_labels_cost_a_query_per_kind_of_record_not_per_change(editor):
    """Each history line's parcel and holding are looked up together for the whole page."""
    lots = [factories.parcel() for _ in range(4)]
    holding = factories.holding(parcels=lots[:1])
    membership = HoldingParcel.objects.get()

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as page:
            assert editor.get(reverse("admin:parcels_holding_history", args=[holding.pk]))
        return len(page.captured_queries)

    membership.parcel = lots[1]
    membership.save()
    one_move = page_queries()
    for lot in lots[2:]:
        membership.parcel = lot
        membership.save()
    assert page_queries() == one_move


@pytest.fixture
def root(client):
    client.force_login(factories.user("root", is_staff=True, is_superuser=True))
    return client
