"""The staff admin for parties and ground leases: search, roles, history, today's resale price."""

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone
from pghistory.models import Events

from leases.models import (
    Appraisal,
    CapitalImprovement,
    GroundLease,
    IndexSeries,
    IndexValue,
    LeaseFeeChange,
    MonitoringEvent,
    Party,
    RepairDeduction,
    Resale,
)
from tests import factories
from tests.adminpages import change_url, changelist_url, found

pytestmark = pytest.mark.django_db

LEASES_MODELS = [model for model in admin.site._registry if model._meta.app_label == "leases"]

# docs/domain.md example 1 with a credit and a deduction: 281,250 + 6,000 - 1,200 = 286,050.
APPRAISAL_WITH_CREDITS = {
    "type": "composed",
    "base": {"type": "appraisal_share", "share": "0.25", "share_of": "increase"},
    "steps": [{"type": "improvement_credit"}, {"type": "repair_deduction"}],
}


@pytest.fixture
def registry():
    return factories.registry()


# An appraisal at resale recent enough to price a sale today on (one more than 12 months
# before the sale is too old: `leases.pricing`).
RECENT = timezone.localdate() - dt.timedelta(days=30)


@pytest.fixture
def priced_lease():
    lease = factories.lease(
        reference="GL-2017-004",
        purchase_price=Decimal("250000.00"),
        purchase_date=dt.date(2017, 6, 1),
        resale_formula=APPRAISAL_WITH_CREDITS,
    )
    Appraisal.objects.create(lease=lease, on=dt.date(2017, 5, 1), value=350000, purpose="purchase")
    Appraisal.objects.create(lease=lease, on=RECENT, value=475000, purpose="resale")
    CapitalImprovement.objects.create(
        lease=lease,
        description="New roof",
        approved_on=dt.date(2020, 4, 1),
        completed_on=dt.date(2020, 9, 1),
        cost=6000,
        credit=6000,
    )
    RepairDeduction.objects.create(
        lease=lease, description="Porch steps", assessed_on=dt.date(2025, 2, 1), amount=1200
    )
    return lease


# --- every page renders -----------------------------------------------------------------------


@pytest.mark.parametrize("model", LEASES_MODELS, ids=lambda m: m._meta.model_name)
def test_every_leases_changelist_renders_for_an_editor(editor, registry, model):
    assert editor.get(changelist_url(model)).status_code == 200


@pytest.mark.parametrize("model", LEASES_MODELS, ids=lambda m: m._meta.model_name)
def test_every_leases_change_page_renders_for_an_editor(editor, registry, model):
    obj = registry[model._meta.model_name]
    response = editor.get(change_url(obj))
    assert response.status_code == 200
    assert response.context["original"] == obj


@pytest.mark.parametrize("model", LEASES_MODELS, ids=lambda m: m._meta.model_name)
def test_every_leases_change_page_renders_for_a_reader(reader, registry, model):
    assert reader.get(change_url(registry[model._meta.model_name])).status_code == 200


def test_the_lease_page_shows_every_record_hanging_on_the_lease_inline(editor, registry):
    response = editor.get(change_url(registry["groundlease"]))
    prefixes = {f.formset.prefix for f in response.context["inline_admin_formsets"]}
    assert prefixes == {
        "fee_changes",
        "formulas",
        "monitoring",
        "appraisals",
        "improvements",
        "repairs",
        "resales",
        "sources",
    }


# --- search and filters -----------------------------------------------------------------------


def test_search_by_lease_reference_finds_the_lease(editor):
    wanted = factories.lease(reference="GL-2019-017")
    factories.lease(reference="GL-2021-002")
    assert found(editor.get(changelist_url(GroundLease), {"q": "2019-017"})) == [wanted]


def test_search_by_apn_finds_the_lease_on_that_parcel(editor):
    lot = factories.parcel(apn="164-444-004")
    wanted = factories.lease(holding_=factories.holding(parcels=[lot]))
    factories.lease()
    assert found(editor.get(changelist_url(GroundLease), {"q": "164-444"})) == [wanted]


def test_search_by_address_finds_the_lease_on_that_parcel(editor):
    lot = factories.parcel(address="1072 Ewing St")
    wanted = factories.lease(holding_=factories.holding(parcels=[lot]))
    factories.lease()
    assert found(editor.get(changelist_url(GroundLease), {"q": "ewing"})) == [wanted]


