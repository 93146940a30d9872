"""A record's history (parcels.admin.history_of, on its change page and behind History) shows
what a row added or deleted held, from the event's snapshot, and names it as the row names
itself; a lease's lessees and parcels read as added or removed, on the lease's page and on the
party's or parcel's (QA: lease administrator, finding 3: "delete … party member 41" with an
empty changes column, and no page said member 41 was Marcus Williams)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clt.history import recorded
from leases.models import Appraisal, LeaseFeeChange, MonitoringEvent, PartyMember, Resale
from parcels.admin import history_of
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client):
    client.force_login(factories.user("root", is_staff=True, is_superuser=True))
    return client


def entry(entries, label: str, what_starts: str):
    [found] = [e for e in entries if e.label == label and e.what.startswith(what_starts)]
    return found


def values(found) -> dict[str, str]:
    return {row.field: row.value for row in found.values}


# --- a household member replaced on the party's page -----------------------------------------


@pytest.fixture
def williams(root):
    """The Williams household after a death: "Marcus Williams" deleted and "Jordan Williams"
    added on the party's page, in one save: (party, Marcus's row id, Jordan's row)."""
    party = factories.party(name="Okafor-Williams household")
    marcus = PartyMember.objects.create(
        party=party, name="Marcus Williams", share=Decimal("0.5"), is_contact=True
    )
    data = factories.admin_form_data(root.get(change_url(party)))
    data["members-0-DELETE"] = "on"
    data.update({"members-TOTAL_FORMS": "2", "members-1-name": "Jordan Williams",
                 "members-1-share": "0.5", "members-1-party": str(party.pk)})  # fmt: skip
    response = root.post(change_url(party), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    return party, marcus.pk, PartyMember.objects.get(name="Jordan Williams")


def test_a_deleted_member_is_named_and_shows_what_the_row_held(williams):
    party, marcus_id, _ = williams

    deleted = entry(history_of(party), "delete", "party member")

    assert deleted.what == f"party member {marcus_id}: Marcus Williams"
    assert deleted.action == "admin_party_change"
    # the party is the page's own record: not repeated on each of its rows
    assert values(deleted) == {"name": "Marcus Williams", "share": "0.5000", "is_contact": "yes"}


def test_an_added_member_is_named_and_shows_its_values(williams):
    party, _, jordan = williams

    added = entry(history_of(party), "insert", f"party member {jordan.pk}")

    assert added.what == f"party member {jordan.pk}: Jordan Williams"
    assert values(added) == {"name": "Jordan Williams", "share": "0.5000", "is_contact": "no"}


def test_the_partys_history_page_shows_the_deleted_members_name_and_share(root, williams):
    party, marcus_id, _ = williams

    page = root.get(reverse("admin:leases_party_history", args=[party.pk])).content.decode()

    assert f"party member {marcus_id}: Marcus Williams" in page
    assert "<li><strong>share</strong>: 0.5000</li>" in page


# --- rows of a lease: fee changes, monitoring events, appraisals, resales --------------------


def test_a_deleted_fee_change_shows_its_amount_and_date():
    lease = factories.lease()
    wrong = LeaseFeeChange.objects.create(
        lease=lease, effective_on=dt.date(2027, 3, 1), fee_monthly=Decimal("1040"),
        reason="typed for 40",
    )  # fmt: skip
    wrong_id = wrong.pk
    with recorded("admin_groundlease_change", factories.user("leaseadmin")):
        wrong.delete()

    deleted = entry(history_of(lease), "delete", "lease fee change")

    assert deleted.what == f"lease fee change {wrong_id}: $1,040.00 a month from 2027-03-01"
    assert (deleted.user, deleted.action) == ("leaseadmin", "admin_groundlease_change")
    assert values(deleted) == {
        "effective_on": "2027-03-01", "fee_monthly": "$1,040.00", "reason": "typed for 40"
    }  # fmt: skip


def test_a_new_monitoring_event_is_named_as_its_row_is_titled():
    lease = factories.lease()
    event = MonitoringEvent.objects.create(
        lease=lease, type="occupancy_certification", on=dt.date(2026, 11, 24)
    )

    added = entry(history_of(lease), "insert", "monitoring event")

    assert added.what == (
        f"monitoring event {event.pk}: Occupancy certification on 2026-11-24 (open)"
    )
    assert values(added) == {
        "type": "Occupancy certification", "on": "2026-11-24", "status": "Open"
    }  # fmt: skip


def test_a_new_appraisal_shows_its_value_as_money_and_its_purpose_as_read():
    lease = factories.lease()
    appraisal = Appraisal.objects.create(
        lease=lease, on=dt.date(2026, 5, 20), value=Decimal("128000"), purpose="resale",
        appraiser="Delta Appraisals",
    )  # fmt: skip

    added = entry(history_of(lease), "insert", "appraisal")

    assert added.what == f"appraisal {appraisal.pk}: {appraisal}"
    assert values(added) == {"on": "2026-05-20", "value": "$128,000.00",
                             "purpose": "At resale", "appraiser": "Delta Appraisals"}  # fmt: skip


def test_a_new_resale_names_its_lease_seller_and_buyer_by_name_not_id():
    seller = factories.party(name="Okafor-Williams household")
    buyer = factories.party(name="Nguyen household")
    lease = factories.lease(reference="GL-2021-007", lessees=(seller,))
    resale = Resale.objects.create(
        lease=lease, seller=seller, buyer=buyer, contract_on=dt.date(2026, 11, 2),
        formula_price=Decimal("89500"), agreed_price=Decimal("89000"),
    )  # fmt: skip

    added = entry(history_of(lease), "insert", "resale")

    assert added.what == (
        f"resale {resale.pk}: Resale of GL-2021-007, contract 2026-11-02, not closed"
    )
    shown = values(added)
    assert (shown["seller"], shown["buyer"]) == ("Okafor-Williams household", "Nguyen household")
    assert (shown["formula_price"], shown["agreed_price"]) == ("$89,500.00", "$89,000.00")
    assert shown["arrears_collected"] == "$0.00"
    assert "lease" not in shown  # the page's own record
    # on the buyer's page the lease is named, by its reference
    assert values(entry(history_of(buyer), "insert", "resale"))["lease"] == "GL-2021-007"


def test_an_update_keeps_its_changes_and_its_kind_and_id():
    lease = factories.lease()
    event = MonitoringEvent.objects.create(lease=lease, type="inspection", on=dt.date(2026, 3, 1))
    event.status, event.resolved_on = "resolved", dt.date(2026, 3, 5)
    event.save()

    updated = entry(history_of(lease), "update", "monitoring event")

    assert updated.what == f"monitoring event {event.pk}"
    assert updated.values == ()
    assert [(c.field, c.old, c.new) for c in updated.changes] == [
        ("resolved_on", "—", "2026-03-05"), ("status", "Open", "Resolved")
    ]  # fmt: skip


def test_a_row_whose_name_needs_a_record_gone_is_named_by_kind_and_id():
    lease = factories.lease()
    resale = Resale.objects.create(
        lease=lease, seller=lease.lessees.get(), buyer=factories.party(),
        contract_on=dt.date(2026, 11, 2), formula_price=Decimal("1"), agreed_price=Decimal("1"),
    )  # fmt: skip
    # The resale's lease as if gone: its snapshot names a lease no row is.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE leases_resaleevent SET lease_id = 99999999 WHERE pgh_obj_id = %s",
                       [resale.pk])  # fmt: skip

    entries = history_of(resale.buyer)

    assert [e.what for e in entries if e.what.startswith("resale")] == [f"resale {resale.pk}"]
    buyer = resale.buyer  # the other rows are named all the same
    assert entry(entries, "insert", "party").what == f"party {buyer.pk}: {buyer.name}"


