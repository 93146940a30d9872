"""The report page's and download's `as_of`: a date written YYYY-MM-DD, as the CLI's --as-of
takes it, within the dates the registry keeps; anything else is a 400 naming the parameter.

Python 3.11's date.fromisoformat read ISO's other forms too, "20241231" and "2024-W01-1" (the CLI
refused them), and "9999-12-31" gave a report on a day no record can carry. ("+2024-01-01" typed
in an address is " 2024-01-01": a plus in a query string is a space.)"""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(factories.user(role="read-only"))
    return client


@pytest.mark.parametrize("as_of", ["20241231", "+2024-01-01", "2024-1-1", "2024-W01-1",
                                   "2024-12-31T00:00", "２０２４-１２-３１"])  # fmt: skip
def test_a_date_not_written_yyyy_mm_dd_is_a_400_saying_the_form(staff, as_of):
    response = staff.get("/staff/report.csv", {"as_of": as_of})

    assert response.status_code == 400
    assert response.content.decode() == f"as_of: {as_of!r} is not a date written YYYY-MM-DD"
    assert staff.get("/staff/report/", {"as_of": as_of}).status_code == 400


@pytest.mark.parametrize("as_of", ["9999-12-31", "2200-01-01", "1799-12-31"])
def test_a_date_outside_the_registrys_range_is_a_400_saying_the_range(staff, as_of):
    response = staff.get("/staff/report.csv", {"as_of": as_of})

    assert response.status_code == 400
    assert response.content.decode() == (
        f"as_of: {as_of} is outside the dates the registry keeps (1800-01-01 to 2199-12-31); "
        "is the year mistyped?"
    )
    page = staff.get("/staff/report/", {"as_of": as_of})
    assert page.status_code == 400
    assert "outside the dates the registry keeps" in page.content.decode()


@pytest.mark.parametrize("as_of", ["1800-01-01", "2199-12-31", " 2024-12-31 "])
def test_the_first_and_last_days_the_registry_keeps_are_reports(staff, as_of):
    response = staff.get("/staff/report.csv", {"as_of": as_of})

    assert response.status_code == 200
    assert f"stewardship-report-{as_of.strip()}.csv" in response["Content-Disposition"]


def test_a_day_the_calendar_does_not_have_is_named_as_the_cli_names_it(staff):
    # It said "not a date written YYYY-MM-DD" of a date written just so.
    response = staff.get("/staff/report.csv", {"as_of": "2024-02-30"})

    assert response.status_code == 400
    assert response.content.decode() == "as_of: 2024-02-30 is not a date: February 2024 has 29 days"