def test_search_by_lessee_name_finds_the_lease(editor):
    wanted = factories.lease(lessees=(factories.party(name="Medgar Evers household"),))
    factories.lease(lessees=(factories.party(name="Hamer household"),))
    assert found(editor.get(changelist_url(GroundLease), {"q": "Evers"})) == [wanted]


def test_search_by_lessee_name_ignores_apostrophes(editor):
    wanted = factories.lease(lessees=(factories.party(name="D’Angelo household"),))
    factories.lease(lessees=(factories.party(name="Angelou household"),))
    assert found(editor.get(changelist_url(GroundLease), {"q": "D'Angelo"})) == [wanted]
    assert found(editor.get(changelist_url(GroundLease), {"q": "dangelo"})) == [wanted]


def test_search_by_lessee_name_ignores_accents(editor):
    wanted = factories.lease(lessees=(factories.party(name="José Muñoz household"),))
    factories.lease(lessees=(factories.party(name="Munz household"),))
    for typed in ("Munoz", "MUÑOZ", "jose munoz"):
        assert found(editor.get(changelist_url(GroundLease), {"q": typed})) == [wanted], typed


def test_filter_by_status_and_permitted_use_keeps_only_matching_leases(editor):
    wanted = factories.lease(permitted_use="agricultural")
    factories.lease(permitted_use="residential")
    factories.lease(permitted_use="agricultural", status="terminated", ended_on=dt.date(2024, 1, 1))
    response = editor.get(
        changelist_url(GroundLease),
        {"status__exact": "active", "permitted_use__exact": "agricultural"},
    )
    assert found(response) == [wanted]


def test_filter_monitoring_events_by_type_and_status(editor):
    lease = factories.lease()
    wanted = MonitoringEvent.objects.create(lease=lease, type="inspection", on=dt.date(2025, 1, 2))
    MonitoringEvent.objects.create(lease=lease, type="late_fee_payment", on=dt.date(2025, 1, 2))
    MonitoringEvent.objects.create(
        lease=lease,
        type="inspection",
        on=dt.date(2024, 1, 2),
        status="resolved",
        resolved_on=dt.date(2024, 2, 1),
    )
    response = editor.get(
        changelist_url(MonitoringEvent), {"type__exact": "inspection", "status__exact": "open"}
    )
    assert found(response) == [wanted]


def test_a_monitoring_event_is_titled_by_its_type_date_and_status(editor):
    lease = factories.lease()
    open_ = MonitoringEvent.objects.create(lease=lease, type="inspection", on=dt.date(2026, 3, 1))
    resolved = MonitoringEvent.objects.create(
        lease=lease, type="proof_of_insurance", on=dt.date(2025, 1, 15), status="resolved",
        resolved_on=dt.date(2025, 2, 1),
    )  # fmt: skip

    assert str(open_) == "Inspection on 2026-03-01 (open)"
    assert str(resolved) == "Proof of insurance on 2025-01-15 (resolved on 2025-02-01)"
    page = editor.get(change_url(lease)).content.decode()
    assert "Inspection on 2026-03-01 (open)" in page  # the title of its row on the lease page
    assert "MonitoringEvent object" not in page


def test_a_resale_is_titled_by_its_lease_and_dates():
    lease = factories.lease(reference="GL-2021-007")
    seller, buyer = lease.lessees.first(), factories.party()
    resale = Resale(lease=lease, seller=seller, buyer=buyer, contract_on=dt.date(2026, 11, 10))

    assert str(resale) == "Resale of GL-2021-007, contract 2026-11-10, not closed"
    resale.closed_on = dt.date(2026, 11, 20)
    assert str(resale) == "Resale of GL-2021-007, contract 2026-11-10, closed 2026-11-20"
    assert str(Resale()) == "Resale of a lease not chosen yet, contract not dated, not closed"


def test_search_parties_by_name_or_member_name(editor, registry):
    household = registry["party"]
    assert found(editor.get(changelist_url(Party), {"q": "Hamer"})) == [household]
    assert found(editor.get(changelist_url(Party), {"q": "Fannie"})) == [household]


# --- today's maximum resale price -------------------------------------------------------------


