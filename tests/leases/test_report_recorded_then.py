"""The report on a past date reads a lease's arrears and recorded status (in default or not) as
the registry's history held them at the end of that day, and says where it could not.

It read today's: `clt report --as-of 2020-02-29` gave the Community Production Center's arrears
entered in 2026 as the figure of 2020, and GL-2021-007's default of 2026 in 2024, with no word
of it in the CLI's output or the CSV.
"""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from leases.cli import render_report
from leases.models import GroundLease
from leases.report import Arrears, holdings_as_of, report_csv, stewardship_report
from parcels.demo import load_demo_neighbourhood
from tests import factories

pytestmark = pytest.mark.django_db

MID_2024 = dt.date(2024, 6, 30)
TODAY_NOTE = "Arrears and lease statuses (in default or not) are as recorded today"


def local(*args: int) -> dt.datetime:
    """A date-time on the trust's clock (America/Chicago)."""
    return timezone.make_aware(dt.datetime(*args))


def recorded_at(lease: GroundLease, when: dt.datetime) -> None:
    """Date the lease's history written so far at `when`, as if the registry had kept it then."""
    GroundLease.pgh_event_model.objects.filter(pgh_obj=lease, pgh_created_at__gt=when).update(
        pgh_created_at=when
    )


def change(lease: GroundLease, when: dt.datetime | None = None, **fields) -> None:
    """Change the lease (its history writes an event), recorded at `when` if given."""
    latest = GroundLease.pgh_event_model.objects.filter(pgh_obj=lease).order_by("pgh_id").last()
    for name, value in fields.items():
        setattr(lease, name, value)
    lease.save()
    if when is not None:
        GroundLease.pgh_event_model.objects.filter(pgh_obj=lease, pgh_id__gt=latest.pgh_id).update(
            pgh_created_at=when
        )


def csv_rows(report) -> list[list[str]]:
    return list(csv.reader(io.StringIO(report_csv(report))))


@pytest.fixture
def defaulted_in_2026():
    """A lease recorded in January 2024 as active and owing nothing, in default since today
    with $300.00 owed."""
    lease = factories.lease(reference="GL-2017-201")
    recorded_at(lease, local(2024, 1, 10, 9, 0))
    change(lease, arrears=Decimal("300.00"), status="in_default")
    return lease


def test_a_past_date_reads_the_arrears_and_status_recorded_then(defaulted_in_2026):
    report = stewardship_report(MID_2024)

    assert report.arrears == Arrears(
        total=Decimal("0.00"), leases=0, in_force=1, recorded_today=0
    )
    assert [(line.status, line.leases) for line in report.leases if line.leases] == [("active", 1)]
    assert report.recorded_note == (
        "Arrears and lease statuses (in default or not) are as the registry's history recorded "
        "them at the end of 2024-06-30."
    )


def test_today_reads_todays_arrears_and_status(defaulted_in_2026):
    report = stewardship_report(timezone.localdate())

    assert report.arrears == Arrears(
        total=Decimal("300.00"), leases=1, in_force=1, recorded_today=1
    )
    assert [(line.status, line.leases) for line in report.leases if line.leases] == [
        ("in_default", 1)
    ]
    assert report.recorded_note == f"{TODAY_NOTE}."


def test_the_inventory_gives_a_leases_status_as_recorded_then(defaulted_in_2026):
    [lease] = holdings_as_of(MID_2024).leases
    assert lease.status == "active"
    assert holdings_as_of(MID_2024).status_note == (
        "Lease statuses (in default or not) are as the registry's history recorded them at the "
        "end of 2024-06-30."
    )
    [lease] = holdings_as_of(timezone.localdate()).leases
    assert lease.status == "in_default"


def test_a_change_counts_for_the_trusts_local_day_it_was_made():
    lease = factories.lease(reference="GL-2017-202")
    recorded_at(lease, local(2024, 1, 10, 9, 0))
    # 23:30 in Jackson is 04:30 the next day in UTC; 00:30 is the next local day
    change(lease, local(2024, 6, 30, 23, 30), arrears=Decimal("100.00"))
    change(lease, local(2024, 7, 1, 0, 30), arrears=Decimal("250.00"))
    change(lease, arrears=Decimal("400.00"))

    assert stewardship_report(dt.date(2024, 6, 29)).arrears.total == Decimal("0.00")
    assert stewardship_report(MID_2024).arrears.total == Decimal("100.00")
    assert stewardship_report(dt.date(2024, 7, 1)).arrears.total == Decimal("250.00")


def test_a_lease_terminated_by_the_date_stays_terminated_though_recorded_later():
    # The termination entered today, dated back: its dated end decides, not the history
    lease = factories.lease(reference="GL-2017-203")
    recorded_at(lease, local(2024, 1, 10, 9, 0))
    change(lease, status="terminated", ended_on=dt.date(2024, 3, 31))

    statuses = {line.status: line.leases for line in stewardship_report(MID_2024).leases}

    assert (statuses["terminated"], statuses["active"]) == (1, 0)


def test_history_for_one_lease_and_not_the_other_is_said_for_each(defaulted_in_2026):
    factories.lease(reference="GL-2017-204", arrears=Decimal("75.00"))  # its history: today

    report = stewardship_report(MID_2024)

    assert report.arrears == Arrears(
        total=Decimal("75.00"), leases=1, in_force=2, recorded_today=1
    )
    assert report.recorded_note == (
        "Arrears and lease statuses (in default or not) are as the registry's history recorded "
        "them at the end of 2024-06-30 for 1 of the 2 leases in force, and as recorded today for "
        "the other 1, whose history begins after that day."
    )


# --- the demo: its history begins the day it is loaded ------------------------------------------


@pytest.fixture
def demo():
    load_demo_neighbourhood()


def test_where_the_history_begins_later_todays_figures_are_said_to_be_todays(demo, client):
    on = dt.date(2020, 2, 29)
    report = stewardship_report(on)
    note = (
        f"{TODAY_NOTE}, not on 2020-02-29: the registry's history begins {timezone.localdate()}."
    )

    # GL-2017-015's arrears, entered today: the only figure known, and said to be today's
    assert report.arrears == Arrears(
        total=Decimal("562.29"), leases=1, in_force=7, recorded_today=7
    )
    assert report.recorded_note == note
    text = render_report(report)
    assert note in text
    assert "Fees in arrears: $562.29 owed on 1 of 7 leases in force" in text
    assert ["notes", "arrears_and_status", "note", note] in csv_rows(report)
    client.force_login(factories.user(role="read-only"))
    page = client.get("/staff/report/", {"as_of": "2020-02-29"}).content.decode()
    assert note.replace("'", "&#x27;") in page
    assert "owed on <strong>1</strong> of 7 leases in force." in page