def test_a_lease_page_names_its_rows_without_a_query_per_row():
    lease = factories.lease()
    buyer = factories.party()

    def add_rows(n: int) -> None:
        for day in range(1, n + 1):
            MonitoringEvent.objects.create(lease=lease, type="inspection", on=dt.date(2026, 3, day))
            Resale.objects.create(
                lease=lease, seller=lease.lessees.get(), buyer=buyer,
                contract_on=dt.date(2026, 3, day), formula_price=Decimal("1"),
                agreed_price=Decimal("1"),
            )  # fmt: skip

    add_rows(1)
    with CaptureQueriesContext(connection) as few:
        history_of(lease)
    add_rows(6)
    with CaptureQueriesContext(connection) as many:
        entries = history_of(lease)

    assert len([e for e in entries if ": Resale of GL-" in e.what]) == 7
    assert len(many) == len(few)


# --- a lease's lessees and parcels ----------------------------------------------------------


@pytest.fixture
def assumed(editor):
    """GL-2025-017 passed by its page from the Okafor-Williams household to the Jordan
    Williams household, and a second parcel added to it: (lease, household, heir, parcel)."""
    first = factories.parcel(apn="164-101-001", address="1419 Bell St")
    second = factories.parcel(apn="164-101-002", address="1421 Bell St")
    household = factories.party(name="Okafor-Williams household")
    heir = factories.party(name="Jordan Williams household")
    held = factories.holding(parcels=[first, second])
    lease = factories.lease(reference="GL-2025-017", holding_=held, lessees=(household,))
    lease.parcels.set([first])
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["lessees"] = [str(heir.pk)]
    data["parcels"] = [str(first.pk), str(second.pk)]
    response = editor.post(change_url(lease), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    return lease, household, heir, second


JOINS = ("lessee ", "parcel added", "parcel removed", "became ", "stopped ", "added to ",
         "removed from ")  # fmt: skip


def joins(entries) -> list[tuple[str, str, str]]:
    """(label, action, what) of the events of a lease's lessees and parcels, sorted."""
    return sorted((e.label, e.action, e.what) for e in entries if e.what.startswith(JOINS))


def test_the_lease_page_shows_the_lessee_removed_and_the_one_added_and_the_parcel_added(assumed):
    lease, _, _, _ = assumed

    shown = [(label, what) for label, action, what in joins(history_of(lease))
             if action == "admin_groundlease_change"]  # fmt: skip

    assert shown == [
        ("delete", "lessee removed: Okafor-Williams household"),
        ("insert", "lessee added: Jordan Williams household"),
        ("insert", "parcel added: 164-101-002"),
    ]


def test_a_partys_history_shows_it_became_and_stopped_being_a_lessee(assumed):
    _, household, heir, _ = assumed

    assert ("delete", "admin_groundlease_change", "stopped being a lessee of GL-2025-017") in (
        joins(history_of(household))
    )
    assert joins(history_of(heir)) == [
        ("insert", "admin_groundlease_change", "became a lessee of GL-2025-017")
    ]


def test_a_parcels_history_shows_the_leases_it_was_removed_from_and_added_to(assumed):
    _, _, _, parcel = assumed
    assert joins(history_of(parcel)) == [  # signed on both parcels, one removed, added back
        ("delete", "", "removed from lease GL-2025-017"),
        ("insert", "", "added to lease GL-2025-017"),
        ("insert", "admin_groundlease_change", "added to lease GL-2025-017"),
    ]


def test_the_lease_and_party_history_pages_say_who_came_and_who_left(editor, assumed):
    lease, household, _, _ = assumed

    lease_page = editor.get(reverse("admin:leases_groundlease_history", args=[lease.pk]))
    party_page = editor.get(reverse("admin:leases_party_history", args=[household.pk]))

    assert "<td>lessee removed: Okafor-Williams household</td>" in lease_page.content.decode()
    assert "<td>lessee added: Jordan Williams household</td>" in lease_page.content.decode()
    assert "<td>stopped being a lessee of GL-2025-017</td>" in party_page.content.decode()


def test_lessee_changes_cost_no_query_per_change():
    lease = factories.lease()
    parties = [factories.party() for _ in range(6)]
    lease.lessees.set(parties[:1])
    with CaptureQueriesContext(connection) as one:
        history_of(lease)
    for party in parties[1:]:
        lease.lessees.add(party)
    with CaptureQueriesContext(connection) as six:
        entries = history_of(lease)

    assert len([e for e in entries if e.what.startswith("lessee added: ")]) == 7
    assert len(six) == len(one)


def test_a_lessee_deleted_since_is_named_from_its_last_snapshot_not_as_party_n():
    """A party a superuser deleted after it left a lease still reads by its name on the lease's
    history ("party 20" told staff nothing; the left-alone item of the last stop)."""
    household = factories.party(name="Okafor-Williams household")
    heir = factories.party(name="Jordan Williams household")
    lease = factories.lease(lessees=(household,))
    lease.lessees.set([heir])
    household.delete()

    whats = {e.what for e in history_of(lease)}

    assert "lessee removed: Okafor-Williams household (deleted)" in whats
    assert "lessee added: Jordan Williams household" in whats
