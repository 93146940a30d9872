"""The staff's events list (clt/history_admin.py): unfiltered, it leaves out the parcels' insert
events, which a county import writes a million at a time; any filter shows what it asks for."""

import pytest
from django.urls import reverse

from tests import factories
from tests.adminpages import found

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(factories.user(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def changes():
    parcel = factories.parcel(address="1418 Lynch St")  # an insert event
    parcel.address = "1420 Lynch St"
    parcel.save()  # an update event
    holding = factories.holding(parcels=[parcel])  # holding and membership inserts
    return parcel, holding


def events(client, **params) -> list[tuple[str, str]]:
    response = client.get(reverse("admin:pghistory_events_changelist"), params)
    assert response.status_code == 200
    return sorted((e.pgh_model, e.pgh_label) for e in found(response))


def test_the_unfiltered_list_leaves_out_parcel_inserts_and_says_so(staff, changes):
    shown = events(staff)
    assert ("parcels.ParcelEvent", "update") in shown
    assert ("parcels.HoldingEvent", "insert") in shown
    assert ("parcels.ParcelEvent", "insert") not in shown
    for params in ({}, {"p": "1"}):  # any page of the unfiltered list
        page = staff.get(reverse("admin:pghistory_events_changelist"), params).content.decode()
        assert "Parcels added by county imports are not listed here" in page
    filtered = staff.get(reverse("admin:pghistory_events_changelist"), {"label": "insert"})
    assert "Parcels added by county imports" not in filtered.content.decode()


def test_a_filter_shows_the_parcel_inserts_it_asks_for(staff, changes):
    assert ("parcels.ParcelEvent", "insert") in events(staff, label="insert")


def test_a_parcels_own_history_keeps_its_insert(staff, changes):
    parcel, _ = changes
    shown = events(staff, method="tracks", obj=f"parcels.Parcel:{parcel.pk}")
    assert shown == [("parcels.ParcelEvent", "insert"), ("parcels.ParcelEvent", "update")]


@pytest.mark.parametrize("method", ["references", "tracks", None])
def test_an_object_id_of_the_wrong_type_is_a_400_naming_it_not_a_500(staff, method):
    params = {"obj": "leases.GroundLease:abc", **({"method": method} if method else {})}
    response = staff.get(reverse("admin:pghistory_events_changelist"), params)
    assert response.status_code == 400
    assert response.content.decode() == (
        "obj: 'abc' is not a ground lease id (in 'leases.GroundLease:abc')"
    )


def test_a_well_formed_object_id_still_lists_its_events(staff, changes):
    parcel, _ = changes
    shown = events(staff, method="tracks", obj=f"parcels.Parcel:{parcel.pk}")
    assert shown == [("parcels.ParcelEvent", "insert"), ("parcels.ParcelEvent", "update")]


@pytest.mark.parametrize("method", ["tracks", "references", None])
def test_a_deleted_records_history_is_listed_and_named_by_its_id(staff, method):
    """The moment staff most want a record's history is after it is gone (was a 500)."""
    party = factories.party(name="West Jackson Cooperative Federation")
    pk = party.pk
    party.delete()
    params = {"obj": f"leases.Party:{pk}", **({"method": method} if method else {})}
    response = staff.get(reverse("admin:pghistory_events_changelist"), params)
    assert response.status_code == 200
    assert f"party {pk} (deleted)" in response.content.decode()
    if method == "tracks":
        labels = sorted(e.pgh_label for e in found(response))
        assert labels == ["delete", "insert"]


@pytest.mark.parametrize("value", ["zzz", "parcels.Parcel", "leases.Nothing"])
def test_an_event_model_that_is_no_kind_of_event_is_a_400_not_a_500(staff, value):
    response = staff.get(reverse("admin:pghistory_events_changelist"), {"event_model": value})
    assert response.status_code == 400
    assert "is not a kind of history event" in response.content.decode()


def test_a_kind_of_event_lists_its_events(staff, changes):
    assert ("parcels.HoldingEvent", "insert") in events(staff, event_model="parcels.holdingevent")


def history_page(client, **params) -> str:
    response = client.get(reverse("admin:pghistory_events_changelist"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_a_records_history_names_only_what_this_staff_member_may_view(editor):
    """An editor may not view users or tokens: their history subtitle named them all (QA t4)."""
    root = factories.user("rootsecret", is_staff=True, is_superuser=True)
    party = factories.party(name="Evers Household")

    assert "rootsecret" not in history_page(editor, obj=f"auth.User:{root.pk}")
    assert f"user {root.pk}" in history_page(editor, obj=f"auth.User:{root.pk}")
    assert f"user {root.pk + 1000} (deleted)" not in history_page(
        editor, obj=f"auth.User:{root.pk + 1000}"
    )  # nor which ids exist
    assert "Evers Household" in history_page(editor, obj=f"leases.Party:{party.pk}")


@pytest.mark.parametrize(
    "back", ["https://evil.example/phish", "//evil.example/x", "javascript:alert(1)"]
)
def test_the_back_link_goes_only_to_a_page_of_this_site(staff, back):
    party = factories.party()
    page = history_page(staff, obj=f"leases.Party:{party.pk}", back=back)
    assert back not in page
    here = f"/admin/leases/party/{party.pk}/change/"
    assert f'href="{here}"' in history_page(staff, obj=f"leases.Party:{party.pk}", back=here)
