"""A lease's resale formula by date: an amendment prices the sales contracted from its date on,
never a sale contracted before it (the tester's case: an index lease amended to 2% simple from
2026-11-24, and a resale contracted 2026-06-01 priced by the new formula, $8,160 too high)."""

import datetime as dt
import importlib
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner
from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils import timezone

from clt.cli import main
from leases.actions import lease_create, lease_set_formula
from leases.forms import ResaleForm
from leases.models import GroundLease, IndexSeries, IndexValue, LeaseFormula, Resale
from leases.pricing import max_resale_price
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db

AMI = "jackson-ms-ami"
INDEX_AMI = {"type": "index", "series": AMI}
AMENDED_ON = dt.date(2026, 11, 24)
AMENDMENT = "amendment signed by the board and the household, 2026-11-24"


@pytest.fixture
def index_lease() -> GroundLease:
    """Bought 2017-06-30 for $136,000 under an AMI index formula (60,000 in 2017, 66,000 in
    2026)."""
    series = IndexSeries.objects.create(name=AMI, kind="ami", source="HUD")
    IndexValue.objects.create(series=series, year=2017, value=Decimal("60000"))
    IndexValue.objects.create(series=series, year=2026, value=Decimal("66000"))
    return factories.lease(
        reference="GL-2017-030",
        starts_on=dt.date(2017, 6, 30),
        purchase_date=dt.date(2017, 6, 30),
        purchase_price=Decimal("136000.00"),
        resale_formula=INDEX_AMI,
    )


@pytest.fixture
def amended_lease(index_lease) -> GroundLease:
    """The index lease, amended to 2% a year simple for sales contracted from 2026-11-24."""
    lease_set_formula(
        lease=index_lease, formula=factories.FIXED_2PCT_SIMPLE, effective_on=AMENDED_ON,
        note=AMENDMENT,
    )  # fmt: skip
    return index_lease


def resale_form(lease: GroundLease, contract_on: str) -> ResaleForm:
    """The resale form as staff fill it, the formula price left blank to be filled in."""
    return ResaleForm(
        data={
            "lease": lease.pk, "seller": lease.lessees.get().pk, "buyer": factories.party().pk,
            "contract_on": contract_on, "agreed_price": "140000.00",
        }
    )  # fmt: skip


def formulas_of(lease: GroundLease) -> list[tuple[dt.date, dict, str]]:
    return [
        (row.effective_on, row.formula, row.note) for row in lease.formulas.order_by("effective_on")
    ]


# --- pricing by the contract date ----------------------------------------------------------------


def test_a_sale_contracted_before_the_amendment_is_priced_by_the_formula_then_in_force(
    amended_lease,
):
    result = max_resale_price(amended_lease, on=dt.date(2026, 6, 1))
    assert result.price == Decimal("149600.00")  # 136,000 x 66,000 / 60,000


def test_a_sale_contracted_after_the_amendment_is_priced_by_the_amended_formula(amended_lease):
    result = max_resale_price(amended_lease, on=dt.date(2026, 12, 1))
    # 9 completed years (2017-06-30 to 2026-12-01): 136,000 x (1 + 0.02 x 9)
    assert result.price == Decimal("160480.00")


def test_the_resale_form_fills_in_the_price_of_the_formula_in_force_on_the_contract_date(
    amended_lease,
):
    form = resale_form(amended_lease, "2026-06-01")
    assert form.is_valid(), form.errors
    assert form.save().formula_price == Decimal("149600.00")  # not 157,760.00 (2% simple)


def test_the_lease_keeps_its_signed_formula_from_its_start_and_today_s_in_its_field(
    amended_lease,
):
    assert formulas_of(amended_lease) == [
        (dt.date(2017, 6, 30), INDEX_AMI, "as signed"),
        (AMENDED_ON, factories.FIXED_2PCT_SIMPLE, AMENDMENT),
    ]
    amended_lease.refresh_from_db()
    assert amended_lease.resale_formula == factories.FIXED_2PCT_SIMPLE  # in force today


