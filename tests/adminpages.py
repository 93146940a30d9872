"""Small helpers for tests of the staff admin pages (parcels and leases alike), and the
`editor` and `reader` fixtures: a test client logged in with each staff role."""

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from clt.concurrency import FIELD
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


def opened(browser, obj) -> dict:
    """The change page of `obj` as `browser` opened it: the form it would post back, with the
    record's stale-edit fingerprint (clt/concurrency.py) inside the form."""
    page = browser.get(change_url(obj))
    html = page.content.decode()
    form = html[html.index(f'id="{obj._meta.model_name}_form"') :]
    assert f'name="{FIELD}"' in form[: form.index("</form>")]  # posted with the form
    data = factories.admin_form_data(page)
    assert data[FIELD].startswith("v1.")
    return data


def refusal(response) -> str:
    """The one error at the top of a change form posted back, as staff read it."""
    assert response.status_code == 200, response.status_code  # the form again, not a redirect
    (error,) = response.context["adminform"].form.non_field_errors()
    return strip_tags(error)
