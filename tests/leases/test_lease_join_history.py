"""Who holds a lease, and on which parcels, keep a history: adding or removing a lessee or a
parcel writes an event naming the lease, the party or parcel, the acting user and the action
(QA: lease administrator, finding 1: an heir put in place of a household left no trace)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from leases.actions import lease_create
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db


def events(table: str, lease) -> list[tuple]:
    """(label, party or parcel id, user id, action) of `table`'s events on `lease`, in order,
    read from the event table itself."""
    other = "party_id" if table == "leases_leaselesseeevent" else "parcel_id"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT e.pgh_label, e.{other}, (c.metadata->>'user')::int, c.metadata->>'action'
                FROM {table} e LEFT JOIN pghistory_context c ON c.id = e.pgh_context_id
                WHERE e.groundlease_id = %s ORDER BY e.pgh_id""",
            [lease.pk],
        )
        return cursor.fetchall()


def test_replacing_a_lessee_on_the_lease_page_records_who_left_who_came_and_who_did_it(editor):
    household = factories.party(name="Okafor-Williams household")
    heir = factories.party(name="Jordan Williams household")
    lease = factories.lease(lessees=(household,))
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["lessees"] = [str(heir.pk)]

    response = editor.post(change_url(lease), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    user = response.wsgi_request.user.pk
    assert events("leases_leaselesseeevent", lease)[-2:] == [
        ("delete", household.pk, user, "admin_groundlease_change"),
        ("insert", heir.pk, user, "admin_groundlease_change"),
    ]


def test_adding_a_parcel_on_the_lease_page_records_it_with_the_user_and_the_action(editor):
    first, second = factories.parcel(), factories.parcel()
    lease = factories.lease(holding_=factories.holding(parcels=[first, second]))
    lease.parcels.set([first])
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["parcels"] = [str(first.pk), str(second.pk)]

    response = editor.post(change_url(lease), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    user = response.wsgi_request.user.pk
    assert events("leases_leaseparcelevent", lease)[-1] == (
        "insert", second.pk, user, "admin_groundlease_change"
    )  # fmt: skip


def test_a_lease_signed_with_lease_create_records_its_lessees_and_parcels_under_the_action():
    lot = factories.parcel()
    held = factories.holding(parcels=[lot])
    household = factories.party()
    signer = factories.user("lena")

    lease = lease_create(
        lessees=[household], user=signer, reference="GL-2026-101", holding=held,
        starts_on=dt.date(2026, 2, 1), permitted_use="residential",
        fee_monthly=Decimal("25.00"), purchase_price=Decimal("180000.00"),
        purchase_date=dt.date(2026, 2, 1),
        resale_formula={"type": "fixed_rate", "method": "simple", "rate": "0.02"},
    )  # fmt: skip

    assert events("leases_leaselesseeevent", lease) == [
        ("insert", household.pk, signer.pk, "lease_create")
    ]
    assert events("leases_leaseparcelevent", lease) == [
        ("insert", lot.pk, signer.pk, "lease_create")
    ]


def test_a_lessee_removed_by_any_route_leaves_an_event_bulk_sql_included():
    household = factories.party()
    lease = factories.lease(lessees=(household,))
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM leases_groundlease_lessees WHERE groundlease_id = %s", [lease.pk]
        )

    assert events("leases_leaselesseeevent", lease)[-1] == ("delete", household.pk, None, None)
