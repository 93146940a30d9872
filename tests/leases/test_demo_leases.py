"""The demo's parties, leases, fees, monitoring, appraisals and resales load through the named
actions, match their files, and keep a consistent chain of owners."""

import csv
import datetime as dt
import json
import shutil
from decimal import Decimal

import pytest
from django.apps import apps

from leases.models import (
    Appraisal,
    CapitalImprovement,
    GroundLease,
    IndexSeries,
    LeaseFeeChange,
    MonitoringEvent,
    Party,
    PartyMember,
    RepairDeduction,
    Resale,
)
from leases.pricing import max_resale_price
from leases.resale import SaleInputs, parse_formula
from parcels.demo import DEMO_DIR, DemoDataError, load_demo_neighbourhood
from parcels.models import ConservationEasement, EasementMonitoringVisit, Holding, Parcel

pytestmark = pytest.mark.django_db

# Distinctive private values a privacy test can search public pages and layers for (listed in
# fixtures/west_jackson/README.md).
PRIVATE_VALUES = (
    "Zephyrine Okonkwo-Baptiste", "41327.00", "187.43", "562.29", "PRIVATE-NOTE",
    "Heirs of Annie U. Jackson",
)  # fmt: skip


def rows(name: str) -> list[dict[str, str]]:
    with (DEMO_DIR / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def demo():
    return load_demo_neighbourhood()


def test_every_lease_file_row_is_loaded(demo):
    counts = {
        "parties.csv": Party.objects.count(),
        "party_members.csv": PartyMember.objects.count(),
        "leases.csv": GroundLease.objects.count(),
        "appraisals.csv": Appraisal.objects.count(),
        "capital_improvements.csv": CapitalImprovement.objects.count(),
        "repairs.csv": RepairDeduction.objects.count(),
        "monitoring.csv": MonitoringEvent.objects.count(),
        "resales.csv": Resale.objects.count(),
    }
    assert counts == {name: len(rows(name)) for name in counts}
    # one fee change at each signing, then the changes in the file
    assert LeaseFeeChange.objects.count() == len(rows("leases.csv")) + len(rows("fee_changes.csv"))
    assert (demo.leases.parties, demo.leases.leases, demo.leases.resales) == (21, 16, 3)
    assert IndexSeries.objects.count() == demo.leases.index_series == 2


def test_leases_cover_the_trusts_homes_co_ops_farm_and_commercial_holdings(demo):
    leased = set(GroundLease.objects.values_list("holding__current_use", flat=True))
    assert leased == {"single_family_home", "coop_housing", "commercial_coop", "urban_farm"}
    assert set(GroundLease.objects.values_list("term_years", flat=True)) == {99}
    kinds = dict(Party.objects.filter(leases__isnull=False).values_list("name", "kind"))
    assert kinds["Ewing Street Housing Cooperative"] == "cooperative"
    assert kinds["Community Production Cooperative"] == "cooperative"
    assert kinds["Freedom Farm Cooperative"] == "cooperative"
    assert GroundLease.objects.get(holding__name="Freedom Farm").permitted_use == "agricultural"


def test_the_formulas_cover_the_published_families_with_caps_and_allowances(demo):
    def types(node) -> set[str]:
        found = set()
        if isinstance(node, dict):
            found.add(node.get("type"))
            for value in node.values():
                found |= types(value)
        elif isinstance(node, list):
            for value in node:
                found |= types(value)
        return found

    used = set().union(
        *(types(f) for f in GroundLease.objects.values_list("resale_formula", flat=True))
    )
    assert {
        "appraisal_share", "time_vested_appraisal_share", "index", "fixed_rate", "itemized",
        "lesser_of", "selling_allowance", "improvement_credit", "repair_deduction",
    } <= used  # fmt: skip
    compound = json.loads((DEMO_DIR / "formulas" / "fixed-compound-1.5.json").read_text())
    assert compound["base"] == {"type": "fixed_rate", "method": "compound", "rate": "0.015"}


def test_fees_end_at_their_last_change_and_statuses_are_as_filed(demo):
    production = GroundLease.objects.get(reference="GL-2017-015")
    assert production.fee_monthly == Decimal("187.43")
    assert production.arrears == Decimal("562.29")  # three months of 187.43
    fees = list(
        production.fee_changes.order_by("effective_on").values_list("fee_monthly", flat=True)
    )
    assert fees == [Decimal("150.00"), Decimal("0.00"), Decimal("150.00"), Decimal("187.43")]
    assert GroundLease.objects.get(reference="GL-2021-007").status == "in_default"
    ended = GroundLease.objects.get(reference="GL-2021-012")
    assert (ended.status, ended.ended_on) == ("terminated", dt.date(2024, 10, 31))


def test_monitoring_has_open_and_resolved_events(demo):
    file_rows = rows("monitoring.csv")
    resolved = sum(1 for row in file_rows if row["resolved_on"])
    assert MonitoringEvent.objects.filter(status="resolved").count() == resolved == 11
    assert MonitoringEvent.objects.filter(status="open").count() == len(file_rows) - resolved == 6


def test_1418_rose_st_keeps_its_chain_of_owners(demo):
    lease = GroundLease.objects.get(holding__name="1418 Rose St")
    chain = list(lease.resales.order_by("contract_on").values_list("seller__name", "buyer__name"))
    assert chain == [
        ("Delacroix-Hale household", "Pruitt household"),
        ("Pruitt household", "Okonkwo-Baptiste household"),
    ]
    last = lease.resales.order_by("contract_on").last()
    assert list(lease.lessees.all()) == [last.buyer]
    assert (lease.purchase_price, lease.purchase_date) == (last.agreed_price, last.closed_on)


def test_every_resale_is_within_its_formula_price_and_below_the_appraisal(demo):
    for resale in Resale.objects.all():
        assert resale.agreed_price <= resale.formula_price <= resale.appraised_value


def test_the_2024_resale_price_is_what_the_leases_formula_gives(demo):
    """The Pruitts bought at $66,000 in 2020 (appraised $101,500 for their lender) and sold in
    2024 when it appraised at $128,000: 66,000 + 25% of 26,500 = 72,625."""
    lease = GroundLease.objects.get(reference="GL-2016-001")
    first, second = lease.resales.order_by("contract_on")
    inputs = SaleInputs(
        purchase_price=first.agreed_price,
        purchase_date=first.closed_on,
        sale_date=second.contract_on,
        appraisal_at_purchase=Appraisal.objects.get(lease=lease, on=dt.date(2020, 6, 25)).value,
        appraisal_at_resale=second.appraised_value,
    )
    result = parse_formula(lease.resale_formula).evaluate(inputs)
    assert result.price == second.formula_price == Decimal("72625.00")


def test_todays_price_comes_from_the_leases_own_records(demo):
    # 72,000 + 25% of (133,000 refinance appraisal 2026 - 128,000 at purchase 2024)
    result = max_resale_price(
        GroundLease.objects.get(reference="GL-2016-001"), on=dt.date(2026, 11, 1)
    )
    assert result.price == Decimal("73250.00")
    # appraisal share, heat-pump credit, foundation repair, 3% + $650 allowance, under the cap
    result = max_resale_price(
        GroundLease.objects.get(reference="GL-2020-006"), on=dt.date(2026, 11, 1)
    )
    assert result.price == Decimal("75222.00")


def test_the_distinctive_private_values_are_in_the_registry(demo):
    zephyrine = PartyMember.objects.get(name="Zephyrine Okonkwo-Baptiste")
    assert zephyrine.party.annual_income == Decimal("41327.00")
    assert GroundLease.objects.filter(
        fee_monthly=Decimal("187.43"), arrears=Decimal("562.29")
    ).exists()
    assert Party.objects.filter(notes__contains="PRIVATE-NOTE").exists()
    assert MonitoringEvent.objects.filter(notes__contains="PRIVATE-NOTE").exists()
    assert ConservationEasement.objects.filter(terms__contains="PRIVATE-NOTE").exists()
    assert EasementMonitoringVisit.objects.filter(notes__contains="PRIVATE-NOTE").exists()
    assert ConservationEasement.objects.filter(grantor__name="Heirs of Annie U. Jackson").exists()
    readme = (DEMO_DIR / "README.md").read_text()
    for value in PRIVATE_VALUES:
        assert value in readme


def test_history_names_the_action_and_the_demo_row_behind_each_record(demo):
    lease_events = apps.get_model("leases", "GroundLeaseEvent").objects.select_related(
        "pgh_context"
    )
    created = lease_events.get(pgh_label="insert", reference="GL-2017-015")
    assert created.pgh_context.metadata["action"] == "lease_create"
    assert created.pgh_context.metadata["source"] == "demo leases.csv row 4"
    fee = lease_events.filter(reference="GL-2017-015", fee_monthly=Decimal("187.43")).get()
    assert fee.pgh_context.metadata["action"] == "fee_change"
    assert fee.pgh_context.metadata["source"] == "demo fee_changes.csv row 8"
    # A lease the files say has ended is written as it stands (so the next lease on its home
    # does not overlap it), by the action that signs it.
    ended = lease_events.get(pgh_label="insert", reference="GL-2021-012")
    assert ended.status == "terminated" and ended.ended_on is not None
    assert ended.pgh_context.metadata["action"] == "lease_create"
    resales = apps.get_model("leases", "ResaleEvent").objects.select_related("pgh_context")
    assert {e.pgh_context.metadata["action"] for e in resales} == {"resale_record"}
    parties = apps.get_model("leases", "PartyEvent").objects.select_related("pgh_context")
    assert {e.pgh_context.metadata["action"] for e in parties} == {"demo_load"}


def test_reloading_the_demo_replaces_the_leases_rather_than_doubling_them(demo):
    load_demo_neighbourhood()
    assert GroundLease.objects.count() == len(rows("leases.csv"))
    assert Party.objects.count() == len(rows("parties.csv"))
    assert Resale.objects.count() == len(rows("resales.csv"))
    assert Holding.objects.count() == 25


def test_reloading_keeps_leases_and_parties_outside_the_demo(demo):
    from tests import factories

    elsewhere = factories.lease(reference="GL-1999-001")
    load_demo_neighbourhood()
    assert GroundLease.objects.filter(pk=elsewhere.pk).exists()
    assert elsewhere.lessees.get().pk in Party.objects.values_list("pk", flat=True)


def test_a_bad_lease_row_names_the_file_and_row_and_loads_nothing(tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, folder)
    text = (
        (folder / "leases.csv")
        .read_text()
        .replace(
            "GL-2018-002,1702 Lynch St,threadgill,2018-10-01,99,residential,10,25.00",
            "GL-2018-002,1702 Lynch St,threadgill,2018-10-01,99,residential,10,-25.00",
        )
    )
    (folder / "leases.csv").write_text(text)
    with pytest.raises(DemoDataError, match=r"leases.csv row 5 fee_monthly: '-25.00' is negative"):
        load_demo_neighbourhood(folder)
    assert not Parcel.objects.exists()
    assert not Party.objects.exists()


def test_a_formula_with_a_typo_d_key_is_refused_naming_the_row_and_key(tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, folder)
    (folder / "formulas" / "appraisal-25.json").write_text(
        '{"type": "appraisal_share", "shar": "0.25", "share_of": "increase"}'
    )
    with pytest.raises(
        DemoDataError, match=r"leases.csv row \d+: resale_formula: .*shar: is not a key"
    ):
        load_demo_neighbourhood(folder)
    assert not GroundLease.objects.exists()


def test_a_resale_above_its_formula_price_is_refused(tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, folder)
    text = (folder / "resales.csv").read_text().replace("72625.00,72000.00", "72625.00,73000.00")
    (folder / "resales.csv").write_text(text)
    with pytest.raises(
        DemoDataError, match="resales.csv row 3: .*agreed price is above the formula"
    ):
        load_demo_neighbourhood(folder)
