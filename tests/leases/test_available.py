"""A home that a lease takes leaves the public "available now" list: signing a lease (the
action or the admin's add page) and a resale closing clear `Holding.available`, and say so."""

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.messages import get_messages
from django.urls import reverse

from leases.actions import lease_create, resale_close, resale_record
from parcels.models import Holding
from tests import factories

pytestmark = pytest.mark.django_db

HoldingEvent = apps.get_model("parcels", "HoldingEvent")


def offered(name: str = "1419 Bell St") -> Holding:
    return factories.holding(parcels=[factories.parcel()], name=name, available=True)


def sign(holding: Holding, user=None, **fields):
    values = {
        "reference": f"GL-{holding.pk}",
        "holding": holding,
        "starts_on": dt.date(2026, 11, 2),
        "permitted_use": "residential",
        "fee_monthly": Decimal("25.00"),
        "purchase_price": Decimal("80000.00"),
        "purchase_date": dt.date(2026, 11, 2),
        "resale_formula": factories.FIXED_2PCT_SIMPLE,
    }
    return lease_create(lessees=[factories.party()], user=user, **{**values, **fields})


def test_signing_a_lease_takes_the_home_off_the_available_list_in_the_history():
    home = offered()
    staff = factories.user("ada", role="editor")

    sign(home, user=staff)

    home.refresh_from_db()
    assert home.available is False
    last = HoldingEvent.objects.filter(pgh_obj=home).select_related("pgh_context").last()
    assert (last.available, last.pgh_context.metadata["action"]) == (False, "lease_create")


def test_a_lease_entered_as_history_leaves_the_list_and_a_current_one_clears_it():
    then, now = offered("1307 Lamar St"), offered()

    sign(then, status="terminated", ended_on=dt.date(2020, 1, 1),
         starts_on=dt.date(2018, 1, 1), purchase_date=dt.date(2018, 1, 1))  # fmt: skip
    sign(now)

    assert list(Holding.objects.filter(available=True).values_list("name", flat=True)) == [
        "1307 Lamar St"
    ]


def test_a_resale_closing_takes_the_home_the_seller_was_marketing_off_the_list():
    lease = factories.lease(starts_on=dt.date(2021, 3, 1), purchase_date=dt.date(2021, 3, 1))
    home = lease.holding
    home.available = True  # offered to the next household while the seller still holds it
    home.save(update_fields=["available"])
    resale = resale_record(
        lease=lease, seller=lease.lessees.get(), buyer=factories.party(),
        contract_on=dt.date(2024, 8, 20), formula_price=Decimal("53000.00"),
        agreed_price=Decimal("50000.00"),
    )  # fmt: skip

    resale_close(resale=resale, closed_on=dt.date(2024, 9, 15))

    home.refresh_from_db()
    assert home.available is False


def lease_add_data(holding: Holding) -> dict:
    data = {
        "reference": "GL-2026-001",
        "holding": holding.pk,
        "parcels": [holding.parcels.get().pk],
        "lessees": [factories.party().pk],
        "status": "active",
        "permitted_use": "residential",
        "starts_on": "2026-02-01",
        "term_years": "99",
        "renewal_term_years": "99",
        "fee_monthly": "25.00",
        "arrears": "0",
        "occupancy_months_per_year": "10",
        "transfer_on_death": "heirs_may_assume",
        "purchase_price": "180000.00",
        "purchase_date": "2026-02-01",
        "resale_formula": '{"type": "fixed_rate", "method": "compound", "rate": "0.015"}',
    }
    for prefix in ("fee_changes", "monitoring", "appraisals", "improvements", "repairs",
                   "resales", "sources"):  # fmt: skip
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    return data


def test_a_lease_added_in_the_admin_unlists_its_home_and_tells_staff(editor):
    home = offered()

    response = editor.post(
        reverse("admin:leases_groundlease_add"), lease_add_data(home), follow=True
    )

    assert response.status_code == 200
    home.refresh_from_db()
    assert home.available is False
    said = [str(message) for message in get_messages(response.wsgi_request)]
    assert "1419 Bell St is no longer listed as available." in said