def test_clt_resale_price_uses_the_formula_in_force_on_the_sale_date(amended_lease, monkeypatch):
    monkeypatch.setattr("leases.cli.setup_django", lambda **kwargs: None)

    def price(on: str) -> list[str]:
        args = ["resale-price", "--lease", "GL-2017-030", "--sale-date", on]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout.splitlines()

    before, after = price("2026-06-01"), price("2026-12-01")
    assert before[0] == f"GL-2017-030, {amended_lease.holding.name}: sale on 2026-06-01"
    assert before[-1].split() == ["Maximum", "resale", "price", "$149,600.00"]
    assert after[0].endswith(
        "sale on 2026-12-01, by its formula in force from 2026-11-24 (fixed-rate formula; "
        f"{AMENDMENT})"
    )
    assert after[-1].split() == ["Maximum", "resale", "price", "$160,480.00"]


# --- what an amendment may not do ----------------------------------------------------------------


def test_an_amendment_dated_before_the_last_resale_is_refused_and_nothing_written(index_lease):
    form = resale_form(index_lease, "2026-06-01")
    assert form.is_valid(), form.errors
    form.save()

    with pytest.raises(ValidationError) as refused:
        lease_set_formula(
            lease=index_lease, formula=factories.FIXED_2PCT_SIMPLE,
            effective_on=dt.date(2026, 5, 1),
        )  # fmt: skip

    assert refused.value.message_dict == {
        "effective_on": [
            "A resale of lease GL-2017-030 was contracted on 2026-06-01, priced by the formula "
            "in force then: an amendment from 2026-05-01 would reach back before that sale. "
            "Give 2026-06-01 or a later date (an amendment applies to the sales contracted on "
            "or after its date)."
        ]
    }
    assert not LeaseFormula.objects.exists()
    index_lease.refresh_from_db()
    assert index_lease.resale_formula == INDEX_AMI


def test_an_amendment_dated_before_the_lease_starts_is_refused(index_lease):
    with pytest.raises(ValidationError) as refused:
        lease_set_formula(
            lease=index_lease, formula=factories.FIXED_2PCT_SIMPLE,
            effective_on=dt.date(2017, 1, 1),
        )  # fmt: skip

    assert refused.value.message_dict == {
        "effective_on": [
            "Lease GL-2017-030 starts on 2017-06-30: a formula cannot apply from 2017-01-01, "
            "before the lease. Give its start or a later date."
        ]
    }


def test_an_amendment_from_today_is_the_default_and_a_later_one_waits_for_its_date(index_lease):
    today = timezone.localdate()
    later = today + dt.timedelta(days=30)
    appraisal = {"type": "appraisal_share", "share": "0.25", "share_of": "increase"}

    lease_set_formula(lease=index_lease, formula=factories.FIXED_2PCT_SIMPLE)
    lease_set_formula(lease=index_lease, formula=appraisal, effective_on=later)

    assert [(on, formula) for on, formula, _ in formulas_of(index_lease)] == [
        (dt.date(2017, 6, 30), INDEX_AMI),
        (today, factories.FIXED_2PCT_SIMPLE),
        (later, appraisal),
    ]
    index_lease.refresh_from_db()
    assert index_lease.resale_formula == factories.FIXED_2PCT_SIMPLE


def test_a_lease_signed_by_the_action_records_its_formula_from_its_start():
    holding = factories.holding(parcels=[factories.parcel()])
    lease = lease_create(
        lessees=[factories.party()], reference="GL-2019-950", holding=holding,
        starts_on=dt.date(2019, 6, 1), permitted_use="residential", fee_monthly=Decimal("30"),
        purchase_price=Decimal("95000"), purchase_date=dt.date(2019, 6, 1),
        resale_formula=factories.FIXED_2PCT_SIMPLE,
    )  # fmt: skip
    assert formulas_of(lease) == [(dt.date(2019, 6, 1), factories.FIXED_2PCT_SIMPLE, "as signed")]


# --- the data migration --------------------------------------------------------------------------


