"""A lease is on its holding's land, and only while the trust holds it (QA: lease administrator,
finding 2): the add page signs a lease left without parcels on the parcels its holding holds
now, as `lease_create` does, and no lease may run past the day its holding ended."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from leases.actions import lease_create
from leases.models import GroundLease
from parcels.models import HoldingParcel
from tests import factories
from tests.adminpages import change_url
from tests.leases.test_admin import new_lease_data

pytestmark = pytest.mark.django_db

ADD = reverse("admin:leases_groundlease_add")


def test_a_lease_added_with_parcels_left_empty_is_on_the_parcels_its_holding_holds_now(editor):
    data = new_lease_data(parcels=[])
    held = factories.holding(parcels=[factories.parcel(apn="164-201-001")])
    given_up = factories.parcel(apn="164-201-002")
    HoldingParcel.objects.create(
        holding=held, parcel=given_up, began_on=held.acquired_on, ended_on=dt.date(2020, 1, 1)
    )
    data["holding"] = held.pk

    response = editor.post(ADD, data, follow=True)

    lease = GroundLease.objects.get(reference="GL-2026-001")
    assert [parcel.apn for parcel in lease.parcels.all()] == ["164-201-001"]
    said = [str(message) for message in response.context["messages"]]
    assert (
        f"Parcels were left empty, so lease GL-2026-001 is on the parcels {held} holds now: "
        "164-201-001 (as a lease signed with `lease_create`). If it is on fewer, correct its "
        "parcels."
    ) in said


def test_a_lease_added_on_a_holding_that_holds_no_parcel_now_is_refused(editor):
    held = factories.holding(name="Lot at 1307 Lamar St")
    data = new_lease_data(parcels=[], holding=str(held.pk))

    response = editor.post(ADD, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parcels"] == [
        "Lot at 1307 Lamar St holds no parcel now, so a lease on it would be on no land: add "
        "the holding's parcels on its page first, or choose another holding."
    ]
    assert not GroundLease.objects.filter(reference="GL-2026-001").exists()


def test_emptying_a_signed_leases_parcels_is_refused(editor):
    lease = factories.lease()
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["parcels"] = []

    response = editor.post(change_url(lease), data)

    assert response.status_code == 200
    assert "A lease is on at least one parcel" in str(
        response.context["adminform"].form.errors["parcels"]
    )
    assert lease.parcels.count() == 1


def test_a_99_year_lease_on_a_holding_the_trust_gave_up_is_refused_naming_the_fix(editor):
    held = factories.holding(
        name="Lot at 1307 Lamar St", parcels=[factories.parcel()], ended_on=dt.date(2026, 6, 1)
    )
    data = new_lease_data(
        holding=str(held.pk), parcels=[], starts_on="2026-05-01", purchase_date="2026-05-01"
    )

    response = editor.post(ADD, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["ended_on"] == [
        "The lease runs to 2125-05-01, the end of its 99-year term, past 2026-06-01, when the "
        "trust stopped holding Lot at 1307 Lamar St: give the lease an end date on or before "
        "2026-06-01 (and its status terminated or expired), or correct the holding's end date."
    ]
    assert not GroundLease.objects.filter(reference="GL-2026-001").exists()


def test_a_lease_ending_on_or_before_its_holdings_end_is_taken(editor):
    held = factories.holding(parcels=[factories.parcel()], ended_on=dt.date(2026, 6, 1))
    data = new_lease_data(
        holding=str(held.pk), starts_on="2026-05-01", purchase_date="2026-05-01",
        ended_on="2026-06-01", status="terminated", end_reason="the trust sold the lot",
    )  # fmt: skip
    data["parcels"] = [str(held.parcels.get().pk)]

    response = editor.post(ADD, data)

    assert response.status_code == 302, response.context and response.context["errors"]


def test_lease_create_refuses_a_lease_past_its_holdings_end_on_its_end_date():
    held = factories.holding(parcels=[factories.parcel()], ended_on=dt.date(2026, 6, 1))

    with pytest.raises(ValidationError) as refused:
        lease_create(
            lessees=[factories.party()], reference="GL-2026-102", holding=held,
            starts_on=dt.date(2026, 5, 1), ended_on=dt.date(2026, 7, 1), status="terminated",
            permitted_use="residential", fee_monthly=Decimal("25.00"),
            purchase_price=Decimal("1.00"), purchase_date=dt.date(2026, 5, 1),
            resale_formula={"type": "fixed_rate", "method": "simple", "rate": "0.02"},
        )  # fmt: skip

    assert refused.value.message_dict["ended_on"][0].startswith(
        "The lease ends on 2026-07-01, past 2026-06-01, when the trust stopped holding"
    )
    assert not GroundLease.objects.filter(reference="GL-2026-102").exists()
