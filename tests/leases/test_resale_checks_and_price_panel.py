"""Messages that point at the right fix (QA: lease administrator, finding 7 and the closing
observation): a negative appraisal on a resale is the appraisal's error; the price panel of a
lease page sent back with errors prices the lease as saved; a "% of AMI" the buyer's recorded
income contradicts is warned of, naming both figures."""

import datetime as dt
from decimal import Decimal

import pytest

from leases.models import IndexSeries, IndexValue, Resale
from tests import factories
from tests.adminpages import change_url
from tests.leases.test_admin import price_panel_of
from tests.leases.test_resale_admin import field_errors, post_resale, warnings_said

pytestmark = pytest.mark.django_db


def test_a_negative_appraisal_on_a_resale_is_refused_on_the_appraisal_not_the_price(editor):
    lease = factories.lease(resale_formula={"type": "appraised_value"})

    response = post_resale(editor, lease, appraised_value="-5", agreed_price="1")

    assert response.status_code == 200
    assert (
        "The lease's formula cannot price the sale on 2027-06-01 from this appraised value "
        "(must not be negative (got -5)): correct the appraisal."
    ) in field_errors(response, "appraised_value")
    assert field_errors(response, "formula_price") == []
    assert not Resale.objects.exists()


def test_the_price_panel_of_a_refused_end_date_prices_the_lease_as_saved(editor):
    lease = factories.lease(
        reference="GL-2020-005", starts_on=dt.date(2020, 11, 2), purchase_date=dt.date(2020, 11, 2)
    )
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data.update(ended_on="2019-01-01", status="terminated")

    response = editor.post(change_url(lease), data)

    assert response.status_code == 200
    assert "before it starts" in str(response.context["adminform"].form.errors)
    panel = price_panel_of(response.content.decode())
    assert "2019-01-01" not in panel
    assert panel.startswith("Maximum resale price on ")


# --- the buyer's % of AMI against their recorded income -----------------------------------------


@pytest.fixture
def ami_2026():
    """A loaded area median income (the demo's illustrative figure for 2026)."""
    series = IndexSeries.objects.create(name="illustrative-demo-ami", kind="ami", source="demo")
    IndexValue.objects.create(series=series, year=2026, value=Decimal("77400"))


def buyer(income: str, size: int) -> str:
    made = factories.party(name="Nguyen household", annual_income=Decimal(income),
                           household_size=size)  # fmt: skip
    return str(made.pk)


def test_a_pct_of_ami_the_buyers_recorded_income_contradicts_is_warned_of_naming_both(
    editor, ami_2026
):
    lease = factories.lease(reference="GL-2017-004")

    response = post_resale(
        editor, lease, buyer=buyer("61000", 4), buyer_income_pct_ami="95.0", agreed_price="1",
        contract_on="2026-10-01",
    )

    assert response.status_code == 302  # warned, not refused
    assert (
        "The resale of GL-2017-004 gives the buyer's income as 95.0% of area median income, but "
        "Nguyen household's recorded income, $61,000.00 for 4 persons, is 78.8% of the 2026 "
        "area median income for 4 persons ($77,400.00, from illustrative-demo-ami). Check which "
        "is right: correct “Buyer income pct ami” on the resale, or the income and household "
        "size on the party's page."
    ) in warnings_said(response)


def test_the_median_is_adjusted_for_the_household_size_as_hud_does(editor, ami_2026):
    lease = factories.lease(reference="GL-2017-004")

    response = post_resale(
        editor, lease, buyer=buyer("54180", 1), buyer_income_pct_ami="70.0", agreed_price="1",
        contract_on="2026-10-01",
    )

    [warning] = [said for said in warnings_said(response) if "recorded income" in said]
    assert (
        "is 100.0% of the 2026 area median income for 1 person ($54,180.00, from "
        "illustrative-demo-ami; HUD's 70% of the four-person $77,400.00)"
    ) in warning


def test_a_pct_of_ami_within_a_few_points_of_the_recorded_income_is_not_warned_of(
    editor, ami_2026
):
    lease = factories.lease(reference="GL-2017-004")

    response = post_resale(
        editor, lease, buyer=buyer("61000", 4), buyer_income_pct_ami="80.0", agreed_price="1",
        contract_on="2026-10-01",
    )

    assert response.status_code == 302
    assert not [said for said in warnings_said(response) if "recorded income" in said]


def test_without_an_ami_series_loaded_nothing_is_compared(editor):
    lease = factories.lease(reference="GL-2017-004")

    response = post_resale(
        editor, lease, buyer=buyer("61000", 4), buyer_income_pct_ami="95.0", agreed_price="1",
        contract_on="2026-10-01",
    )

    assert response.status_code == 302
    assert not [said for said in warnings_said(response) if "recorded income" in said]
