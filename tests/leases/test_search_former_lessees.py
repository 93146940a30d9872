"""The lease list's search finds a lease by its former lessees too: the household that sold the
home, the one an heir took over from (QA: steward, finding 6: "Carter" found nothing once the
Carter household had sold). Folded as the other searches are, and in as many queries for many
leases as for one."""

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clt.history import recorded
from leases.actions import lease_create, resale_close, resale_record
from leases.models import GroundLease, Party
from tests import factories
from tests.adminpages import changelist_url, found

pytestmark = pytest.mark.django_db

LeaseLesseeEvent = apps.get_model("leases", "LeaseLesseeEvent")
SIGNED = dt.date(2019, 6, 1)


def signed_to(lessee: Party, reference: str = "GL-2019-001") -> GroundLease:
    return lease_create(
        lessees=[lessee], reference=reference,
        holding=factories.holding(parcels=[factories.parcel()]), starts_on=SIGNED,
        permitted_use="residential", fee_monthly=Decimal("25.00"),
        purchase_price=Decimal("60000.00"), purchase_date=SIGNED,
        resale_formula=factories.FIXED_2PCT_SIMPLE,
    )  # fmt: skip


def sold(lease: GroundLease, buyer: Party) -> None:
    """The lessee sells the home to `buyer`: the resale recorded and closed, the lease passed."""
    resale = resale_record(
        lease=lease, seller=lease.lessees.get(), buyer=buyer, contract_on=dt.date(2024, 8, 1),
        formula_price=Decimal("70000.00"), agreed_price=Decimal("69000.00"),
    )  # fmt: skip
    resale_close(resale=resale, closed_on=dt.date(2024, 9, 15))


def replaced(lease: GroundLease, heir: Party) -> None:
    """The lessee's heir takes the lease over, no sale (the lease's `heirs_may_assume`)."""
    with recorded("admin_groundlease_change"):
        lease.lessees.set([heir])


def searched(client, typed: str) -> list[GroundLease]:
    return found(client.get(changelist_url(GroundLease), {"q": typed}))


def test_a_lease_is_found_by_the_household_that_sold_the_home(editor):
    wanted = signed_to(factories.party(name="Carter household"))
    sold(wanted, factories.party(name="Nguyen household"))
    signed_to(factories.party(name="Hamer household"), "GL-2019-002")

    assert searched(editor, "Carter") == [wanted]
    assert searched(editor, "Nguyen") == [wanted]  # the current lessee, as before


def test_a_lease_is_found_by_the_lessee_an_heir_took_over_from(editor):
    wanted = signed_to(factories.party(name="Carter household"))
    replaced(wanted, factories.party(name="Carter-Bell household"))
    replaced(wanted, factories.party(name="Okafor household"))

    assert searched(editor, "carter") == [wanted]
    assert searched(editor, "bell") == [wanted]


def test_a_former_lessee_is_found_without_apostrophes_or_accents(editor):
    wanted = signed_to(factories.party(name="O’Brien-Peña household"))
    replaced(wanted, factories.party(name="Evers household"))
    signed_to(factories.party(name="Brien household"), "GL-2019-002")

    for typed in ("obrien", "O'Brien", "PENA", "o’brien peña"):
        assert searched(editor, typed) == [wanted], typed


def test_a_seller_from_before_lessees_had_a_history_is_found_by_the_resale(editor):
    wanted = signed_to(factories.party(name="Carter household"))
    sold(wanted, factories.party(name="Nguyen household"))
    LeaseLesseeEvent.objects.filter(groundlease=wanted).delete()  # as before migration 0011

    assert searched(editor, "Carter") == [wanted]


def test_a_lease_never_held_by_the_name_is_not_found(editor):
    signed_to(factories.party(name="Hamer household"))
    assert searched(editor, "Carter") == []


def queries_to_search(client, typed: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(changelist_url(GroundLease), {"q": typed})
    assert response.status_code == 200
    return len(queries)


def test_searching_former_lessees_takes_as_many_queries_for_many_leases_as_for_one(editor):
    def carter_sold(n: int) -> None:
        lease = signed_to(factories.party(name=f"Carter household {n}"), f"GL-2019-{n:03d}")
        sold(lease, factories.party(name=f"Buyer household {n}"))

    carter_sold(1)
    queries_to_search(editor, "Carter")  # the first request's one-off queries (session, roles)
    one = queries_to_search(editor, "Carter")
    for n in range(2, 6):
        carter_sold(n)
    assert len(searched(editor, "Carter")) == 5
    assert queries_to_search(editor, "Carter") == one
