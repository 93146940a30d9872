"""The dates a record may carry: a year beyond the calendar, or a typo of one, is a form error
saying the range, never a record stored that no page can read back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clt.dates import LATEST, check_registry_date
from tests import factories
from tests.adminpages import change_url, changelist_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry():
    return factories.registry()


@pytest.fixture
def admin_client(client):
    client.force_login(factories.user("root", is_staff=True, is_superuser=True))
    return client


def test_the_last_evening_of_the_range_is_kept_and_a_day_after_is_not():
    check_registry_date(LATEST)
    late = timezone.make_aware(dt.datetime(2199, 12, 31, 23, 59))  # 2200 in UTC: still the 31st
    check_registry_date(late)
    for beyond in (dt.date(2200, 1, 1), dt.date(1799, 12, 31), dt.date(9999, 12, 31)):
        with pytest.raises(ValidationError, match="outside the dates the registry keeps"):
            check_registry_date(beyond)


def post_change(client, obj, **changes):
    data = factories.admin_form_data(client.get(change_url(obj)))
    data.update(changes)
    return client.post(change_url(obj), data)


def errors_of(response) -> dict:
    assert response.status_code == 200, response.status_code  # the form again, not a redirect
    return response.context["adminform"].form.errors


def test_a_retirement_in_year_10000_utc_is_a_form_error_and_the_parcel_still_opens(
    admin_client, registry
):
    parcel = registry["parcel"]
    response = post_change(
        admin_client, parcel, retired_at_0="9999-12-31", retired_at_1="23:59:59"
    )
    assert "outside the dates the registry keeps" in errors_of(response)["retired_at"][0]
    parcel.refresh_from_db()
    assert parcel.retired_at is None
    assert admin_client.get(change_url(parcel)).status_code == 200


@pytest.mark.parametrize(
    ("record", "field", "value"),
    [("holding", "acquired_on", "0001-01-01"), ("resale", "contract_on", "9999-12-31"),
     ("monitoringevent", "on", "20245-01-15"), ("groundlease", "term_years", "7984"),
     ("groundlease", "term_years", "0"), ("improvement", "year_built", "3000")],
)  # fmt: skip
def test_a_date_or_term_beyond_any_record_is_a_form_error(admin_client, registry, record, field,
                                                          value):  # fmt: skip
    obj = registry[record]
    errors = errors_of(post_change(admin_client, obj, **{field: value}))
    assert field in errors, errors


@pytest.mark.parametrize(
    ("record", "parameter"),
    [("resale", "contract_on__year"), ("holding", "acquired_on__year"),
     ("groundlease", "starts_on__year"), ("monitoringevent", "on__year")],
)  # fmt: skip
def test_a_drill_down_to_year_9999_is_a_bad_filter_not_a_500(admin_client, registry, record,
                                                              parameter):  # fmt: skip
    url = changelist_url(type(registry[record]))
    response = admin_client.get(url, {parameter: "9999"})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


@pytest.mark.parametrize("day", ["2000-01-01", "9999-12-31"])
def test_the_admin_issues_no_token_already_expired_or_beyond_the_calendar(admin_client, day):
    planner = factories.user("planner", role="read-only", is_staff=True)
    response = admin_client.post(
        "/admin/maps/accesstoken/add/",
        {"user": planner.pk, "name": "QGIS", "expires_at_0": day, "expires_at_1": "23:59:59"},
    )
    assert response.status_code == 200
    assert "expires_at" in response.context["adminform"].form.errors
    from maps.models import AccessToken

    assert not AccessToken.objects.exists()


def test_the_admin_keeps_a_tokens_ten_years_as_the_cli_does(admin_client):
    planner = factories.user("planner", role="read-only", is_staff=True)
    far = timezone.localdate().replace(year=timezone.localdate().year + 11, day=1)
    response = admin_client.post(
        "/admin/maps/accesstoken/add/",
        {"user": planner.pk, "name": "QGIS", "expires_at_0": far.isoformat(),
         "expires_at_1": "12:00:00"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "a token lives at most 10 years" in response.context["adminform"].form.errors[
        "expires_at"
    ][0]
