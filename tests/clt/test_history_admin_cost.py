"""What the staff's events list (clt/history_admin.py) costs, and that it still shows what
pghistory's list showed. At 150k parcels it took 7-8 s, 16-18 s filtered by "insert": 6 s of it
PostgreSQL compiling the query (JIT), the rest each event's change set, built for every event
in the registry before the newest 100 were picked. "Show counts" was a 500."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pghistory.models import Events

from tests import factories
from tests.adminpages import found

pytestmark = pytest.mark.django_db

LIST = "admin:pghistory_events_changelist"


@pytest.fixture
def staff(client):
    client.force_login(factories.user(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def renamed_lots() -> None:
    """55 parcels, each renamed twice: 110 update events, more than a page of 100."""
    for n in range(55):
        parcel = factories.parcel(address=f"{1400 + n} Lynch St")
        for suffix in ("A", "B"):
            parcel.address = f"{1400 + n}{suffix} Lynch St"
            parcel.save(update_fields=["address"])


def listed(client, **params):
    response = client.get(reverse(LIST), params)
    assert response.status_code == 200
    return response


def shown(event) -> tuple:
    return event.pgh_model, event.pgh_id, event.pgh_label, event.pgh_data, event.pgh_diff


def test_each_page_shows_pghistorys_events_in_order_with_change_sets(staff, renamed_lots):
    everything = Events.objects.filter(pgh_label="update").order_by(
        "-pgh_created_at", "-pgh_slug"
    )  # pghistory's own query, each event read whole

    first, second = (found(listed(staff, label="update", p=page)) for page in (1, 2))

    assert [shown(e) for e in first] == [shown(e) for e in everything[:100]]
    assert [shown(e) for e in second] == [shown(e) for e in everything[100:]]
    assert len(second) == 10
    assert {tuple(e.pgh_diff) for e in first + second} == {("address",)}


def test_change_sets_are_built_only_for_the_events_of_the_page(staff, renamed_lots):
    """Every event's change set before picking 100 was what grew with the history."""
    with CaptureQueriesContext(connection) as ctx:
        listed(staff, label="update")
    whole = [q["sql"] for q in ctx.captured_queries if '"pghistory_events"."pgh_diff"' in q["sql"]]

    assert len(whole) == 1
    assert '"pghistory_events"."pgh_id" IN (' in whole[0]
    assert not whole[0].endswith("LIMIT 100")  # the page was picked before, by its keys


@pytest.mark.parametrize(
    "params", [{}, {"label": "insert"}, {"p": "2", "label": "update"}, {"_facets": "True"}]
)
def test_every_query_of_the_list_runs_with_jit_off(staff, renamed_lots, params):
    """The union of 22 event tables costs enough for PostgreSQL to JIT-compile it: 6 s of 7.5."""
    jit_of_each: list[str] = []

    def note_jit(execute, sql, params, many, context):
        if "pghistory_events" in sql:
            raw = context["cursor"].cursor
            raw.execute("SELECT current_setting('jit')")
            jit_of_each.append(raw.fetchone()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note_jit):
        listed(staff, **params)

    assert len(jit_of_each) >= 3  # the count, the page's keys, its events (and any counts)
    assert set(jit_of_each) == {"off"}


def test_show_counts_counts_what_each_choice_lists(staff, renamed_lots):
    """Each count is what its choice lists once clicked: a choice is a filter, which lists
    the county's parcel inserts too."""
    page = listed(staff, _facets="True").content.decode()

    for label in ("insert", "update"):
        clicked = listed(staff, label=label).context["cl"].result_count
        assert f"{label} ({clicked})</a>" in page
    parcels = listed(staff, event_model="parcels.parcelevent").context["cl"].result_count
    assert f"parcels.ParcelEvent ({parcels})</a>" in page
    assert parcels == 55 + 110


def test_show_counts_reads_the_events_once_a_filter(staff, renamed_lots):
    """Django counts each choice as `pk IN (<the events it lists>)`: the union of every event
    table again for each choice (0.6-0.7 s a filter at 150k parcels)."""
    with CaptureQueriesContext(connection) as ctx:
        listed(staff, _facets="True")
    counts = [q["sql"] for q in ctx.captured_queries if "FILTER (WHERE" in q["sql"]]

    assert len(counts) == 2  # label, event model
    assert all(sql.count("WITH pghistory_events AS") == 1 for sql in counts)


def test_show_counts_on_one_records_history(staff, renamed_lots):
    parcel = factories.parcel(address="1500 Lynch St")
    params = {"obj": f"parcels.Parcel:{parcel.pk}", "method": "tracks", "_facets": "True"}

    page = listed(staff, **params).content.decode()

    assert "insert (1)</a>" in page
    assert f"parcels.Parcel:{parcel.pk} (1)</a>" in page


def test_show_counts_on_one_models_history_reads_that_models_tables_alone(staff):
    holding = factories.holding(name="Lynch St Gardens")
    holding.name = "Lynch Street Gardens"
    holding.save()

    with CaptureQueriesContext(connection) as ctx:
        page = listed(staff, model="parcels.Holding", _facets="True").content.decode()

    assert "parcels.HoldingEvent (2)</a>" in page and "update (1)</a>" in page
    assert not [q for q in ctx.captured_queries if '"parcels_parcelevent"' in q["sql"]]
