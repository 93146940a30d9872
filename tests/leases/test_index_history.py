"""The index values behind resale prices keep a history and say where each came from.

An index formula prices a home from these values: a 2019 AMI edited in the admin changes every
such home's price, so the edit must leave who, when and the old value, and the value must say
it was typed in the admin, not published in the file it was first loaded from.
"""

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pghistory.models import Events

from clt.cli import main
from leases.indexes import index_load
from leases.models import IndexSeries, IndexValue, SourceDocument
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db

SERIES = "test-ami"
SOURCE = "HUD FY2024 median family income"


@pytest.fixture
def loaded(tmp_path) -> IndexSeries:
    """A series loaded from a file: 2019 and 2020, each with the file's source."""
    path = tmp_path / "ami.csv"
    path.write_text("year,value\n2019,62500\n2020,64100\n")
    return index_load(path=path, series=SERIES, kind="ami", source=SOURCE).series


def value_of(series: IndexSeries, year: int) -> IndexValue:
    return series.values.get(year=year, month__isnull=True)


def row_of(data: dict, year: int) -> str:
    """The inline row's prefix ("values-0-") of the value for `year` in a posted form."""
    for row in range(int(data["values-TOTAL_FORMS"])):
        if data.get(f"values-{row}-year") == str(year):
            return f"values-{row}-"
    raise AssertionError(f"no row for {year} in the form")