def test_lease_page_shows_todays_maximum_resale_price_line_by_line(editor, priced_lease):
    html = editor.get(change_url(priced_lease)).content.decode()

    price = html[html.index('class="clt-resale-price"') :]
    for label, amount in [
        ("Purchase price", "$250,000.00"),
        ("Capital improvement: New roof (100% of cost $6,000.00)", "$6,000.00"),
        ("Repair deduction: Porch steps", "-$1,200.00"),
    ]:
        assert label in price
        assert amount in price
    assert '<th class="clt-price">$286,050.00</th>' in price
    assert f"on {timezone.localdate().isoformat()}" in price


def test_lease_page_shows_every_line_the_formula_gives(editor, priced_lease):
    from leases.admin import dollars
    from leases.pricing import max_resale_price

    result = max_resale_price(priced_lease, on=timezone.localdate())
    html = editor.get(change_url(priced_lease)).content.decode()

    assert html.count('class="clt-line ') == len(result.lines)
    for line in result.lines:
        assert dollars(line.amount) in html


def test_a_lease_whose_formula_cannot_be_priced_shows_why_instead_of_failing(editor):
    lease = factories.lease(
        resale_formula={"type": "appraisal_share", "share": "0.25", "share_of": "increase"}
    )

    response = editor.get(change_url(lease))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="errornote clt-price-error"' in html
    assert price_panel_of(html) == (
        f"No price on {timezone.localdate().isoformat()}: The lease's appraisal-share formula "
        "needs the home's appraised value at resale, and no appraisal is on record after the "
        f"purchase on 2017-06-01, up to {timezone.localdate().isoformat()}. Add the appraisal "
        "under Appraisals below, with purpose “At resale”."
    )


def price_panel_of(page: str) -> str:
    """The lease page's resale-price panel as staff read it: tags dropped, spaces folded."""
    start = page.index('class="form-row field-max_resale_price_today"')
    panel = page[page.index('<div class="readonly">', start) : page.index("field-notes", start)]
    panel = panel[: panel.rindex("</fieldset>")] if "</fieldset>" in panel else panel
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", panel)).split())
    return re.sub(r" ([.,])", r"\1", text)  # a tag dropped before a stop left a space


def test_an_itemized_formula_names_the_figures_no_record_keeps_and_how_to_price_the_sale(editor):
    lease = factories.lease(reference="GL-2017-015", resale_formula=factories.ITEMIZED_CAPPED)
    today = timezone.localdate().isoformat()

    panel = price_panel_of(editor.get(change_url(lease)).content.decode())

    assert panel == (
        f"No price on {today}: The lease's itemized formula needs the principal the seller has "
        "paid down on their mortgage, the seller's closing costs and the seller's net proceeds "
        "from the sale: figures of the sale that the registry does not keep, so this page "
        f"cannot price it. Price the sale with clt resale-price --lease GL-2017-015 --sale-date "
        f"{today} --input principal_paid=AMOUNT --input seller_closing_costs=AMOUNT --input "
        "seller_net_proceeds=AMOUNT, and enter that price by hand as the formula price of the "
        "resale, under Resales below."
    )


def test_a_missing_purchase_appraisal_says_to_add_it_under_appraisals(editor):
    lease = factories.lease(
        resale_formula={"type": "appraisal_share", "share": "0.25", "share_of": "increase"}
    )
    Appraisal.objects.create(lease=lease, on=RECENT, value=475000, purpose="resale")

    panel = price_panel_of(editor.get(change_url(lease)).content.decode())

    assert panel.endswith(
        "The lease's appraisal-share formula needs the home's appraised value when the current "
        "lessee bought it, on 2017-06-01, and no appraisal of that purchase is on record. Add "
        "it under Appraisals below, with purpose “At purchase” (one dated up to 12 months "
        "before the purchase also counts)."
    )


def test_missing_monthly_taxes_say_where_on_the_lease_page_to_enter_them(editor):
    series = IndexSeries.objects.create(name="hud-il", kind="hud_income_limit", source="HUD")
    IndexValue.objects.create(
        series=series, year=2024, household_size=4, percent_of_median=80, value=58750
    )
    lease = factories.lease(resale_formula={
        "type": "mortgage_based", "housing_cost_share": "0.30", "interest_rate": "0.065",
        "term_years": 30, "down_payment": "5000", "percent_of_median": 80, "household_size": 4,
    })  # fmt: skip

    panel = price_panel_of(editor.get(change_url(lease)).content.decode())

    assert panel.endswith(
        "The lease's mortgage-based formula needs the home's property taxes, monthly, which "
        "the lease does not give: enter it in “Taxes monthly” under Responsibilities above."
    )


