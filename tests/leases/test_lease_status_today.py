"""The lease list's "status today": the column and its filter say the same of every lease, by
its dates as well as its recorded status (nothing sets the status field when a term runs out),
on the trust's day, in a fixed number of queries."""

import datetime as dt

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leases.models import GroundLease
from leases.queries import status_on_choices
from tests import factories
from tests.adminpages import changelist_url, found

pytestmark = pytest.mark.django_db

TODAY = dt.date(2025, 3, 1)  # the day after 28 February, in a common year
TOMORROW = TODAY + dt.timedelta(days=1)

# reference: (what "status today" says, as a filter value and as the column's text)
EXPECTED = {
    "GL-LAST-DAY-YESTERDAY": ("expired", "Expired (term ran out 2025-03-01; recorded active)"),
    "GL-LAST-DAY-TODAY": ("active", "Active"),
    "GL-STARTS-TOMORROW": ("not_started", "Not yet started (starts 2025-03-02; recorded active)"),
    "GL-ENDS-TOMORROW": ("active", "Active until 2025-03-02 (recorded terminated)"),
    "GL-ENDED-TODAY": ("terminated", "Terminated"),
    "GL-IN-DEFAULT": ("in_default", "In default"),
    # A termination served for the default, taking effect next month: still in default today.
    "GL-IN-DEFAULT-ENDS-LATER": ("in_default", "In default"),
}


@pytest.fixture
def trusts_today(monkeypatch):
    """The trust's local day, fixed (the admin reads `timezone.localdate`, not the server's)."""
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)
    return TODAY


def four_year_lease(reference: str, starts_on: dt.date, **fields) -> GroundLease:
    """A lease of four years from `starts_on` (its expiry is the first day it is not in force)."""
    return factories.lease(
        reference=reference, starts_on=starts_on, purchase_date=starts_on, term_years=4, **fields
    )


@pytest.fixture
def leases(trusts_today):
    four_year_lease("GL-LAST-DAY-YESTERDAY", dt.date(2021, 3, 1))  # expires today
    four_year_lease("GL-LAST-DAY-TODAY", dt.date(2021, 3, 2))  # expires tomorrow
    four_year_lease("GL-STARTS-TOMORROW", TOMORROW)
    four_year_lease("GL-ENDS-TOMORROW", dt.date(2022, 1, 1), status="terminated",
                    ended_on=TOMORROW)  # fmt: skip
    four_year_lease("GL-ENDED-TODAY", dt.date(2022, 1, 1), status="terminated", ended_on=TODAY)
    four_year_lease("GL-IN-DEFAULT", dt.date(2022, 1, 1), status="in_default")
    four_year_lease("GL-IN-DEFAULT-ENDS-LATER", dt.date(2022, 1, 1), status="in_default",
                    ended_on=dt.date(2025, 4, 1))  # fmt: skip


def rows_under(editor, label: str) -> list[GroundLease]:
    """The lease list's rows on following the "status today" filter's choice `label`."""
    cl = editor.get(changelist_url(GroundLease)).context["cl"]
    (spec,) = [spec for spec in cl.filter_specs if spec.title == "status today"]
    (choice,) = [choice for choice in spec.choices(cl) if choice["display"] == label]
    response = editor.get(changelist_url(GroundLease) + choice["query_string"])
    assert response.status_code == 200
    return found(response)


def listed_under(editor, label: str) -> list[str]:
    return [lease.reference for lease in rows_under(editor, label)]


def column(lease: GroundLease) -> str:
    return admin.site._registry[GroundLease].status_today(lease)


def test_a_lease_whose_last_day_was_yesterday_is_listed_as_expired_not_active(editor, leases):
    assert "GL-LAST-DAY-YESTERDAY" in listed_under(editor, "Expired")
    assert "GL-LAST-DAY-YESTERDAY" not in listed_under(editor, "Active")


def test_a_lease_whose_last_day_is_today_is_listed_as_active_today(editor, leases):
    assert "GL-LAST-DAY-TODAY" in listed_under(editor, "Active")
    assert "GL-LAST-DAY-TODAY" not in listed_under(editor, "Expired")


def test_a_lease_starting_tomorrow_is_listed_as_not_yet_started(editor, leases):
    assert listed_under(editor, "Not yet started") == ["GL-STARTS-TOMORROW"]
    assert "GL-STARTS-TOMORROW" not in listed_under(editor, "Active")


@pytest.mark.parametrize(("value", "label"), status_on_choices())
def test_each_choice_lists_exactly_the_leases_whose_column_says_it(editor, leases, value, label):
    rows = rows_under(editor, label)

    wanted = sorted(ref for ref, (today, _) in EXPECTED.items() if today == value)
    assert [lease.reference for lease in rows] == wanted
    assert [column(lease) for lease in rows] == [EXPECTED[ref][1] for ref in wanted]
    assert all(column(lease).startswith(label) for lease in rows)


def test_the_column_shows_each_leases_status_today_on_the_page(editor, leases):
    page = editor.get(changelist_url(GroundLease)).content.decode()

    for _, text in EXPECTED.values():
        assert f">{text}<" in page, text


def test_active_and_in_default_today_are_the_leases_in_force_today(editor, leases):
    listed = listed_under(editor, "Active") + listed_under(editor, "In default")

    assert sorted(listed) == sorted(GroundLease.objects.in_force(TODAY).values_list(
        "reference", flat=True))  # fmt: skip


def test_the_recorded_status_filter_still_filters_the_field_and_says_so(editor, leases):
    response = editor.get(changelist_url(GroundLease), {"status__exact": "active"})

    assert [spec.title for spec in response.context["cl"].filter_specs] == [
        "status today", "status as recorded", "permitted use", "transfer on death",
    ]  # fmt: skip
    assert [lease.reference for lease in found(response)] == [
        "GL-LAST-DAY-TODAY", "GL-LAST-DAY-YESTERDAY", "GL-STARTS-TOMORROW",
    ]  # fmt: skip


def test_the_filtered_list_takes_the_same_queries_for_two_leases_or_eight(editor, trusts_today):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = editor.get(changelist_url(GroundLease), {"status_today": "expired"})
        assert response.status_code == 200
        return len(captured)

    for n in range(2):
        four_year_lease(f"GL-OLD-{n}", dt.date(2020, 1, 1))
    few = queries()
    for n in range(2, 8):
        four_year_lease(f"GL-OLD-{n}", dt.date(2020, 1, 1))

    assert queries() == few
    assert len(listed_under(editor, "Expired")) == 8