def test_the_data_migration_gives_each_lease_its_formula_from_its_start(index_lease):
    migration = importlib.import_module("leases.migrations.0010_lease_formulas_by_date")
    other = factories.lease(starts_on=dt.date(2020, 3, 1), purchase_date=dt.date(2020, 3, 1))

    migration.give_each_lease_its_formula(apps, None)
    migration.give_each_lease_its_formula(apps, None)  # run again: nothing twice

    rows = LeaseFormula.objects.order_by("effective_on")
    assert [(row.lease, row.effective_on, row.formula) for row in rows] == [
        (index_lease, dt.date(2017, 6, 30), INDEX_AMI),
        (other, dt.date(2020, 3, 1), factories.FIXED_2PCT_SIMPLE),
    ]


# --- the lease page ------------------------------------------------------------------------------


def test_the_price_panel_says_which_formula_it_used(editor, amended_lease):
    html = editor.get(change_url(amended_lease)).content.decode()

    assert (
        f"<caption>Maximum resale price on {timezone.localdate().isoformat()}, by the lease's "
        "formula in force from 2026-11-24 (fixed-rate formula; amendment signed by the board "
        "and the household, 2026-11-24)</caption>"
    ) in html
    formulas = html[html.index('id="formulas-group"') :]
    assert "2017-06-30" in formulas and "as signed" in formulas


def amend_on_the_page(editor, lease: GroundLease, formula: dict, amended_from: str):
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["resale_formula"] = json.dumps(formula)
    data["formula_amended_from"] = amended_from
    return editor.post(change_url(lease), data)


def test_a_formula_changed_on_the_lease_page_is_an_amendment_from_the_date_given(
    editor, index_lease
):
    response = amend_on_the_page(editor, index_lease, factories.FIXED_2PCT_SIMPLE, "2026-11-24")

    assert response.status_code == 302
    (signed, amended) = index_lease.formulas.order_by("effective_on")
    assert (signed.effective_on, signed.formula) == (dt.date(2017, 6, 30), INDEX_AMI)
    assert (amended.effective_on, amended.formula) == (AMENDED_ON, factories.FIXED_2PCT_SIMPLE)
    assert amended.note.startswith("entered on the lease page by edna on ")
    assert max_resale_price(index_lease, on=dt.date(2026, 6, 1)).price == Decimal("149600.00")


def test_the_lease_page_refuses_an_amendment_dated_before_the_last_resale(editor, index_lease):
    Resale.objects.create(
        lease=index_lease, seller=index_lease.lessees.get(), buyer=factories.party(),
        contract_on=dt.date(2026, 6, 1), formula_price=Decimal("149600.00"),
        agreed_price=Decimal("140000.00"),
    )  # fmt: skip

    response = amend_on_the_page(editor, index_lease, factories.FIXED_2PCT_SIMPLE, "2026-05-01")

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["formula_amended_from"]
    assert error.startswith("A resale of lease GL-2017-030 was contracted on 2026-06-01")
    assert not LeaseFormula.objects.exists()
    index_lease.refresh_from_db()
    assert index_lease.resale_formula == INDEX_AMI


def test_an_amendment_whose_date_has_come_is_the_formula_the_lease_page_shows_and_saves(
    editor, index_lease
):
    """Scheduled for a later date, the amendment left the lease's field as it was; once the
    date has come, the page shows it as today's formula and a save writes it there."""
    LeaseFormula.objects.create(lease=index_lease, effective_on=index_lease.starts_on,
                                formula=INDEX_AMI, note="as signed")  # fmt: skip
    LeaseFormula.objects.create(
        lease=index_lease, effective_on=timezone.localdate() - dt.timedelta(days=1),
        formula=factories.FIXED_2PCT_SIMPLE, note=AMENDMENT,
    )  # fmt: skip

    data = factories.admin_form_data(editor.get(change_url(index_lease)))
    assert json.loads(data["resale_formula"]) == factories.FIXED_2PCT_SIMPLE
    assert editor.post(change_url(index_lease), data).status_code == 302

    index_lease.refresh_from_db()
    assert index_lease.resale_formula == factories.FIXED_2PCT_SIMPLE
    assert index_lease.formulas.count() == 2  # no amendment made by the save
