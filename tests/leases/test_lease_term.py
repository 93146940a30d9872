"""A lease stops on its end date, else at the end of its term: the queryset (`in_force`), the
report and the inventory agree with `GroundLease.period()`, to the day, 29 February included."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from leases.models import GroundLease
from leases.queries import expiry
from leases.report import StatusLine, fees_in_arrears, holdings_as_of, leases_by_status
from tests import factories
from tests.adminpages import changelist_url

pytestmark = pytest.mark.django_db


def in_force_on(on: dt.date) -> list[str]:
    return list(GroundLease.objects.in_force(on).values_list("reference", flat=True))


def garden_lease(**fields) -> GroundLease:
    """Finding 4's lease: a one-year agricultural lease from 2023-01-01, never renewed."""
    values = {
        "reference": "GL-X",
        "starts_on": dt.date(2023, 1, 1),
        "term_years": 1,
        "renewable": False,
        "permitted_use": "agricultural",
        "purchase_price": Decimal("0"),
        "purchase_date": dt.date(2023, 1, 1),
    }
    return factories.lease(**{**values, **fields})


def test_a_lease_past_its_term_is_not_in_force():
    lease = garden_lease()
    assert lease.expires_on == dt.date(2024, 1, 1)

    assert in_force_on(dt.date(2023, 12, 31)) == ["GL-X"]
    assert in_force_on(dt.date(2024, 1, 1)) == []  # the stop day is out, as documented
    assert in_force_on(dt.date(2026, 11, 24)) == []
    assert lease.in_force_on(dt.date(2026, 11, 24)) is False


@pytest.mark.parametrize(
    ("starts_on", "term_years", "expires_on"),
    [
        (dt.date(2020, 2, 29), 1, dt.date(2021, 2, 28)),  # no 29 February in 2021
        (dt.date(2020, 2, 29), 4, dt.date(2024, 2, 29)),  # a leap year keeps it
        (dt.date(2020, 2, 29), 99, dt.date(2119, 2, 28)),
        (dt.date(2096, 2, 29), 4, dt.date(2100, 2, 28)),  # 2100 is not a leap year
        (dt.date(2019, 3, 1), 1, dt.date(2020, 3, 1)),
        (dt.date(2199, 12, 31), 999, dt.date(3198, 12, 31)),
    ],
)
def test_the_sql_expiry_is_the_models_expiry_29_february_included(
    starts_on, term_years, expires_on
):
    lease = garden_lease(starts_on=starts_on, term_years=term_years, purchase_date=starts_on)
    assert lease.expires_on == expires_on
    in_sql = GroundLease.objects.annotate(expiry=expiry()).values_list("expiry", flat=True)

    assert in_sql.get(pk=lease.pk) == expires_on


def test_a_lease_from_29_february_stops_on_28_february_of_a_common_year():
    garden_lease(starts_on=dt.date(2020, 2, 29), purchase_date=dt.date(2020, 2, 29))

    assert in_force_on(dt.date(2021, 2, 27)) == ["GL-X"]
    assert in_force_on(dt.date(2021, 2, 28)) == []


def test_in_force_defaults_to_the_trusts_day_not_the_servers(monkeypatch):
    """The registry's "today" is the trust's local day (the server's clock may be a day
    ahead or behind, in UTC): a lease starting on the trust's today is in force today."""
    garden_lease(starts_on=dt.date(2100, 1, 1), purchase_date=dt.date(2100, 1, 1))
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: dt.date(2100, 1, 1))

    assert list(GroundLease.objects.in_force().values_list("reference", flat=True)) == ["GL-X"]


def test_one_home_shows_one_lease_in_force_after_the_first_ran_out_its_term():
    old = garden_lease()
    factories.lease(
        holding_=old.holding, reference="GL-2024-001", starts_on=dt.date(2024, 1, 1),
        purchase_date=dt.date(2024, 1, 1),
    )  # fmt: skip

    assert in_force_on(dt.date(2026, 11, 24)) == ["GL-2024-001"]


def test_the_report_counts_a_lease_past_its_term_as_expired_not_active():
    garden_lease(arrears=Decimal("120.00"))  # its status field still says "active"
    on = dt.date(2026, 11, 24)

    assert leases_by_status(on) == (
        StatusLine("active", "Active", 0),
        StatusLine("in_default", "In default", 0),
        StatusLine("terminated", "Terminated", 0),
        StatusLine("expired", "Expired", 1),
    )
    assert fees_in_arrears(on).leases == 0
    assert [line.leases for line in leases_by_status(dt.date(2023, 6, 1))] == [1, 0, 0, 0]


def test_a_lease_in_default_past_its_term_is_reported_expired():
    garden_lease(status="in_default")

    assert [line.leases for line in leases_by_status(dt.date(2024, 1, 1))] == [0, 0, 0, 1]
    assert [line.leases for line in leases_by_status(dt.date(2023, 12, 31))] == [0, 1, 0, 0]


def test_the_inventory_lists_no_lease_past_its_term():
    garden_lease()

    later = holdings_as_of(dt.date(2026, 11, 24))
    assert later.leases == ()
    assert [held.leases for held in later.holdings] == [()]
    assert [each.reference for each in holdings_as_of(dt.date(2023, 12, 31)).leases] == ["GL-X"]


def test_the_lease_list_shows_a_lease_past_its_term_as_expired_today(editor):
    garden_lease()  # recorded "active", term ran out 2024-01-01
    factories.lease(reference="GL-NOW", starts_on=dt.date(2020, 1, 1))

    page = editor.get(changelist_url(GroundLease)).content.decode()

    assert "Expired (term ran out 2024-01-01; recorded active)" in page
    assert "GL-NOW" in page and page.count("recorded active") == 1
