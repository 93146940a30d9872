"""The stewardship report: exact figures on the demo data at two dates, and the staff page."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest

from leases.models import Resale
from leases.report import (
    Arrears,
    MonitoringLine,
    StatusLine,
    UseLine,
    holdings_as_of,
    report_csv,
    spreadsheet_safe,
    stewardship_report,
)
from parcels.demo import load_demo_neighbourhood
from tests import factories

pytestmark = pytest.mark.django_db

MID_2024 = dt.date(2024, 6, 30)
NOV_2026 = dt.date(2026, 11, 1)
PRIVATE_VALUES = ("Zephyrine", "Okonkwo-Baptiste", "41327", "41,327", "187.43", "PRIVATE-NOTE")


@pytest.fixture
def demo():
    load_demo_neighbourhood()


def D(text: str) -> Decimal:
    return Decimal(text)


def test_land_and_homes_held_by_use_in_mid_2024(demo):
    report = stewardship_report(MID_2024)
    assert report.held == (
        UseLine("single_family_home", "Single-family home", 12, 12, D("1.86"), 14),
        UseLine("coop_housing", "Co-op housing", 1, 4, D("0.65"), 4),  # fourplex: built 2024
        UseLine("urban_farm", "Urban farm", 1, 3, D("7.00"), 0),
        UseLine("community_garden", "Community garden", 1, 2, D("0.31"), 0),
        UseLine("commercial_coop", "Commercial co-op", 2, 3, D("0.81"), 0),
        UseLine("conservation", "Conservation", 1, 1, D("0.13"), 0),
        UseLine("held_vacant", "Held vacant", 2, 2, D("0.32"), 0),
    )
    assert report.held_total == UseLine("total", "Total", 20, 27, D("11.08"), 18)


def test_land_and_homes_held_by_use_in_late_2026(demo):
    report = stewardship_report(NOV_2026)
    lines = {line.use: line for line in report.held}
    # three more homes since 2024 (two bought, one cottage) and three more vacant holdings
    assert lines["single_family_home"] == UseLine(
        "single_family_home", "Single-family home", 14, 14, D("2.16"), 16
    )
    assert lines["held_vacant"] == UseLine("held_vacant", "Held vacant", 5, 6, D("0.97"), 0)
    assert report.held_total == UseLine("total", "Total", 25, 33, D("12.04"), 24)


def test_leases_by_status_count_a_lease_ended_later_as_active(demo):
    assert stewardship_report(MID_2024).leases == (
        StatusLine("active", "Active", 14),  # GL-2021-012 ended only in October 2024
        StatusLine("in_default", "In default", 1),
        StatusLine("terminated", "Terminated", 0),
        StatusLine("expired", "Expired", 0),
    )
    late = stewardship_report(NOV_2026)
    assert [line.leases for line in late.leases] == [14, 1, 1, 0]
    assert late.leases_total == 16


def test_fees_in_arrears(demo):
    # 562.29 at the Community Production Center and 300.00 at 1418 Lamar St, of 15 in force;
    # the demo's history begins the day it is loaded, after the date: today's figures
    assert stewardship_report(NOV_2026).arrears == Arrears(
        total=D("862.29"), leases=2, in_force=15, recorded_today=15
    )


def test_open_monitoring_events_by_type_on_each_date(demo):
    assert stewardship_report(MID_2024).monitoring == (
        MonitoringLine("inspection", "Inspection", 1),  # resolved 2024-07-15
    )
    late = stewardship_report(NOV_2026)
    assert {line.type: line.open for line in late.monitoring} == {
        "proof_of_insurance": 1,
        "late_fee_payment": 2,
        "delinquent_90_days": 1,
        "notice_of_foreclosure": 1,
        "request_leave_of_absence": 1,
    }
    assert late.monitoring_total == 6


def test_resales_show_the_affordability_the_formula_preserved(demo):
    report = stewardship_report(NOV_2026)
    figures = [
        (s.lease, s.formula_price, s.agreed_price, s.appraised_value, s.preserved,
         s.below_market_pct)
        for s in report.resales
    ]  # fmt: skip
    assert figures == [
        ("GL-2016-001", D("66000.00"), D("66000.00"), D("101000.00"), D("35000.00"), D("34.7")),
        ("GL-2016-001", D("72625.00"), D("72000.00"), D("128000.00"), D("56000.00"), D("43.8")),
        ("GL-2021-012", D("74500.00"), D("74500.00"), D("112000.00"), D("37500.00"), D("33.5")),
    ]
    totals = report.resale_totals  # the trust's buy-back of GL-2021-012 apart
    assert (totals.resales, totals.formula_total, totals.agreed_total) == (
        2, D("138625.00"), D("138000.00"),
    )  # fmt: skip
    assert (totals.appraised_total, totals.preserved, totals.below_market_pct) == (
        D("229000.00"), D("91000.00"), D("39.7"),
    )  # fmt: skip
    assert [s.lease for s in stewardship_report(MID_2024).resales] == ["GL-2016-001"]


def test_the_report_is_a_fixed_number_of_queries(demo, django_assert_num_queries):
    with django_assert_num_queries(8):  # one: when the history begins, to say so
        stewardship_report(NOV_2026)


def test_an_empty_registry_reports_zeros():
    report = stewardship_report(NOV_2026)
    assert report.held == ()
    assert report.held_total == UseLine("total", "Total", 0, 0, D("0.00"), 0)
    assert report.arrears == Arrears(total=D("0.00"), leases=0)
    assert report.resale_totals.below_market_pct is None


def test_holdings_as_of_lists_parcels_and_leases_in_force(demo):
    inventory = holdings_as_of(MID_2024)
    assert len(inventory.holdings) == 20
    assert inventory.parcels == 27
    assert len(inventory.leases) == 15
    farm = next(h for h in inventory.holdings if h.name == "Freedom Farm")
    assert farm.apns == ("166-156-003", "166-156-004", "166-156-005")
    assert farm.leases == ("GL-2019-016",)
    lynch = next(h for h in inventory.holdings if h.name == "1723 Lynch St")
    assert lynch.leases == ("GL-2021-012",)  # in force until October 2024
    ended_later = next(lease for lease in inventory.leases if lease.reference == "GL-2021-012")
    assert (ended_later.status, ended_later.ends_on) == ("active", dt.date(2024, 10, 31))
    assert (
        next(h for h in holdings_as_of(NOV_2026).holdings if h.name == "1723 Lynch St").leases == ()
    )


def test_holdings_as_of_keeps_apart_the_leases_of_two_holdings_with_one_name():
    first = factories.holding(name="Vacant lot", parcels=[factories.parcel()])
    second = factories.holding(name="Vacant lot", parcels=[factories.parcel()])
    factories.lease(holding_=first, reference="GL-2017-101")
    factories.lease(holding_=second, reference="GL-2017-102")

    inventory = holdings_as_of(MID_2024)

    assert sorted(h.leases for h in inventory.holdings) == [("GL-2017-101",), ("GL-2017-102",)]


def test_holdings_as_of_a_date_before_the_trust_began_is_empty(demo):
    inventory = holdings_as_of(dt.date(2015, 1, 1))
    assert inventory.holdings == () and inventory.leases == ()


def test_the_csv_is_one_figure_a_row(demo):
    rows = list(csv.reader(io.StringIO(report_csv(stewardship_report(NOV_2026)))))
    assert rows[0] == ["section", "item", "measure", "value"]
    assert ["report", "as_of", "date", "2026-11-01"] in rows
    assert ["held_by_use", "total", "homes", "24"] in rows
    assert ["fees_in_arrears", "total", "amount", "862.29"] in rows
    assert ["resales", "GL-2016-001 2024-08-20", "preserved", "56000.00"] in rows
    assert ["resales", "total", "below_market_pct", "39.7"] in rows
    assert all(len(row) == 4 for row in rows)


def test_the_report_names_no_household_and_no_private_figure(demo):
    text = report_csv(stewardship_report(NOV_2026))
    for value in PRIVATE_VALUES:
        assert value not in text


def test_resale_lines_show_the_use_and_no_address_beside_the_buyers_income(demo):
    report = stewardship_report(NOV_2026)
    assert [(s.lease, s.use, s.contract_on) for s in report.resales] == [
        ("GL-2016-001", "Residential", dt.date(2020, 6, 1)),
        ("GL-2016-001", "Residential", dt.date(2024, 8, 20)),
        ("GL-2021-012", "Residential", dt.date(2024, 9, 10)),
    ]
    text = report_csv(report)
    assert ["resales", "GL-2016-001 2024-08-20", "use", "Residential"] in list(
        csv.reader(io.StringIO(text))
    )
    for located in ("1418 Rose St", "1723 Lynch St", "165-142-004", "Rose", "Lynch"):
        assert located not in text


# --- buyers above the trust's income limit ------------------------------------------------------


@pytest.fixture
def resales_around_the_limit():
    """Three resales of one lease in 2025: buyers at 135.0% and at 80.0% of AMI (the default
    limit is 80), and one whose income was not recorded."""
    lease = factories.lease(reference="GL-2017-050")
    for day, pct in ((1, D("135.0")), (2, D("80.0")), (3, None)):
        Resale.objects.create(
            lease=lease, seller=lease.lessees.get(), buyer=factories.party(),
            contract_on=dt.date(2025, 3, day), formula_price=D("290000"),
            agreed_price=D("285000"), buyer_income_pct_ami=pct,
        )  # fmt: skip


def test_a_resale_to_a_buyer_above_the_income_limit_is_marked_and_one_at_it_is_not(
    resales_around_the_limit,
):
    report = stewardship_report(dt.date(2025, 6, 30))

    assert report.buyer_income_limit_pct_ami == 80
    assert [(s.buyer_income_pct_ami, s.buyer_above_limit, s.income_limit_note)
            for s in report.resales] == [
        (D("135.0"), True, "above the 80% limit"),
        (D("80.0"), False, ""),
        (None, None, ""),
    ]  # fmt: skip


def test_the_csv_gives_the_limit_and_whether_each_buyer_was_above_it(resales_around_the_limit):
    rows = list(csv.reader(io.StringIO(report_csv(stewardship_report(dt.date(2025, 6, 30))))))

    assert ["report", "buyer_income_limit", "pct_ami", "80"] in rows
    above = [row for row in rows if row[2] == "buyer_above_income_limit"]
    assert above == [
        ["resales", "GL-2017-050 2025-03-01", "buyer_above_income_limit", "yes"],
        ["resales", "GL-2017-050 2025-03-02", "buyer_above_income_limit", "no"],
        ["resales", "GL-2017-050 2025-03-03", "buyer_above_income_limit", ""],
    ]


def test_the_page_and_the_cli_mark_the_buyer_above_the_limit(resales_around_the_limit, client):
    from leases.cli import render_report

    client.force_login(factories.user(role="read-only"))
    page = client.get("/staff/report/", {"as_of": "2025-06-30"}).content.decode()
    text = render_report(stewardship_report(dt.date(2025, 6, 30)))

    assert '135.0 — <strong class="clt-above-limit">above the 80% limit</strong>' in page
    assert page.count("above the 80% limit") == 1
    assert "135.0% — above the 80% limit" in text
    assert text.count("above the 80% limit") == 1


def test_the_limit_is_the_trusts_setting(resales_around_the_limit, settings):
    settings.CLT_BUYER_INCOME_LIMIT_PCT_AMI = 140

    report = stewardship_report(dt.date(2025, 6, 30))

    assert [s.buyer_above_limit for s in report.resales] == [False, False, None]


# --- the staff page ------------------------------------------------------------------------------


def test_the_page_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/staff/report/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert client.get("/staff/report.csv").status_code == 302


def test_the_page_is_refused_to_a_logged_in_non_staff_user(client):
    client.force_login(factories.user())
    assert client.get("/staff/report/").status_code == 302  # to the staff login


def test_staff_without_a_role_are_forbidden(client):
    client.force_login(factories.user(is_staff=True))
    assert client.get("/staff/report/").status_code == 403
    assert client.get("/staff/report.csv").status_code == 403


def test_read_only_staff_see_the_report_with_a_csv_link(demo, client):
    client.force_login(factories.user(role="read-only"))
    response = client.get("/staff/report/", {"as_of": "2026-11-01"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/staff/report.csv?as_of=2026-11-01"' in page
    assert "$862.29" in page
    assert "$91,000.00" in page
    assert "39.7%" in page
    assert "1418 Rose St" not in page  # a resale's home, beside its buyer's income
    for value in PRIVATE_VALUES:
        assert value not in page


def test_the_csv_download_is_the_report_for_the_date(demo, client):
    client.force_login(factories.user(role="editor"))
    response = client.get("/staff/report.csv", {"as_of": "2024-06-30"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="stewardship-report-2024-06-30.csv"' in response["Content-Disposition"]
    assert response.content.decode() == report_csv(stewardship_report(MID_2024))


def test_a_bad_date_is_a_400_naming_the_parameter(client):
    client.force_login(factories.user(role="read-only"))
    response = client.get("/staff/report/", {"as_of": "2026-13-01"})
    assert response.status_code == 400
    assert "as_of: 2026-13-01 is not a date: there is no month 13" in response.content.decode()
    assert client.get("/staff/report.csv", {"as_of": "soon"}).status_code == 400


def test_the_csv_gives_a_cell_that_would_run_as_a_formula_a_leading_apostrophe(client):
    lease = factories.lease(reference="=1+2")
    Resale.objects.create(
        lease=lease, seller=lease.lessees.get(), buyer=factories.party(),
        contract_on=dt.date(2025, 3, 1), formula_price=D("290000"), agreed_price=D("285000"),
        appraised_value=D("280000"),
    )  # fmt: skip
    client.force_login(factories.user(role="read-only"))

    response = client.get("/staff/report.csv", {"as_of": "2025-06-30"})

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["resales", "'=1+2 2025-03-01", "agreed_price", "285000.00"] in rows
    assert ["resales", "'=1+2 2025-03-01", "preserved", "-5000.00"] in rows  # a number stays


@pytest.mark.parametrize(
    "cell, safe",
    [("=1+2", "'=1+2"), ("+1", "'+1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
     ("\rx", "'\rx"), ("-1+2", "'-1+2"), ("-5000.00", "-5000.00"), ("GL-2017-004", "GL-2017-004")],
)  # fmt: skip
def test_spreadsheet_safe_follows_the_map_exports_rule(cell, safe):
    assert spreadsheet_safe(cell) == safe


def test_each_table_scrolls_in_a_named_box_a_keyboard_can_reach(demo, client):
    # axe's scrollable-region-focusable: a box that scrolls must take focus, or a keyboard
    # cannot see the resales' last columns; a screen reader announces the box by its name.
    client.force_login(factories.user(role="read-only"))
    page = client.get("/staff/report/", {"as_of": "2026-11-01"}).content.decode()
    boxes = re.findall(r'<div class="scroll-x"([^>]*)><table id="(\w+)"[^>]*>', page)
    assert boxes == [
        (f' tabindex="0" role="region" aria-label="{label}"', table)
        for table, label in [
            ("held", "Land and homes held table"),
            ("leases", "Leases by status table"),
            ("monitoring", "Open monitoring events table"),
            ("resales", "Resales table"),
        ]
    ]
