"""Writes to leases are named actions: one transaction each, tagged in the history with the
user and the action; bad values are refused naming the field, and nothing is saved."""

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils import timezone

from leases.actions import (
    fee_change,
    lease_create,
    lease_set_formula,
    lease_terminate,
    monitoring_record,
    monitoring_resolve,
    resale_close,
    resale_record,
)
from leases.models import GroundLease, LeaseFeeChange, MonitoringEvent, Resale
from tests import factories

pytestmark = pytest.mark.django_db

GroundLeaseEvent = apps.get_model("leases", "GroundLeaseEvent")
SIGNED = dt.date(2019, 6, 1)


@pytest.fixture
def staff():
    return factories.user("ada", role="editor")


def new_lease(staff=None, **fields) -> GroundLease:
    holding = factories.holding(parcels=[factories.parcel()])
    values = {
        "reference": "GL-2019-900",
        "holding": holding,
        "starts_on": SIGNED,
        "permitted_use": "residential",
        "fee_monthly": Decimal("25.00"),
        "purchase_price": Decimal("60000.00"),
        "purchase_date": SIGNED,
        "resale_formula": factories.FIXED_2PCT_SIMPLE,
    }
    return lease_create(lessees=[factories.party()], user=staff, **{**values, **fields})


def actions_of(lease: GroundLease) -> list[str]:
    events = GroundLeaseEvent.objects.filter(pgh_obj=lease).order_by("pgh_id")
    return [event.pgh_context.metadata["action"] for event in events.select_related("pgh_context")]


def test_lease_create_records_the_first_fee_and_who_signed(staff):
    lease = new_lease(staff)
    assert list(lease.fee_changes.values_list("effective_on", "fee_monthly", "reason")) == [
        (SIGNED, Decimal("25.00"), "fee at signing")
    ]
    assert list(lease.parcels.all()) == list(lease.holding.parcels.all())
    event = GroundLeaseEvent.objects.select_related("pgh_context").get(pgh_obj=lease)
    assert event.pgh_context.metadata == {"action": "lease_create", "user": staff.pk}


def test_fee_change_moves_the_fee_and_keeps_the_old_one(staff):
    lease = new_lease(staff)
    fee_change(
        lease=lease, fee_monthly=Decimal("0.00"), effective_on=dt.date(2020, 4, 1),
        reason="Suspended", user=staff,
    )  # fmt: skip
    lease.refresh_from_db()
    assert lease.fee_monthly == Decimal("0.00")
    assert lease.fee_changes.count() == 2
    assert actions_of(lease) == ["lease_create", "fee_change"]


def test_a_fee_change_dated_later_waits_for_its_date_to_become_the_fee(staff):
    lease = new_lease(staff)
    today = timezone.localdate()
    fee_change(
        lease=lease, fee_monthly=Decimal("40.00"), effective_on=today + dt.timedelta(days=30),
        reason="Annual review", user=staff,
    )  # fmt: skip
    lease.refresh_from_db()
    assert lease.fee_monthly == Decimal("25.00")
    assert lease.fee_in_force(today + dt.timedelta(days=30)) == Decimal("40.00")
    fee_change(
        lease=lease, fee_monthly=Decimal("30.00"), effective_on=today, reason="Hardship",
        user=staff,
    )  # fmt: skip
    lease.refresh_from_db()
    assert lease.fee_monthly == Decimal("30.00")


def test_lease_terminate_ends_the_lease_once(staff):
    lease = new_lease(staff)
    lease_terminate(lease=lease, on=dt.date(2024, 10, 31), reason="Surrendered", user=staff)
    lease.refresh_from_db()
    assert (lease.status, lease.ended_on, lease.end_reason) == (
        "terminated", dt.date(2024, 10, 31), "Surrendered",
    )  # fmt: skip
    with pytest.raises(ValidationError, match="has already ended"):
        lease_terminate(lease=lease, on=dt.date(2025, 1, 1), reason="again")
    assert actions_of(lease) == ["lease_create", "lease_terminate"]


def test_monitoring_is_opened_and_resolved_with_its_dates(staff):
    lease = new_lease(staff)
    event = monitoring_record(
        lease=lease, type="proof_of_insurance", on=dt.date(2026, 1, 15), notes="Asked", user=staff
    )
    assert event.status == "open"
    monitoring_resolve(event=event, on=dt.date(2026, 2, 2), notes="Received", user=staff)
    event.refresh_from_db()
    assert (event.status, event.resolved_on, event.notes) == (
        "resolved", dt.date(2026, 2, 2), "Asked\nReceived",
    )  # fmt: skip


