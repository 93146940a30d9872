"""Values the registry refuses, each on its field and in plain words (not a constraint's name)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from leases.models import CapitalImprovement, GroundLease, MonitoringEvent, Resale
from parcels.models import Holding
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db


def refusal(record) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        record.full_clean()
    return refused.value.message_dict


@pytest.mark.parametrize("pct", [Decimal("-1"), Decimal("1000.1")])
def test_a_buyers_income_outside_0_to_1000_percent_of_ami_is_refused(pct):
    resale = factories.registry()["resale"]
    resale.buyer_income_pct_ami = pct
    assert list(refusal(resale)) == ["buyer_income_pct_ami"]


def test_a_household_of_no_one_is_refused():
    household = factories.party(household_size=0)
    assert refusal(household) == {
        "household_size": ["Ensure this value is greater than or equal to 1."]
    }


def test_a_monitoring_event_resolved_before_it_happened_is_refused_on_its_date():
    event = MonitoringEvent(
        lease=factories.lease(), type="inspection", on=dt.date(2024, 6, 3),
        status="resolved", resolved_on=dt.date(2024, 6, 1),
    )  # fmt: skip
    assert refusal(event) == {"resolved_on": ["2024-06-01 is before the event, on 2024-06-03."]}


def test_the_database_refuses_a_monitoring_event_resolved_before_it_happened():
    event = MonitoringEvent.objects.create(
        lease=factories.lease(), type="inspection", on=dt.date(2024, 6, 3)
    )
    refused = pytest.raises(IntegrityError, match="event_resolved_after_it_opens")
    with refused, transaction.atomic():
        MonitoringEvent.objects.filter(pk=event.pk).update(resolved_on=dt.date(2024, 6, 1))


def test_an_improvement_completed_before_its_approval_is_refused_on_its_completion_date():
    improvement = CapitalImprovement(
        lease=factories.lease(), description="Heat pump", approved_on=dt.date(2022, 3, 10),
        completed_on=dt.date(2022, 3, 1), cost=Decimal("7800"), credit=Decimal("7800"),
    )  # fmt: skip
    assert list(refusal(improvement)) == ["completed_on"]


def test_a_lease_ending_before_it_starts_is_refused_on_its_end_date_in_plain_words():
    lease = factories.lease(status="terminated", ended_on=dt.date(2024, 1, 1))
    lease.ended_on = dt.date(2010, 1, 1)
    errors = refusal(lease)
    assert errors["ended_on"] == [
        "The lease cannot end on 2010-01-01, before it starts on 2017-06-01."
    ]
    assert "Constraint" not in str(errors)


def test_a_holding_ending_before_it_was_acquired_is_refused_on_its_end_date():
    holding = factories.holding(acquired_on=dt.date(2017, 3, 1))
    holding.ended_on = dt.date(2016, 1, 1)
    assert refusal(holding) == {
        "ended_on": ["2016-01-01 is before the holding was acquired, on 2017-03-01."]
    }


def test_every_date_order_constraint_has_a_plain_message_and_a_code():
    for model, name in [
        (GroundLease, "lease_ends_after_it_starts"),
        (Holding, "holding_ends_after_it_begins"),
        (MonitoringEvent, "event_resolved_after_it_opens"),
        (Resale, "resale_within_formula_price"),
    ]:
        [constraint] = [c for c in model._meta.constraints if c.name == name]
        assert "Constraint" not in constraint.get_violation_error_message()
        assert constraint.violation_error_code


def test_the_holding_page_shows_an_end_before_acquisition_on_the_field(client):
    client.force_login(factories.user("edna", role="editor"))
    holding = factories.holding(acquired_on=dt.date(2017, 3, 1))
    data = factories.admin_form_data(client.get(change_url(holding)))
    data["ended_on"] = "2016-01-01"

    response = client.post(change_url(holding), data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {
        "ended_on": ["2016-01-01 is before the holding was acquired, on 2017-03-01."]
    }