def test_a_terminated_lease_says_it_ended_and_gives_no_price_for_today(editor):
    lessee, trust = factories.party(), factories.party(kind="trust", name="The trust")
    lease = factories.lease(
        lessees=(lessee,),
        status="terminated",
        ended_on=dt.date(2024, 10, 31),
        end_reason="Surrendered on the sale of the home to the trust",
    )  # bought for $250,000 on 2017-06-01; 2% a year, simple: 7 years by the end
    Resale.objects.create(
        lease=lease, seller=lessee, buyer=trust, contract_on=dt.date(2024, 9, 10),
        closed_on=dt.date(2024, 10, 31), formula_price=285000, agreed_price=280000,
    )  # fmt: skip

    panel = price_panel_of(editor.get(change_url(lease)).content.decode())

    assert panel.startswith(
        "This lease ended on 2024-10-31 (terminated: Surrendered on the sale of the home to the "
        "trust), so it has no resale price today. Its last resale closed on 2024-10-31 at "
        "$280,000.00 (formula price $285,000.00). Maximum resale price on 2024-09-10, the "
        "contract day of the trust's buy-back that ended the lease, at its appraisal (what its "
        "purchase option paid, not today's), by the lease's formula"
    )
    assert "Maximum resale price $285,000.00" in panel
    assert timezone.localdate().isoformat() not in panel


def test_a_lease_past_its_term_says_its_term_ran_out(editor):
    lease = factories.lease(starts_on=dt.date(2017, 6, 1), term_years=5)

    panel = price_panel_of(editor.get(change_url(lease)).content.decode())

    assert panel.startswith(
        "This lease's term ran out on 2022-06-01, so it has no resale price today."
    )
    assert "Maximum resale price $275,000.00" in panel  # 2% a year for 5 years, on 2022-06-01


def test_a_lease_ending_today_still_shows_todays_price(editor):
    today = timezone.localdate()
    lease = factories.lease(status="terminated", ended_on=today)

    panel = price_panel_of(editor.get(change_url(lease)).content.decode())

    assert panel.startswith(f"Maximum resale price on {today.isoformat()}, by the lease's formula")
    assert "ended" not in panel


def test_a_purchase_date_too_early_to_price_is_explained_not_a_bare_dash(editor):
    lease = factories.lease(purchase_date=dt.date(1, 1, 1))

    html = editor.get(change_url(lease)).content.decode()

    assert (
        f"No price on {timezone.localdate().isoformat()}: purchase_date: 0001-01-01 is too "
        "early to look back 12 months for its appraisal (the calendar starts in year 1); "
        "check the lease&#x27;s purchase date"
    ) in html


def test_a_price_that_fails_outside_the_formulas_checks_is_explained(editor, monkeypatch):
    lease = factories.lease(reference="GL-2017-004")

    def fails(*args, **kwargs):
        raise OverflowError("date value out of range")

    monkeypatch.setattr("leases.admin.max_resale_price", fails)
    html = editor.get(change_url(lease)).content.decode()

    assert (
        "the lease's figures are outside what the formula can compute (date value out "
        "of range). Check its purchase price and date ($250,000.00, 2017-06-01)"
    ) in html


def test_a_stored_formula_the_engine_rejects_is_reported_on_the_page(editor):
    lease = factories.lease(resale_formula={"type": "fixed-rate", "rate": "0.02"})
    html = editor.get(change_url(lease)).content.decode()
    assert "No price on" in html
    assert "fixed-rate" in html


