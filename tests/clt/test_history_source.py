"""A record's history says where it came from: the file and row an import read it from (the
context's `source`, written by `clt.registry_files.Origin.row`), on its history page, its change
page and in the history browser. The pages showed only "lease_create" and "—" (QA)."""

import pghistory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db

BROWSER = "admin:pghistory_events_changelist"


def imported_lease(source: str):
    """A lease as `clt import-registry` writes one: no user, its row named under `source`."""
    holding = factories.holding(parcels=[factories.parcel()])
    lessee = factories.party(name="Okafor household")
    with pghistory.context(action="registry_import", user=None, source=source):
        return factories.lease(holding_=holding, lessees=(lessee,))


def page(client, url: str, params: dict | None = None) -> str:
    response = client.get(url, params or {})
    assert response.status_code == 200
    return response.content.decode()


def history_page(client, lease) -> str:
    return page(client, reverse("admin:leases_groundlease_history", args=[lease.pk]))


def browser_page(client, lease) -> str:
    params = {"method": "references", "obj": f"leases.GroundLease:{lease.pk}"}
    return page(client, reverse(BROWSER), params)


def test_a_leases_history_page_says_which_file_and_row_it_came_from(reader):
    lease = imported_lease("import our-records leases.csv row 4")

    html = history_page(reader, lease)

    assert (
        'insert: <code class="clt-action">registry_import</code><br>'
        '<span class="clt-source">from import our-records leases.csv row 4</span>'
    ) in html
    assert '<td class="clt-user">—</td>' in html  # no user: still "—", the source says whence


def test_a_leases_change_page_shows_the_source_in_its_latest_history(reader):
    lease = imported_lease("import our-records leases.csv row 4")

    html = page(reader, change_url(lease))

    history = html[html.index('id="clt-history"') :]
    assert "from import our-records leases.csv row 4" in history


def test_a_change_with_no_source_shows_none(reader):
    lease = factories.lease()

    assert 'class="clt-source"' not in history_page(reader, lease)


def test_the_history_browser_shows_each_events_action_and_source(reader):
    lease = imported_lease("import our-records leases.csv row 4")

    html = browser_page(reader, lease)

    assert '<th scope="col" class="column-source">' in html
    assert '<td class="field-action">registry_import</td>' in html
    assert '<td class="field-source">import our-records leases.csv row 4</td>' in html


def test_a_source_that_looks_like_html_is_shown_as_text(reader):
    lease = imported_lease("import <b>x</b>.csv row 2")

    for html in (history_page(reader, lease), browser_page(reader, lease)):
        assert "import &lt;b&gt;x&lt;/b&gt;.csv row 2" in html
        assert "<b>x</b>" not in html


def test_sources_cost_no_query_per_event(reader):
    """Each event's context comes with it: six imported leases, as many queries as one."""
    imported_lease("import a leases.csv row 1")
    with CaptureQueriesContext(connection) as one:
        page(reader, reverse(BROWSER), {"event_model": "leases.groundleaseevent"})
    for row in range(2, 7):
        imported_lease(f"import a leases.csv row {row}")
    with CaptureQueriesContext(connection) as six:
        html = page(reader, reverse(BROWSER), {"event_model": "leases.groundleaseevent"})

    assert html.count('<td class="field-source">import a leases.csv row ') == 6
    assert len(six) == len(one)
