"""Fee changes, monitoring events and appraisals are dated within their lease (QA: lease
administrator, finding 4): a fee change five years before the start, an inspection years after
the termination, an appraisal "at resale" before the lease began were all taken."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from leases.actions import fee_change
from leases.models import Appraisal, LeaseFeeChange, MonitoringEvent
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def terminated():
    """A lease from 2020-11-02, terminated on 2026-11-15."""
    return factories.lease(
        reference="GL-2020-005", starts_on=dt.date(2020, 11, 2),
        purchase_date=dt.date(2020, 11, 2), status="terminated", ended_on=dt.date(2026, 11, 15),
    )  # fmt: skip


def refusal(row) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        row.full_clean()
    return refused.value.message_dict


# --- fee changes ------------------------------------------------------------------------------


def test_a_fee_change_before_the_lease_starts_is_refused_on_its_date(editor):
    lease = factories.lease(reference="GL-2025-017", starts_on=dt.date(2025, 12, 1))
    data = factories.admin_form_data(editor.get(change_url(lease)))
    total = int(data["fee_changes-TOTAL_FORMS"])
    data["fee_changes-TOTAL_FORMS"] = str(total + 1)
    data.update({
        f"fee_changes-{total}-effective_on": "2020-01-01",
        f"fee_changes-{total}-fee_monthly": "10.00",
        f"fee_changes-{total}-lease": str(lease.pk),
    })  # fmt: skip

    response = editor.post(change_url(lease), data)

    assert response.status_code == 200
    (row,) = [f for f in response.context["inline_admin_formsets"][0].formset if f.errors]
    assert row.errors["effective_on"] == [
        "2020-01-01 is before lease GL-2025-017 starts, on 2025-12-01: no fee is due before "
        "the lease. Give the lease's start or a later date (is the year mistyped?)."
    ]
    assert not lease.fee_changes.filter(effective_on=dt.date(2020, 1, 1)).exists()


def test_a_fee_change_after_the_lease_ended_is_refused(terminated):
    with pytest.raises(ValidationError) as refused:
        fee_change(lease=terminated, fee_monthly=Decimal("40"), effective_on=dt.date(2027, 3, 1),
                   reason="annual review")  # fmt: skip

    assert refused.value.message_dict["effective_on"] == [
        "2027-03-01 is after lease GL-2020-005 ended on 2026-11-15: no fee is due after the "
        "lease. Give a date within the lease (is the year mistyped?)."
    ]


def test_fee_changes_from_the_start_to_the_end_day_are_taken(terminated):
    for on in (dt.date(2020, 11, 2), dt.date(2026, 11, 15)):
        LeaseFeeChange(lease=terminated, effective_on=on, fee_monthly=Decimal("30")).full_clean()


# --- monitoring events ------------------------------------------------------------------------


def test_an_event_before_the_lease_starts_is_refused(terminated):
    event = MonitoringEvent(lease=terminated, type="inspection", on=dt.date(2019, 3, 1))

    assert refusal(event)["on"] == [
        "2019-03-01 is before lease GL-2020-005 starts, on 2020-11-02: an event on a lease "
        "happens during it. Correct the date (is the year mistyped?), or record the event on "
        "the lease it belongs to."
    ]


def test_an_inspection_years_after_the_termination_is_refused(terminated):
    event = MonitoringEvent(lease=terminated, type="inspection", on=dt.date(2030, 1, 1))

    assert refusal(event)["on"] == [
        "2030-01-01 is more than a year after lease GL-2020-005 ended on 2026-11-15: follow-up "
        "after a lease ends (an inspection, enforcement) is recorded on it for a year at most. "
        "Correct the date (is the year mistyped?), or record the event on the home's current "
        "lease."
    ]


def test_follow_up_within_a_year_of_the_termination_is_taken(terminated):
    for on in (dt.date(2026, 12, 1), dt.date(2027, 11, 15)):
        MonitoringEvent(lease=terminated, type="enforcement_violation", on=on).full_clean()


# --- appraisals -------------------------------------------------------------------------------


def test_an_appraisal_at_resale_before_the_lease_began_is_refused(terminated):
    appraisal = Appraisal(lease=terminated, on=dt.date(2010, 1, 1), value=90000, purpose="resale")

    assert refusal(appraisal)["on"] == [
        "An appraisal at resale on 2010-01-01 is before lease GL-2020-005 starts, on "
        "2020-11-02: it values the home under the lease. Correct the date (is the year "
        "mistyped?), or the purpose (the appraisal of the lessee's purchase is “At purchase”)."
    ]


def test_an_appraisal_at_purchase_up_to_12_months_before_the_start_is_taken(terminated):
    appraisal = Appraisal(lease=terminated, on=dt.date(2019, 11, 2), value=1, purpose="purchase")
    appraisal.full_clean()


def test_an_appraisal_at_purchase_more_than_12_months_before_the_start_is_refused(terminated):
    appraisal = Appraisal(lease=terminated, on=dt.date(2019, 11, 1), value=1, purpose="purchase")

    assert refusal(appraisal)["on"] == [
        "An appraisal at purchase on 2019-11-01 is more than 12 months before lease GL-2020-005 "
        "starts, on 2020-11-02: too old to value a purchase under it (the resale price takes "
        "one from 12 months before the purchase). Correct the date (is the year mistyped?)."
    ]


def test_an_appraisal_at_resale_after_the_termination_is_taken(terminated):
    """The trust's purchase option on a surrender is priced on an appraisal after the end."""
    Appraisal(lease=terminated, on=dt.date(2026, 11, 20), value=1, purpose="resale").full_clean()
