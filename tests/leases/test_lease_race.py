"""Two staff signing a lease on one single-family home at the same moment: the second is refused
as if the first had been saved before it started (QA: review finding 1).

Each side runs in a thread of its own, with its own database connection, as two requests do.
The first signs and keeps its transaction open until the second has reached its check; under
READ COMMITTED the second cannot see the first's uncommitted lease, so only a lock on the
holding makes it wait for the first, and then see it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from clt.roles import EDITOR
from leases.actions import lease_create
from leases.models import GroundLease
from parcels.models import Holding
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

SIGNED = dt.date(2025, 6, 1)
WAIT_S = 5  # the most a side waits for the other; the test takes a fraction of it


def sign(holding: Holding, reference: str) -> GroundLease:
    """Sign a lease on `holding` with `lease_create`, as `clt` and the lease pages do."""
    return lease_create(
        lessees=[factories.party()], reference=reference, holding=holding, starts_on=SIGNED,
        permitted_use="residential", fee_monthly=Decimal("25.00"),
        purchase_price=Decimal("90000.00"), purchase_date=SIGNED,
        resale_formula=factories.FIXED_2PCT_SIMPLE,
    )  # fmt: skip


def in_thread(work: Callable[[], object], outcome: dict, name: str) -> threading.Thread:
    """Start `work` in a thread of its own (so on a connection of its own); its result, or the
    exception it raised, is put in `outcome[name]`."""

    def run() -> None:
        try:
            outcome[name] = work()
        except Exception as exc:  # the test asserts on it
            outcome[name] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def first_signs_and_waits(holding: Holding, outcome: dict) -> tuple[threading.Thread, Callable]:
    """The first staff member signs a lease on `holding` and keeps the transaction open; returns
    the thread and a function that lets it commit once the second has been given its turn."""
    signed, may_commit = threading.Event(), threading.Event()

    def work() -> GroundLease:
        with transaction.atomic():
            lease = sign(holding, "GL-2025-001")
            signed.set()
            may_commit.wait(WAIT_S)
        return lease

    thread = in_thread(work, outcome, "first")
    assert signed.wait(WAIT_S), outcome.get("first")
    return thread, may_commit.set


def until_waiting_or_done(second: threading.Thread) -> None:
    """Return once the second side waits on a lock (the holding's) or has finished without."""
    deadline = time.monotonic() + WAIT_S
    while second.is_alive() and time.monotonic() < deadline:
        with connection.cursor() as cursor:  # autocommit: each query sees the backends anew
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)


def overlap_message(holding: Holding) -> str:
    return (
        f"{holding} is a single home, and lease GL-2025-001 (active, from 2025-06-01 to "
        "2124-06-01) covers part of the same time: give one of the two leases an end date "
        "before the other starts, or change this lease's start."
    )


def test_a_lease_signed_while_another_is_being_signed_on_the_same_home_is_refused():
    home = factories.holding(parcels=[factories.parcel()])
    outcome: dict = {}
    first, let_commit = first_signs_and_waits(home, outcome)

    second = in_thread(lambda: sign(home, "GL-2025-002"), outcome, "second")
    until_waiting_or_done(second)
    let_commit()
    first.join(WAIT_S), second.join(WAIT_S)

    assert isinstance(outcome["first"], GroundLease), outcome["first"]
    refused = outcome["second"]
    assert isinstance(refused, ValidationError), f"the second was signed too: {refused}"
    assert refused.message_dict["starts_on"] == [overlap_message(home)]
    assert list(home.leases.values_list("reference", flat=True)) == ["GL-2025-001"]


def admin_add_data(holding: Holding) -> dict:
    """The add-lease page's POST body for a lease on `holding` from SIGNED, no inline rows."""
    data = {
        "reference": "GL-2025-002", "holding": holding.pk, "lessees": [factories.party().pk],
        "status": "active", "permitted_use": "residential", "starts_on": SIGNED.isoformat(),
        "term_years": "99", "renewal_term_years": "99", "fee_monthly": "25.00", "arrears": "0",
        "occupancy_months_per_year": "10", "transfer_on_death": "heirs_may_assume",
        "purchase_price": "90000.00", "purchase_date": SIGNED.isoformat(),
        "resale_formula": '{"type": "fixed_rate", "method": "simple", "rate": "0.02"}',
    }  # fmt: skip
    for prefix in ("fee_changes", "monitoring", "appraisals", "improvements", "repairs",
                   "resales", "sources"):  # fmt: skip
        data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = "0"
    return data


def test_a_lease_added_in_the_admin_while_another_is_being_signed_on_the_home_is_refused():
    home = factories.holding(parcels=[factories.parcel()])
    staff = Client()
    staff.force_login(factories.user("edna", role=EDITOR))
    data = admin_add_data(home)
    outcome: dict = {}
    first, let_commit = first_signs_and_waits(home, outcome)

    post = lambda: staff.post(reverse("admin:leases_groundlease_add"), data)  # noqa: E731
    second = in_thread(post, outcome, "second")
    until_waiting_or_done(second)
    let_commit()
    first.join(WAIT_S), second.join(WAIT_S)

    assert isinstance(outcome["first"], GroundLease), outcome["first"]
    page = outcome["second"]
    assert page.status_code == 200, f"the admin's lease was saved too: {page.status_code}"
    assert page.context["adminform"].form.errors["starts_on"] == [overlap_message(home)]
    assert list(home.leases.values_list("reference", flat=True)) == ["GL-2025-001"]
