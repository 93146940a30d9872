"""Small helpers for tests of the staff admin pages (parcels and leases alike), and the
`editor` and `reader` fixtures: a test client logged in with each staff role."""

import pytest
from django.urls import reverse

from clt.roles import EDITOR, READ_ONLY
from tests import factories


@pytest.fixture
def editor(client):
    client.force_login(factories.user("edna", role=EDITOR))
    return client


@pytest.fixture
def reader(client):
    client.force_login(factories.user("rita", role=READ_ONLY))
    return client


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def found(response) -> list:
    """The rows a changelist shows (after its search and filters)."""
    return list(response.context["cl"].result_list)