def test_an_invalid_formula_posted_by_an_editor_is_refused_on_its_field(editor, registry):
    lease = registry["groundlease"]
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["resale_formula"] = '{"type": "fixed_rate", "method": "simple"}'

    response = editor.post(change_url(lease), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["resale_formula"]
    assert errors[0].startswith("resale formula: rate")
    lease.refresh_from_db()
    assert lease.resale_formula == factories.FIXED_2PCT_SIMPLE


# --- who may do what --------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_the_login_page(client, registry):
    response = client.get(change_url(registry["groundlease"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_read_only_user_sees_the_lease_without_a_save_button(reader, priced_lease):
    html = reader.get(change_url(priced_lease)).content.decode()
    assert "GL-2017-004" in html
    assert "$286,050.00" in html
    assert 'name="_save"' not in html


def test_read_only_user_is_refused_a_change_and_nothing_is_saved(reader, registry):
    lease = registry["groundlease"]
    response = reader.post(change_url(lease), {"reference": "GL-HACKED"})
    assert response.status_code == 403
    lease.refresh_from_db()
    assert lease.reference != "GL-HACKED"


def test_editor_may_not_delete_a_lease(editor, registry):
    lease = registry["groundlease"]
    url = reverse("admin:leases_groundlease_delete", args=[lease.pk])
    assert editor.post(url, {"post": "yes"}).status_code == 403
    assert GroundLease.objects.filter(pk=lease.pk).exists()


def test_editor_may_not_delete_a_party(editor, registry):
    url = reverse("admin:leases_party_delete", args=[registry["party"].pk])
    assert editor.post(url, {"post": "yes"}).status_code == 403


# --- writes are named actions; the fee follows its fee changes -------------------------------


def test_editor_edit_of_a_lease_leaves_a_history_event_with_the_user_and_the_action(
    editor, registry
):
    lease = registry["groundlease"]
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["arrears"] = "75.00"

    response = editor.post(change_url(lease), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    event = Events.objects.tracks(lease).filter(pgh_label="update").get()
    assert event.pgh_diff == {"arrears": [0.0, 75.0]}
    assert event.pgh_context["action"] == "admin_groundlease_change"
    assert event.pgh_context["user"] == response.wsgi_request.user.pk


def test_the_fee_of_a_signed_lease_changes_only_through_a_dated_fee_change(editor, registry):
    lease = registry["groundlease"]
    response = editor.get(change_url(lease))
    assert "fee_monthly" not in response.context["adminform"].form.fields

    data = factories.admin_form_data(response)
    add_fee_change(data, lease, "2026-01-01", "0.00", "suspended during repairs")
    response = editor.post(change_url(lease), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    lease.refresh_from_db()
    assert lease.fee_monthly == Decimal("0.00")
    tagged = [e for e in Events.objects.references(lease) if e.pgh_context]  # not the factory's
    assert {e.pgh_context["action"] for e in tagged} == {"admin_groundlease_change"}
    assert {e.pgh_model for e in tagged} == {
        "leases.LeaseFeeChangeEvent",
        "leases.GroundLeaseEvent",
    }


def add_fee_change(data: dict, lease, effective_on: str, fee: str, reason: str) -> None:
    """One more row in the lease page's fee-change inline, as staff fill it in."""
    total = int(data["fee_changes-TOTAL_FORMS"])
    data["fee_changes-TOTAL_FORMS"] = str(total + 1)
    data[f"fee_changes-{total}-effective_on"] = effective_on
    data[f"fee_changes-{total}-fee_monthly"] = fee
    data[f"fee_changes-{total}-reason"] = reason
    data[f"fee_changes-{total}-lease"] = str(lease.pk)


def test_a_fee_change_dated_later_does_not_change_the_fee_before_its_date(editor, registry):
    lease = registry["groundlease"]
    data = factories.admin_form_data(editor.get(change_url(lease)))
    later = timezone.localdate() + dt.timedelta(days=40)
    add_fee_change(data, lease, later.isoformat(), "35.00", "annual review")

    response = editor.post(change_url(lease), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    lease.refresh_from_db()
    assert lease.fee_monthly == Decimal("25.00")
    assert lease.fee_changes.filter(effective_on=later, fee_monthly=Decimal("35.00")).exists()


def test_the_lease_list_shows_the_fee_in_force_today(editor, registry):
    lease = registry["groundlease"]  # stored fee 25.00, signed 2017
    today = timezone.localdate()
    LeaseFeeChange.objects.create(lease=lease, effective_on=today, fee_monthly=Decimal("30.00"))
    LeaseFeeChange.objects.create(
        lease=lease, effective_on=today + dt.timedelta(days=1), fee_monthly=Decimal("99.00")
    )

    response = editor.get(changelist_url(GroundLease))

    assert [row.fee_monthly_today for row in found(response)] == [Decimal("30.00")]
    assert "30.00" in response.content.decode() and "99.00" not in response.content.decode()


def new_lease_data(**fields: str) -> dict:
    """The add-lease page's POST body: a lease of a new one-lot holding, no inline rows."""
    held = factories.holding(parcels=[factories.parcel()])
    household = factories.party()
    data = {
        "reference": "GL-2026-001",
        "holding": held.pk,
        "parcels": [held.parcels.get().pk],
        "lessees": [household.pk],
        "status": "active",
        "permitted_use": "residential",
        "starts_on": "2026-02-01",
        "term_years": "99",
        "renewable": "on",
        "renewal_term_years": "99",
        "fee_monthly": "25.00",
        "arrears": "0",
        "occupancy_months_per_year": "10",
        "taxes_paid_by_lessee": "on",
        "permitted_mortgage": "on",
        "transfer_on_death": "heirs_may_assume",
        "purchase_price": "180000.00",
        "purchase_date": "2026-02-01",
        "resale_formula": '{"type": "fixed_rate", "method": "compound", "rate": "0.015"}',
    }
    for prefix in (
        "fee_changes",
        "monitoring",
        "appraisals",
        "improvements",
        "repairs",
        "resales",
        "sources",
    ):
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    data.update(fields)
    return data


def test_a_lease_added_in_the_admin_records_its_fee_at_signing(editor):
    response = editor.post(reverse("admin:leases_groundlease_add"), new_lease_data())

    assert response.status_code == 302, response.context and response.context["errors"]
    lease = GroundLease.objects.get(reference="GL-2026-001")
    fees = list(LeaseFeeChange.objects.filter(lease=lease).values_list("fee_monthly", "reason"))
    assert fees == [(Decimal("25.00"), "fee at signing")]
    actions = {e.pgh_context["action"] for e in Events.objects.references(lease)}
    assert actions == {"admin_groundlease_add"}


def add_new_lease_fee_row(data: dict, effective_on: str, fee: str, reason: str = "") -> None:
    """One more row in the add-lease page's fee-change inline (the lease has no id yet)."""
    total = int(data["fee_changes-TOTAL_FORMS"])
    data["fee_changes-TOTAL_FORMS"] = str(total + 1)
    data[f"fee_changes-{total}-effective_on"] = effective_on
    data[f"fee_changes-{total}-fee_monthly"] = fee
    data[f"fee_changes-{total}-reason"] = reason


def test_a_lease_added_with_a_later_fee_change_keeps_its_fee_at_signing(editor):
    data = new_lease_data(starts_on="2019-01-01", purchase_date="2019-01-01", fee_monthly="40.00")
    add_new_lease_fee_row(data, "2023-01-01", "45.00", "annual review")

    response = editor.post(reverse("admin:leases_groundlease_add"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    lease = GroundLease.objects.get(reference="GL-2026-001")
    assert list(lease.fee_changes.values_list("effective_on", "fee_monthly", "reason")) == [
        (dt.date(2019, 1, 1), Decimal("40.00"), "fee at signing"),
        (dt.date(2023, 1, 1), Decimal("45.00"), "annual review"),
    ]
    assert lease.fee_in_force(dt.date(2020, 6, 1)) == Decimal("40.00")
    assert lease.fee_monthly == Decimal("45.00")  # the fee in force today


def test_a_fee_change_entered_on_the_start_date_is_the_fee_at_signing_and_staff_are_told(editor):
    data = new_lease_data(starts_on="2019-01-01", purchase_date="2019-01-01", fee_monthly="40.00")
    add_new_lease_fee_row(data, "2019-01-01", "42.00", "as signed")

    response = editor.post(reverse("admin:leases_groundlease_add"), data, follow=True)

    lease = GroundLease.objects.get(reference="GL-2026-001")
    assert list(lease.fee_changes.values_list("effective_on", "fee_monthly")) == [
        (dt.date(2019, 1, 1), Decimal("42.00"))
    ]
    assert lease.fee_monthly == Decimal("42.00")
    said = [str(message) for message in response.context["messages"]]
    assert (
        "The fee change dated 2019-01-01, the lease's start, is its fee at signing: $42.00 a "
        "month, not the $40.00 entered as the monthly fee. If the lease says otherwise, "
        "correct that fee change."
    ) in said


def test_saving_again_a_lease_added_with_a_fee_change_adds_no_second_fee_at_signing(editor):
    data = new_lease_data(starts_on="2019-01-01", purchase_date="2019-01-01", fee_monthly="40.00")
    add_new_lease_fee_row(data, "2023-01-01", "45.00")
    assert editor.post(reverse("admin:leases_groundlease_add"), data).status_code == 302
    lease = GroundLease.objects.get(reference="GL-2026-001")

    data = factories.admin_form_data(editor.get(change_url(lease)))
    response = editor.post(change_url(lease), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert list(lease.fee_changes.values_list("effective_on", "fee_monthly")) == [
        (dt.date(2019, 1, 1), Decimal("40.00")),
        (dt.date(2023, 1, 1), Decimal("45.00")),
    ]
    lease.refresh_from_db()
    assert lease.fee_monthly == Decimal("45.00")


def test_the_add_lease_page_leaves_the_formula_box_empty_not_null(editor):
    response = editor.get(reverse("admin:leases_groundlease_add"))

    assert response.context["adminform"].form["resale_formula"].value() == ""
    html = response.content.decode()
    box = html[html.index('name="resale_formula"') :]
    assert box[box.index(">") + 1 :].startswith("\n</textarea>")  # Django adds the newline


def test_a_lease_posted_without_a_formula_is_asked_for_one(editor):
    response = editor.post(reverse("admin:leases_groundlease_add"), {"resale_formula": ""})

    assert response.context["adminform"].form.errors["resale_formula"] == [
        "This field is required."
    ]
    assert 'name="resale_formula"' in response.content.decode()


def test_lease_history_shows_changes_to_the_records_hanging_on_it(editor, registry):
    lease = registry["groundlease"]
    event = registry["monitoringevent"]
    url = change_url(event)
    data = factories.admin_form_data(editor.get(url))
    data["notes"] = "Certified by phone"
    editor.post(url, data)

    response = editor.get(reverse("admin:leases_groundlease_history", args=[lease.pk]))

    named = [e for e in response.context["clt_history"] if e.action]
    assert [(e.action, e.user, e.what, e.changes[0].new) for e in named] == [
        (
            "admin_monitoringevent_change",
            "edna",
            f"monitoring event {event.pk}",
            "Certified by phone",
        ),
    ]


def test_a_lease_saved_untouched_records_no_edit_of_its_multi_line_notes(editor, registry):
    # Notes as the CLI, the demo or an import write them: lines ending in LF
    lease, event = registry["groundlease"], registry["monitoringevent"]
    GroundLease.objects.filter(pk=lease.pk).update(notes="Signed at the office\nCopy kept")
    MonitoringEvent.objects.filter(pk=event.pk).update(
        notes="Asked to refinance; letter sent\nCertified mail"
    )
    data = factories.admin_form_data(editor.get(change_url(lease)))
    # A browser posts a text box's line breaks as CRLF (HTML's form submission rules)
    typed = {key: value.replace("\n", "\r\n") for key, value in data.items()
             if isinstance(value, str) and "\n" in value}  # fmt: skip
    assert sorted(typed) == ["monitoring-0-notes", "notes"]
    events_before = Events.objects.references(lease).count()

    response = editor.post(change_url(lease), {**data, **typed})

    assert response.status_code == 302, response.context and response.context["errors"]
    assert Events.objects.references(lease).count() == events_before
    logged = LogEntry.objects.get(object_id=str(lease.pk))
    assert logged.get_change_message() == "No fields changed."
    lease.refresh_from_db()
    event.refresh_from_db()
    assert (lease.notes, event.notes) == (
        "Signed at the office\nCopy kept",
        "Asked to refinance; letter sent\nCertified mail",
    )


def test_a_note_typed_in_the_admin_is_stored_with_line_feeds(editor, registry):
    event = registry["monitoringevent"]
    data = factories.admin_form_data(editor.get(change_url(event)))
    data["notes"] = "Called twice\r\nNo answer\rLetter sent"

    assert editor.post(change_url(event), data).status_code == 302

    event.refresh_from_db()
    assert event.notes == "Called twice\nNo answer\nLetter sent"


def test_lease_history_shows_money_to_the_cent(editor, registry):
    lease = registry["groundlease"]
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["arrears"] = "75.00"
    editor.post(change_url(lease), data)

    entries = editor.get(change_url(lease)).context["clt_history"]

    changes = [(c.field, c.old, c.new) for e in entries for c in e.changes]
    assert changes == [("arrears", "$0.00", "$75.00")]


def test_records_without_history_tracking_keep_the_admins_own_history_page(editor, registry):
    url = reverse("admin:parcels_overlay_history", args=[registry["overlay"].pk])
    response = editor.get(url)
    assert response.status_code == 200
    assert "clt_history" not in response.context


# --- the lease form checks the lease against its holding ---------------------------------------


def test_a_parcel_outside_the_holding_is_refused_on_the_lease_form_naming_its_apn(
    editor, registry
):
    lease = registry["groundlease"]
    stray = factories.parcel(apn="164-999-002")
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["parcels"] = [str(lease.parcels.get().pk), str(stray.pk)]

    response = editor.post(change_url(lease), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parcels"] == [
        f"Not parcels of {lease.holding} now: 164-999-002."
    ]
    assert list(lease.parcels.all()) == [registry["parcel"]]


def test_an_end_date_on_an_active_lease_is_refused_on_the_status(editor, registry):
    lease = registry["groundlease"]
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["ended_on"] = "2024-10-31"

    response = editor.post(change_url(lease), data)

    assert response.status_code == 200
    assert "set the status to terminated or expired" in str(
        response.context["adminform"].form.errors["status"]
    )


# --- records that outlived their holding's parcels, and index values -------------------------


def test_a_lease_whose_holding_has_let_its_parcel_go_still_saves_unchanged(editor, registry):
    """The parcels are checked when they are chosen: a lease signed when the holding held its
    lot must still save (notes, status, end) after the holding ended that membership."""
    from parcels.models import HoldingParcel

    lease = registry["groundlease"]
    HoldingParcel.objects.filter(holding=lease.holding).update(ended_on=dt.date(2025, 6, 1))
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["notes"] = "Holding ended in 2025; lease kept on record."

    response = editor.post(change_url(lease), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    lease.refresh_from_db()
    assert lease.notes.startswith("Holding ended")


def test_choosing_a_parcel_the_holding_no_longer_holds_is_still_refused(editor, registry):
    from parcels.models import HoldingParcel

    lease = registry["groundlease"]
    other = factories.parcel()
    factories.holding(parcels=[other])
    HoldingParcel.objects.filter(parcel=other).update(ended_on=dt.date(2025, 6, 1))
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["parcels"] = [str(lease.parcels.get().pk), str(other.pk)]

    response = editor.post(change_url(lease), data)

    assert response.status_code == 200
    assert other.apn in str(response.context["errors"])


def test_a_holding_cannot_be_dated_after_its_lease_began(editor, registry):
    holding = registry["holding"]
    data = factories.admin_form_data(editor.get(change_url(holding)))
    data["acquired_on"] = "2020-01-01"  # the lease began 2017-06-01

    response = editor.post(change_url(holding), data)

    assert response.status_code == 200
    assert "starts on 2017-06-01, before this date" in str(response.context["errors"])
    holding.refresh_from_db()
    assert holding.acquired_on == dt.date(2017, 3, 1)


def test_an_index_value_already_in_the_series_is_a_field_error_not_a_500(editor, registry):
    series = registry["indexseries"]
    kept = series.values.first()
    data = factories.admin_form_data(editor.get(change_url(series)))
    total = int(data["values-TOTAL_FORMS"])
    data["values-TOTAL_FORMS"] = str(total + 2)
    for row in (total, total + 1):  # once against the saved value, once twice in the form
        data[f"values-{row}-year"] = str(kept.year)
        data[f"values-{row}-month"] = "" if kept.month is None else str(kept.month)
        data[f"values-{row}-value"] = "70000"
        data[f"values-{row}-series"] = str(series.pk)

    response = editor.post(change_url(series), data)

    assert response.status_code == 200
    assert "already has a value for" in str(response.context["errors"])
    assert series.values.count() == 1
