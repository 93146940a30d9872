"""A staff change page saved after someone else changed the record is refused, not written over
the change (clt/concurrency.py; QA t2 findings 1 and 2). Two staff members, two browsers: A
saves between B opening the page and B saving it."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clt.concurrency import FIELD
from clt.roles import EDITOR
from leases.models import GroundLease, LeaseFeeChange, MonitoringEvent
from maps import tokens
from tests import factories
from tests.adminpages import change_url, opened, refusal

pytestmark = pytest.mark.django_db

FIX = (
    "Your changes were not saved. Open the page again to see the current record, then redo "
    "your edit."
)
WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d"


def staff(username: str, **fields) -> Client:
    """A browser of its own, logged in as `username`."""
    browser = Client()
    browser.force_login(factories.user(username, **fields))
    return browser


@pytest.fixture
def alice():
    return staff("alice", role=EDITOR)


@pytest.fixture
def bob():
    return staff("bob", role=EDITOR)


@pytest.fixture
def lease():
    """A lease with $300 in arrears, signed as `lease_create` signs one (its first fee change)."""
    made = factories.lease(reference="GL-2021-007", arrears=Decimal("300.00"))
    LeaseFeeChange.objects.create(
        lease=made, effective_on=made.starts_on, fee_monthly=made.fee_monthly,
        reason="fee at signing",
    )  # fmt: skip
    return made


def test_a_stale_lease_page_cannot_put_back_arrears_paid_since_it_opened(alice, bob, lease):
    stale = opened(bob, lease)
    paid = opened(alice, lease)
    paid["arrears"] = "0.00"  # payment received
    assert alice.post(change_url(lease), paid).status_code == 302

    stale["notes"] = "Called about the roof."
    response = bob.post(change_url(lease), stale)

    assert re.fullmatch(
        rf"This ground lease was changed after you opened this page: arrears \(by alice, "
        rf"{WHEN}, admin_groundlease_change\)\. {re.escape(FIX)}",
        refusal(response),
    )
    lease.refresh_from_db()
    assert (lease.arrears, lease.notes) == (Decimal("0.00"), "")


def test_the_refusal_links_to_the_page_to_open_again_at_the_top_of_the_form(alice, bob, lease):
    stale = opened(bob, lease)
    paid = opened(alice, lease)
    paid["arrears"] = "0.00"
    alice.post(change_url(lease), paid)

    html = bob.post(change_url(lease), stale).content.decode()

    link = f'<a href="{change_url(lease)}">Open the page again</a>'
    assert html.index(link) < html.index('name="reference"')


def test_a_stale_lease_page_cannot_undo_a_resale_closing_recorded_since(alice, bob, lease):
    seller, buyer = lease.lessees.get(), factories.party(name="Evers household")
    stale = opened(bob, lease)
    closing = {
        "lease": lease.pk, "seller": seller.pk, "buyer": buyer.pk, "contract_on": "2026-01-05",
        "closed_on": "2026-02-01", "formula_price": "", "agreed_price": "260000.00",
    }  # fmt: skip
    assert alice.post(reverse("admin:leases_resale_add"), closing).status_code == 302

    stale["notes"] = "Roof inspected."  # an unrelated edit
    response = bob.post(change_url(lease), stale)

    said = refusal(response)
    by_alice = re.search(rf": ([^;]*) \(by alice, {WHEN}, admin_resale_add\); lessees\.", said)
    assert {"purchase price", "purchase date", "its resales"} <= set(
        re.split(", | and ", by_alice[1])
    )  # the lessees last: a lease's lessees have no history of their own
    lease.refresh_from_db()
    assert list(lease.lessees.all()) == [buyer]
    assert (lease.purchase_price, lease.purchase_date) == (
        Decimal("260000.00"), dt.date(2026, 2, 1)
    )  # fmt: skip
    assert lease.notes == ""


def test_a_row_of_an_inline_changed_since_the_page_opened_refuses_the_save(alice, bob, lease):
    event = MonitoringEvent.objects.create(lease=lease, type="late_fee_payment", on="2026-09-05")
    stale = opened(bob, lease)
    resolved = opened(alice, event)
    resolved.update(status="resolved", resolved_on="2026-09-20")
    assert alice.post(change_url(event), resolved).status_code == 302

    stale["notes"] = "Fee paid late again?"
    said = refusal(bob.post(change_url(lease), stale))

    assert re.search(rf"its monitoring events \(by alice, {WHEN}, admin_monitoringevent_change\)",
                     said)  # fmt: skip
    event.refresh_from_db()
    assert (event.status, event.resolved_on) == ("resolved", dt.date(2026, 9, 20))


def test_a_stale_token_page_cannot_take_back_a_revocation():
    owner = factories.user("planner", role="read-only", is_staff=True)
    token, _ = tokens.issue(owner, "QGIS on the planning laptop")
    admin_b = staff("root", is_staff=True, is_superuser=True)
    stale = opened(admin_b, token)
    tokens.revoke(token)  # `clt token revoke`, while the page is open

    stale["name"] = "QGIS on the old laptop"  # the page showed "Revoked at" empty
    # A revoked token's form no longer has "Revoked at" (maps.admin): the stale page renames
    # it, and has nothing it could take back.
    assert admin_b.post(change_url(token), stale).status_code == 302

    token.refresh_from_db()
    assert token.revoked_at is not None and token.name == "QGIS on the old laptop"


@pytest.mark.parametrize("sent", [None, "", "v1.not-base64!", "v0.e30=", "v1.W10="])
def test_a_change_posted_without_a_readable_fingerprint_is_refused_and_nothing_saved(
    bob, lease, sent
):
    """A tab opened before the check existed, or a script, cannot show it saw the record as
    it is now: refused with the same fix, whatever it sent."""
    data = opened(bob, lease)
    data["arrears"] = "0.00"
    if sent is None:
        del data[FIELD]
    else:
        data[FIELD] = sent

    said = refusal(bob.post(change_url(lease), data))

    assert said == (
        "This page was sent without the fingerprint of the ground lease it showed (a page "
        "opened before the registry checked for changes made meanwhile, or a script), so it "
        f"could undo a change made since. {FIX}"
    )
    lease.refresh_from_db()
    assert lease.arrears == Decimal("300.00")


def test_save_and_continue_twice_saves_both_edits(bob, lease):
    first = opened(bob, lease)
    first.update(arrears="100.00", _continue="Save and continue editing")
    response = bob.post(change_url(lease), first, follow=True)
    assert response.redirect_chain[-1][0] == change_url(lease)

    second = factories.admin_form_data(response)  # the page it came back to
    assert second[FIELD] != first[FIELD]
    second.update(notes="Paid $200 of $300.", _continue="Save and continue editing")
    assert bob.post(change_url(lease), second).status_code == 302

    lease.refresh_from_db()
    assert (lease.arrears, lease.notes) == (Decimal("100.00"), "Paid $200 of $300.")


def test_a_second_click_on_save_is_let_through_but_a_different_edit_from_that_page_is_not(
    bob, lease
):
    """The same page posted twice writes what the first post wrote: it undoes nothing. Posted
    again with another value, it would undo the first save."""
    data = opened(bob, lease)
    data["arrears"] = "75.00"
    assert bob.post(change_url(lease), data).status_code == 302
    assert bob.post(change_url(lease), data).status_code == 302

    data["arrears"] = "80.00"
    said = refusal(bob.post(change_url(lease), data))

    assert re.search(rf"arrears \(by bob, {WHEN}, admin_groundlease_change\)", said)
    lease.refresh_from_db()
    assert lease.arrears == Decimal("75.00")


def test_the_save_locks_the_record_it_checks_until_it_is_written(bob, lease):
    """Checked and saved in one transaction, with the row locked: no save can land between."""
    data = opened(bob, lease)
    data["notes"] = "Checked."
    with CaptureQueriesContext(connection) as queries:
        assert bob.post(change_url(lease), data).status_code == 302

    locked = f'FROM "{GroundLease._meta.db_table}" WHERE'
    assert any(locked in q["sql"] and q["sql"].endswith("FOR UPDATE") for q in queries)

