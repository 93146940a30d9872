"""A monitoring event's status and resolution date agree, and a party's members' shares add up
to at most the whole: each refused on the staff admin's form, in plain words."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from leases.models import MonitoringEvent, PartyMember
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db


def event_data(lease, **fields) -> dict[str, str]:
    values = {"lease": lease.pk, "type": "late_fee_payment", "on": "2026-09-05", "notes": ""}
    return {key: str(value) for key, value in {**values, **fields}.items()}


@pytest.mark.parametrize("status, label", [("open", "open"), ("in_progress", "in progress")])
def test_an_unresolved_event_with_a_resolution_date_is_refused_on_its_status(
    editor, status, label
):
    response = editor.post(
        reverse("admin:leases_monitoringevent_add"),
        event_data(factories.lease(), status=status, resolved_on="2026-09-20"),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "status": [
            f"The event was resolved on 2026-09-20, so it cannot be {label}: set the status "
            "to resolved, or clear the resolution date."
        ]
    }
    assert not MonitoringEvent.objects.exists()


def test_a_resolved_event_with_its_date_is_saved(editor):
    response = editor.post(
        reverse("admin:leases_monitoringevent_add"),
        event_data(factories.lease(), status="resolved", resolved_on="2026-09-20"),
    )
    assert response.status_code == 302
    assert MonitoringEvent.objects.get().resolved_on == dt.date(2026, 9, 20)


def with_members(editor, party, *shares: str) -> dict:
    """The party page's POST body with one new member per share."""
    data = factories.admin_form_data(editor.get(change_url(party)))
    data["members-TOTAL_FORMS"] = str(len(shares))
    for i, share in enumerate(shares):
        data[f"members-{i}-name"] = f"Member {i + 1}"
        data[f"members-{i}-share"] = share
    return data


def test_members_shares_adding_up_to_more_than_one_are_refused(editor):
    party = factories.party()

    response = editor.post(change_url(party), with_members(editor, party, "1", "0.5"))

    assert response.status_code == 200
    [formset] = [each.formset for each in response.context["inline_admin_formsets"]]
    assert formset.non_form_errors() == [
        "The members' shares add up to 1.5: each is a fraction of the party's interest, so "
        "together they are at most 1 (two equal members hold 0.5 each). Correct the shares."
    ]
    assert not PartyMember.objects.exists()


def test_members_shares_adding_up_to_one_are_saved(editor):
    party = factories.party()

    response = editor.post(change_url(party), with_members(editor, party, "0.5", "0.5"))

    assert response.status_code == 302
    assert sorted(party.members.values_list("share", flat=True)) == [
        Decimal("0.5000"), Decimal("0.5000"),
    ]  # fmt: skip