def post_series(client, series: IndexSeries, **changes: str):
    """Save the series' change page with these fields changed ({"2019-value": "63000"})."""
    data = factories.admin_form_data(client.get(change_url(series)))
    for name, text in changes.items():
        year, field = name.split("-", 1)
        data[row_of(data, int(year)) + field] = text
    response = client.post(change_url(series), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    return response


def entered_by(username: str) -> str:
    return f"entered in the admin by {username} on {timezone.localdate().isoformat()}"


# --- an edit in the admin ------------------------------------------------------------------------


def test_editing_a_value_in_the_admin_leaves_an_event_with_the_old_value_and_who(editor, loaded):
    post_series(editor, loaded, **{"2019-value": "63000"})

    entries = editor.get(reverse("admin:leases_indexseries_history", args=[loaded.pk]))
    edits = [e for e in entries.context["clt_history"] if e.action == "admin_indexseries_change"]
    assert [(e.user, e.what, e.label) for e in edits] == [
        ("edna", f"index value {value_of(loaded, 2019).pk}", "update")
    ]
    changes = {c.field: (c.old, c.new) for c in edits[0].changes}
    assert changes["value"] == ("62,500.0000", "63,000.0000")
    assert changes["source"] == (SOURCE, entered_by("edna"))


def test_a_value_changed_in_the_admin_says_it_was_entered_there_by_whom(editor, loaded):
    post_series(editor, loaded, **{"2019-value": "63000"})

    edited = value_of(loaded, 2019)
    assert (edited.value, edited.source, edited.loaded_from) == (63000, entered_by("edna"), "")


def test_a_value_left_as_it_was_keeps_its_files_source(editor, loaded):
    before = value_of(loaded, 2020)

    post_series(editor, loaded, **{"2019-value": "63000"})

    after = value_of(loaded, 2020)
    assert (after.source, after.loaded_from) == (SOURCE, before.loaded_from)
    assert after.loaded_from.startswith("ami.csv (sha256 ")
    assert not Events.objects.tracks(after).filter(pgh_label="update").exists()


def test_an_edit_in_the_admin_is_no_load_so_the_series_keeps_its_load_time(editor, loaded):
    events_before = Events.objects.tracks(loaded).count()

    post_series(editor, loaded, **{"2019-value": "63000"})

    assert IndexSeries.objects.get(pk=loaded.pk).loaded_at == loaded.loaded_at
    assert Events.objects.tracks(loaded).count() == events_before


def test_a_source_staff_type_with_the_value_is_kept(editor, loaded):
    post_series(editor, loaded, **{"2019-value": "63000", "2019-source": "HUD FY2019 errata, p. 3"})

    assert value_of(loaded, 2019).source == "HUD FY2019 errata, p. 3"


def test_a_value_added_in_the_admin_says_it_was_entered_there(editor, loaded):
    data = factories.admin_form_data(editor.get(change_url(loaded)))
    row = int(data["values-TOTAL_FORMS"])
    data["values-TOTAL_FORMS"] = str(row + 1)
    data.update({f"values-{row}-year": "2021", f"values-{row}-value": "65000",
                 f"values-{row}-series": str(loaded.pk)})  # fmt: skip

    response = editor.post(change_url(loaded), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert value_of(loaded, 2021).source == entered_by("edna")


def test_an_index_values_history_page_names_the_value(editor, loaded):
    value = value_of(loaded, 2019)
    response = editor.get(
        reverse("admin:pghistory_events_changelist"),
        {"obj": f"leases.IndexValue:{value.pk}", "method": "tracks"},
    )
    assert response.status_code == 200
    assert "test-ami 2019" in response.content.decode()
    assert [e.pgh_label for e in response.context["cl"].result_list] == ["insert"]


def test_an_index_series_change_page_shows_its_history(editor, loaded):
    response = editor.get(change_url(loaded))

    assert response.context["clt_history_tracked"] is True
    actions = {(e.action, e.label) for e in response.context["clt_history"]}
    assert ("index_load", "insert") in actions


# --- a load from a file --------------------------------------------------------------------------


def test_load_index_writes_appear_in_history_with_the_old_value(monkeypatch, loaded, tmp_path):
    monkeypatch.setattr("leases.cli.setup_django", lambda **kwargs: None)
    path: Path = tmp_path / "ami2019.csv"
    path.write_text("year,value\n2019,63000\n")

    result = CliRunner().invoke(main, [
        "load-index", str(path), "--series", SERIES, "--kind", "ami", "--source", "HUD errata",
    ], catch_exceptions=False)  # fmt: skip

    assert result.exit_code == 0, result.output
    events = list(Events.objects.tracks(value_of(loaded, 2019)).order_by("pgh_id"))
    assert [(e.pgh_label, e.pgh_context["action"]) for e in events] == [
        ("insert", "index_load"),
        ("update", "index_load"),
    ]
    assert IndexSeries.objects.get(pk=loaded.pk).loaded_at > loaded.loaded_at
    update = events[-1]
    assert update.pgh_context["file"] == "ami2019.csv"
    assert update.pgh_diff["value"] == [62500.0, 63000.0]
    assert update.pgh_diff["source"] == [SOURCE, "HUD errata"]


# --- the documents behind a record ---------------------------------------------------------------


def test_a_source_document_changed_in_the_admin_is_in_its_holdings_history(editor):
    holding = factories.holding()
    document = SourceDocument.objects.create(kind="deed", reference="Book 6789", holding=holding)
    data = factories.admin_form_data(editor.get(change_url(document)))
    data["reference"] = "Book 6789 Page 12"
    assert editor.post(change_url(document), data).status_code == 302

    entries = editor.get(reverse("admin:parcels_holding_history", args=[holding.pk]))

    edits = [e for e in entries.context["clt_history"] if e.action]
    assert [(e.action, e.user, e.what) for e in edits] == [
        ("admin_sourcedocument_change", "edna", f"source document {document.pk}")
    ]


def test_a_series_page_titles_its_values_without_a_query_per_value(editor):
    """Each inline row is titled by its value's name ("bls-cpi 2020-03"), which names the
    series: a monthly series of many years must not cost a query per month."""
    series = IndexSeries.objects.create(name="bls-cpi", kind="cpi", source="BLS")
    IndexValue.objects.create(series=series, year=2020, month=1, value=101)
    with CaptureQueriesContext(connection) as one_value:
        editor.get(change_url(series))
    for month in range(2, 13):
        IndexValue.objects.create(series=series, year=2020, month=month, value=100 + month)

    with CaptureQueriesContext(connection) as twelve_values:
        page = editor.get(change_url(series)).content.decode()

    assert "bls-cpi 2020-12" in page
    assert len(twelve_values.captured_queries) == len(one_value.captured_queries)


def test_a_value_a_lease_reads_today_cannot_be_deleted_in_the_admin(editor, monkeypatch):
    """`clt load-index --replace` refused dropping it; the admin deleted it, and the lease
    pages of GL-2019-004 and GL-2022-013 said "No price" (QA s19)."""
    from parcels.demo import load_demo_neighbourhood

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: dt.date(2026, 11, 24))
    load_demo_neighbourhood()
    series = IndexSeries.objects.get(name="illustrative-demo-ami")
    data = factories.admin_form_data(editor.get(change_url(series)))
    data[f"{row_of(data, 2026)}DELETE"] = "on"

    response = editor.post(change_url(series), data)

    assert response.status_code == 200
    [error] = response.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert error == (
        "These values cannot be deleted or moved to another year: leases in force read them "
        "today (lease GL-2019-004 reads year 2026 (the index for a sale today on 2026-11-24); "
        "lease GL-2022-013 reads year 2026 (the index for a sale today on 2026-11-24)). Correct "
        "a value's number instead, or load the series again with clt load-index."
    )
    assert series.values.filter(year=2026).exists()


def test_a_series_leases_read_today_cannot_be_deleted_in_the_admin(admin_client, monkeypatch):
    """Deleting the whole series went round the guard on its values (QA s19; an
    administrator may delete a series, an editor may not)."""
    from django.urls import reverse

    from parcels.demo import load_demo_neighbourhood

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: dt.date(2026, 11, 24))
    load_demo_neighbourhood()
    series = IndexSeries.objects.get(name="illustrative-demo-ami")
    url = reverse("admin:leases_indexseries_delete", args=[series.pk])

    page = admin_client.get(url)
    response = admin_client.post(url, {"post": "yes"})

    assert "lease GL-2019-004 reads year 2026 (the index for a sale today on 2026-11-24), from " \
        "index series illustrative-demo-ami" in [str(item) for item in page.context["protected"]]
    assert response.status_code == 200  # the page again, not the deletion
    assert IndexSeries.objects.filter(pk=series.pk).exists()
    assert series.values.count() == 12