def test_a_resale_is_recorded_between_two_parties(staff):
    lease = new_lease(staff)
    resale = resale_record(
        lease=lease, seller=lease.lessees.get(), buyer=factories.party(),
        contract_on=dt.date(2024, 8, 1), formula_price=Decimal("70000.00"),
        agreed_price=Decimal("69000.00"), appraised_value=Decimal("95000.00"), user=staff,
    )  # fmt: skip
    assert Resale.objects.get() == resale


def test_closing_a_resale_passes_the_lease_to_the_buyer_at_the_agreed_price(staff):
    lease = new_lease(staff)
    seller, buyer = lease.lessees.get(), factories.party()
    resale = resale_record(
        lease=lease, seller=seller, buyer=buyer, contract_on=dt.date(2024, 8, 1),
        formula_price=Decimal("70000.00"), agreed_price=Decimal("69000.00"), user=staff,
    )  # fmt: skip

    resale_close(resale=resale, closed_on=dt.date(2024, 9, 15), user=staff)

    lease.refresh_from_db()
    assert list(lease.lessees.all()) == [buyer]
    assert lease.purchase_price == Decimal("69000.00")
    assert lease.purchase_date == dt.date(2024, 9, 15)
    assert actions_of(lease)[-1] == "resale_close"
    seller_terms = GroundLeaseEvent.objects.filter(pgh_obj=lease).order_by("pgh_id").first()
    assert seller_terms.purchase_price == Decimal("60000.00")  # the chain of prices is kept


def test_a_resale_cannot_close_twice_or_before_its_contract(staff):
    lease = new_lease(staff)
    resale = resale_record(
        lease=lease, seller=lease.lessees.get(), buyer=factories.party(),
        contract_on=dt.date(2024, 8, 1), formula_price=Decimal("70000.00"),
        agreed_price=Decimal("69000.00"),
    )  # fmt: skip
    with pytest.raises(ValidationError, match="before the contract date"):
        resale_close(resale=resale, closed_on=dt.date(2024, 7, 1))
    resale_close(resale=resale, closed_on=dt.date(2024, 9, 1))
    with pytest.raises(ValidationError, match="closed on 2024-09-01"):
        resale_close(resale=resale, closed_on=dt.date(2024, 10, 1))


# --- bad values: the field is named, nothing is saved --------------------------------------------


def test_a_negative_fee_is_refused_and_nothing_is_saved():
    with pytest.raises(ValidationError) as error:
        new_lease(fee_monthly=Decimal("-25.00"))
    assert "fee_monthly" in error.value.message_dict
    assert not GroundLease.objects.exists()
    assert not LeaseFeeChange.objects.exists()


def test_a_formula_with_a_typo_d_key_is_refused_naming_it():
    formula = {"type": "fixed_rate", "method": "simple", "rat": "0.02"}
    with pytest.raises(ValidationError) as error:
        new_lease(resale_formula=formula)
    (message,) = error.value.message_dict["resale_formula"]
    assert message == "resale formula: rat: is not a key of fixed_rate; did you mean 'rate'?"
    assert not GroundLease.objects.exists()


def test_an_unknown_formula_type_is_refused():
    with pytest.raises(ValidationError, match="'shared_equity' is not a known formula type"):
        new_lease(resale_formula={"type": "shared_equity"})


def test_replacing_the_formula_checks_it_and_keeps_the_old_one_in_history(staff):
    lease = new_lease(staff)
    with pytest.raises(ValidationError, match="share_of"):
        lease_set_formula(lease=lease, formula={"type": "appraisal_share", "share": "0.25"})
    lease.refresh_from_db()
    assert lease.resale_formula == factories.FIXED_2PCT_SIMPLE
    appraisal = {"type": "appraisal_share", "share": "0.25", "share_of": "increase"}
    lease_set_formula(lease=lease, formula=appraisal, user=staff)
    formulas = GroundLeaseEvent.objects.filter(pgh_obj=lease).order_by("pgh_id")
    assert [e.resale_formula for e in formulas] == [factories.FIXED_2PCT_SIMPLE, appraisal]


def test_a_resale_above_its_formula_price_is_refused_and_not_saved(staff):
    lease = new_lease(staff)
    with pytest.raises(ValidationError, match="agreed price is above the formula price"):
        resale_record(
            lease=lease, seller=lease.lessees.get(), buyer=factories.party(),
            contract_on=dt.date(2024, 8, 1), formula_price=Decimal("70000.00"),
            agreed_price=Decimal("71000.00"),
        )  # fmt: skip
    assert not Resale.objects.exists()


def test_a_resolved_event_needs_its_date():
    lease = new_lease()
    event = monitoring_record(lease=lease, type="inspection", on=dt.date(2026, 5, 12))
    with pytest.raises(ValidationError):
        monitoring_resolve(event=event, on=None)
    assert MonitoringEvent.objects.get().status == "open"


