"""A party who alone holds a lease cannot be deleted: the lease would be left with no lessee
(and every later edit of it refused "This field is required"). Deleting is a superuser's
right only (editors never delete parties), so these tests post as one."""

import pytest
from django.urls import reverse

from leases.models import Party
from tests import factories
from tests.adminpages import changelist_url

pytestmark = pytest.mark.django_db


def delete_url(party: Party) -> str:
    return reverse("admin:leases_party_delete", args=[party.pk])


def protected(response) -> list[str]:
    return [str(item) for item in response.context["protected"]]


def test_deleting_the_only_lessee_of_a_lease_is_refused_naming_the_lease(admin_client):
    lessee = factories.party(name="Hamer household")
    factories.lease(reference="GL-2017-004", lessees=(lessee,))

    response = admin_client.post(delete_url(lessee), {"post": "yes"})

    assert response.status_code == 200
    [item] = protected(response)
    assert item.endswith(
        ">GL-2017-004</a> (active, from 2017-06-01 to 2116-06-01), held only by Hamer "
        "household: add its new lessee or end the lease first"
    )
    assert Party.objects.filter(pk=lessee.pk).exists()


def test_the_delete_page_shows_the_lease_before_anything_is_posted(admin_client):
    lessee = factories.party()
    factories.lease(reference="GL-2017-004", lessees=(lessee,))

    response = admin_client.get(delete_url(lessee))

    assert "GL-2017-004" in response.content.decode()
    assert len(protected(response)) == 1


def test_one_of_two_lessees_may_be_deleted(admin_client):
    one, other = factories.party(), factories.party()
    lease = factories.lease(lessees=(one, other))

    response = admin_client.post(delete_url(one), {"post": "yes"})

    assert response.status_code == 302
    assert list(lease.lessees.all()) == [other]


def test_deleting_every_lessee_of_a_lease_at_once_is_refused(admin_client):
    one, other = factories.party(), factories.party()
    factories.lease(reference="GL-2017-004", lessees=(one, other))

    response = admin_client.post(
        changelist_url(Party),
        {"action": "delete_selected", "_selected_action": [one.pk, other.pk], "post": "yes"},
    )

    assert response.status_code == 200
    [item] = protected(response)
    assert ">GL-2017-004</a>" in item
    assert Party.objects.filter(pk__in=[one.pk, other.pk]).count() == 2


def test_a_party_holding_no_lease_is_deleted(admin_client):
    party = factories.party()
    assert admin_client.post(delete_url(party), {"post": "yes"}).status_code == 302
    assert not Party.objects.filter(pk=party.pk).exists()