def test_an_unknown_monitoring_type_is_refused_naming_the_field():
    lease = new_lease()
    with pytest.raises(ValidationError) as error:
        monitoring_record(lease=lease, type="lawn_too_long", on=dt.date(2026, 5, 12))
    assert "type" in error.value.message_dict
    assert not MonitoringEvent.objects.exists()


# --- a lease agrees with its holding, its dates and the holding's other leases ----------------


def test_lease_create_refuses_a_parcel_its_holding_does_not_hold_naming_the_apn(staff):
    stray = factories.parcel(apn="164-999-001")
    with pytest.raises(ValidationError) as refused:
        new_lease(staff, parcels=[stray])
    [message] = refused.value.message_dict["parcels"]
    assert message.startswith("Not parcels of Holding ") and message.endswith(" now: 164-999-001.")
    assert not GroundLease.objects.exists()


def test_lease_create_refuses_a_start_before_the_holding_was_acquired(staff):
    holding = factories.holding(parcels=[factories.parcel()], acquired_on=dt.date(2020, 1, 1))
    with pytest.raises(ValidationError) as refused:
        new_lease(staff, holding=holding)
    assert list(refused.value.message_dict) == ["starts_on"]
    assert "before the trust acquired" in refused.value.message_dict["starts_on"][0]


def test_lease_create_refuses_a_start_after_the_holding_ended(staff):
    holding = factories.holding(
        parcels=[factories.parcel()], acquired_on=dt.date(2010, 1, 1), ended_on=dt.date(2018, 1, 1)
    )
    with pytest.raises(ValidationError, match="after the trust stopped holding"):
        new_lease(staff, holding=holding)


def test_an_ended_lease_cannot_be_active(staff):
    with pytest.raises(ValidationError) as refused:
        new_lease(staff, ended_on=dt.date(2024, 1, 1))
    assert refused.value.message_dict["status"] == [
        "The lease ended on 2024-01-01, so it cannot be active: set the status to terminated "
        "or expired, or clear the end date."
    ]


def test_a_single_home_carries_one_active_lease_at_a_time(staff):
    first = new_lease(staff)
    with pytest.raises(ValidationError, match="GL-2019-900"):
        new_lease(staff, reference="GL-2019-901", holding=first.holding)


def test_a_coop_building_may_carry_a_lease_per_unit(staff):
    building = factories.holding(
        parcels=[factories.parcel()], current_use="coop_housing", acquired_on=dt.date(2018, 1, 1)
    )
    new_lease(staff, holding=building)
    new_lease(staff, reference="GL-2019-901", holding=building)
    assert building.leases.count() == 2


def test_a_lease_in_default_cannot_join_an_active_lease_on_a_single_home(staff):
    first = new_lease(staff)
    with pytest.raises(ValidationError) as refused:
        new_lease(staff, reference="GL-2019-901", holding=first.holding, status="in_default")
    assert refused.value.message_dict["starts_on"] == [
        f"{first.holding} is a single home, and lease GL-2019-900 (active, from 2019-06-01 to "
        "2118-06-01) covers part of the same time: give one of the two leases an end date "
        "before the other starts, or change this lease's start."
    ]


def test_a_terminated_lease_inside_an_active_leases_term_is_refused(staff):
    first = new_lease(staff)
    with pytest.raises(ValidationError, match="GL-2019-900"):
        new_lease(
            staff, reference="GL-2019-901", holding=first.holding, status="terminated",
            starts_on=dt.date(2025, 1, 1), purchase_date=dt.date(2025, 1, 1),
            ended_on=dt.date(2025, 6, 1),
        )  # fmt: skip


def test_an_active_lease_cannot_start_inside_an_ended_leases_period(staff):
    first = new_lease(staff, status="terminated", ended_on=dt.date(2024, 10, 31))
    with pytest.raises(ValidationError, match="GL-2019-900 \\(terminated, from 2019-06-01 to "
                                              "2024-10-31\\)"):  # fmt: skip
        new_lease(
            staff, reference="GL-2019-901", holding=first.holding,
            starts_on=dt.date(2024, 10, 1), purchase_date=dt.date(2024, 10, 1),
        )  # fmt: skip


def test_a_new_lease_may_start_on_the_day_the_last_one_ended(staff):
    first = new_lease(staff, status="terminated", ended_on=dt.date(2024, 10, 31))
    second = new_lease(
        staff, reference="GL-2019-901", holding=first.holding,
        starts_on=dt.date(2024, 10, 31), purchase_date=dt.date(2024, 10, 31),
    )  # fmt: skip
    assert first.holding.leases.count() == 2 and second.pk is not None
