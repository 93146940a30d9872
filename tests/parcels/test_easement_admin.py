"""The staff admin for conservation easements: adding one with its drawn protected area, who
may hold it, the list at a fixed cost, the monitoring filter, the parcels it burdens (and, on a
parcel's page, the easements over it), and what a reader and an editor may do."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from pghistory.models import Events

from parcels.models import ConservationEasement, EasementMonitoringVisit
from tests import factories
from tests.adminpages import change_url, changelist_url, found
from tests.factories import WEST_JACKSON, lot

pytestmark = pytest.mark.django_db

LON, LAT = WEST_JACKSON
SIDE = 0.0003  # a factory lot's side in degrees
ADD_URL = "admin:parcels_conservationeasement_add"


@pytest.fixture
def trust():
    return factories.party(kind="trust", name="West Jackson CLT")


def added(editor, **fields) -> tuple:
    """The add page posted with a new easement's fields (and no visits); the response and the
    form's data as posted."""
    url = reverse(ADD_URL)
    data = factories.admin_form_data(editor.get(url))
    data.update(name="Town Creek buffer", purpose="water", public_access="closed",
                began_on="2021-04-15", recording_reference="Book 7012 Page 88")  # fmt: skip
    data.update(fields)
    return editor.post(url, data), data


def form_errors(response) -> dict:
    assert response.status_code == 200, response.status_code  # the form again
    return response.context["adminform"].form.errors


# --- adding one ------------------------------------------------------------------------------


def test_an_editor_adds_an_easement_with_its_drawn_protected_area(editor, trust):
    drawn = lot(LON, LAT)[0]  # one polygon drawn on the map, sent as GeoJSON

    response, _ = added(editor, holder=str(trust.pk), geom=drawn.geojson)

    assert response.status_code == 302, response.context and response.context["errors"]
    easement = ConservationEasement.objects.get(name="Town Creek buffer")
    assert (easement.holder, easement.purpose, easement.began_on) == (
        trust, "water", dt.date(2021, 4, 15)
    )
    assert easement.perpetual
    assert easement.geom.geom_type == "MultiPolygon" and easement.geom.num_geom == 1
    assert 800 < easement.area_m2 < 1100  # a 0.0003-degree square at Jackson's latitude
    event = Events.objects.tracks(easement).get()
    assert event.pgh_context["action"] == "admin_conservationeasement_add"


def test_the_holder_box_offers_only_the_trust_and_organisations(editor, trust):
    factories.party(kind="organisation", name="Mississippi Land Trust")
    factories.party(kind="household", name="Evers household")

    form = editor.get(reverse(ADD_URL)).context["adminform"].form
    offered = [party.name for party in form.fields["holder"].queryset]

    assert sorted(offered) == ["Mississippi Land Trust", "West Jackson CLT"]


def test_a_household_holder_is_refused_saying_why_and_nothing_is_saved(editor, trust):
    household = factories.party(kind="household", name="Evers household")

    response, _ = added(editor, holder=str(household.pk), geom=lot().geojson)

    assert form_errors(response)["holder"] == [
        "Evers household is a household; an easement is held by the trust or another "
        "conservation organisation (add the organisation as a party of that kind)."
    ]
    assert not ConservationEasement.objects.exists()


def test_a_holder_that_became_a_household_stays_chosen_and_saving_says_why(editor):
    holder = factories.party(kind="organisation", name="Pearl River Conservancy")
    easement = factories.easement(holder=holder)
    holder.kind = "household"
    holder.save()
    data = factories.admin_form_data(editor.get(change_url(easement)))
    assert data["holder"] == str(holder.pk)  # chosen still, not an empty box

    response = editor.post(change_url(easement), {**data, "name": "Renamed"})

    assert "Pearl River Conservancy is a household" in form_errors(response)["holder"][0]
    easement.refresh_from_db()
    assert easement.name != "Renamed"


def test_a_bow_tie_protected_area_is_refused_with_its_reason_and_nothing_is_saved(editor, trust):
    response, _ = added(editor, holder=str(trust.pk), geom=factories.bow_tie().geojson)

    assert form_errors(response)["geom"] == [
        "The outline is not a valid polygon: Self-intersection at or near point -90.20085 32.29915."
    ]
    assert not ConservationEasement.objects.exists()


# --- the list --------------------------------------------------------------------------------


def list_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(changelist_url(ConservationEasement), params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def easements_with_a_visit(count: int) -> None:
    for _ in range(count):
        easement = factories.easement(holder=factories.party(kind="organisation"))
        EasementMonitoringVisit.objects.create(easement=easement, on=dt.date(2024, 5, 2))


def test_the_list_costs_as_many_queries_for_12_easements_as_for_2(editor):
    easements_with_a_visit(2)
    list_queries(editor)  # the session's and the content types' first reads
    two = list_queries(editor)

    easements_with_a_visit(10)
    twelve = list_queries(editor)

    assert twelve == two


def test_the_list_shows_the_term_the_acres_and_the_monitoring(editor):
    today = timezone.localdate()
    visited = factories.easement(name="Visited", began_on=dt.date(2019, 6, 1))
    EasementMonitoringVisit.objects.create(easement=visited, on=today - dt.timedelta(days=30))
    factories.easement(name="Term", began_on=dt.date(2019, 6, 1), ended_on=dt.date(2020, 6, 1))

    rows = {row.name: row for row in found(editor.get(changelist_url(ConservationEasement)))}
    page = editor.get(changelist_url(ConservationEasement)).content.decode()

    assert rows["Visited"].last_visit_on == today - dt.timedelta(days=30)
    assert "perpetual" in page and "none due (ended)" in page
    assert f"{visited.acres:,.2f}" in page


def test_the_monitoring_filter_lists_the_visits_due_and_those_up_to_date(editor):
    today = timezone.localdate()
    long_ago = dt.date(2019, 6, 1)
    visited = factories.easement(name="Visited this month", began_on=long_ago)
    EasementMonitoringVisit.objects.create(easement=visited, on=today - dt.timedelta(days=20))
    overdue = factories.easement(name="Last visited 400 days ago", began_on=long_ago)
    EasementMonitoringVisit.objects.create(easement=overdue, on=today - dt.timedelta(days=400))
    never = factories.easement(name="Never visited", began_on=long_ago)
    factories.easement(name="Ended", began_on=long_ago, ended_on=dt.date(2020, 6, 1))
    url = changelist_url(ConservationEasement)

    due = found(editor.get(url, {"monitoring": "due"}))
    up_to_date = found(editor.get(url, {"monitoring": "done"}))

    assert sorted(each.name for each in due) == sorted([overdue.name, never.name])
    assert [each.name for each in up_to_date] == [visited.name]
    assert "(due now)" in editor.get(url, {"monitoring": "due"}).content.decode()


def test_search_finds_an_easement_by_name_or_recording_reference(editor):
    creek = factories.easement(name="Town Creek buffer", recording_reference="Book 7012 Page 88")
    factories.easement(name="Hanging Moss farm", recording_reference="Instrument 2021-0042")
    url = changelist_url(ConservationEasement)

    assert found(editor.get(url, {"q": "creek"})) == [creek]
    assert found(editor.get(url, {"q": "7012"})) == [creek]


# --- the parcels it burdens, and a parcel's easements ---------------------------------------


def test_the_change_page_lists_the_parcels_it_burdens_each_linked(editor):
    covered = factories.parcel(apn="164-201-000", address="1201 Hanging Moss Rd", geom=lot())
    neighbour = factories.parcel(apn="164-202-000", geom=lot(LON + SIDE, LAT))
    easement = factories.easement(geom=lot())

    html = editor.get(change_url(easement)).content.decode()

    link = f'<a href="{escape(change_url(covered))}">164-201-000</a>, 1201 Hanging Moss Rd: '
    assert link in html
    assert " m² covered" in html[html.index(link) :]
    assert neighbour.apn not in html


def test_a_parcels_page_names_the_easements_in_force_over_it_with_links(editor):
    parcel = factories.parcel(geom=lot())
    over = factories.easement(name="Hanging Moss farm", geom=lot())
    factories.easement(
        name="Ended buffer", geom=lot(), began_on=dt.date(2010, 1, 1), ended_on=dt.date(2020, 1, 1)
    )
    factories.easement(name="Next lot's easement", geom=lot(LON + SIDE, LAT))

    html = editor.get(change_url(parcel)).content.decode()

    link = f'<a href="{escape(change_url(over))}">Hanging Moss farm</a>'
    assert f"{link} (farmland, perpetual)" in html
    assert "Ended buffer" not in html
    assert "Next lot&#x27;s easement" not in html and "Next lot's easement" not in html


# --- who may do what -------------------------------------------------------------------------


def test_a_reader_sees_an_easement_but_cannot_change_or_add_one(reader):
    easement = factories.easement(name="Town Creek buffer")

    page = reader.get(change_url(easement))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Town Creek buffer" in html and 'name="_save"' not in html
    assert reader.post(change_url(easement), {"name": "Renamed"}).status_code == 403
    assert reader.post(reverse(ADD_URL), {"name": "New"}).status_code == 403
    easement.refresh_from_db()
    assert easement.name == "Town Creek buffer"
    assert ConservationEasement.objects.count() == 1


def test_an_editor_deletes_a_mistyped_visit_but_never_the_easement(editor):
    easement = factories.easement()
    EasementMonitoringVisit.objects.create(easement=easement, on=dt.date(2024, 5, 2))
    data = factories.admin_form_data(editor.get(change_url(easement)))
    data["visits-0-DELETE"] = "on"

    response = editor.post(change_url(easement), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert not easement.visits.exists()
    delete = reverse("admin:parcels_conservationeasement_delete", args=[easement.pk])
    assert editor.post(delete, {"post": "yes"}).status_code == 403
    assert ConservationEasement.objects.filter(pk=easement.pk).exists()


def test_the_visits_are_listed_newest_first(editor):
    easement = factories.easement()
    for day in (dt.date(2022, 5, 1), dt.date(2024, 5, 1), dt.date(2023, 5, 1)):
        EasementMonitoringVisit.objects.create(easement=easement, on=day)

    inline = editor.get(change_url(easement)).context["inline_admin_formsets"][0]

    shown = [form.instance.on.year for form in inline.formset.forms]
    assert shown == [2024, 2023, 2022]


def test_the_baseline_filter_and_the_sources_of_an_easement(editor):
    from leases.models import SourceDocument

    documented = factories.easement(name="Documented", baseline_on=dt.date(2019, 5, 20))
    factories.easement(name="No baseline")
    SourceDocument.objects.create(
        kind="baseline_report", reference="Baseline report, signed 2019-05-20",
        easement=documented,
    )  # fmt: skip
    url = changelist_url(ConservationEasement)

    missing = found(editor.get(url, {"baseline": "missing"}))
    page = editor.get(change_url(documented)).content.decode()

    assert [each.name for each in missing] == ["No baseline"]
    assert "Baseline report, signed 2019-05-20" in page
    assert "baseline documented on" in page.lower()


def test_a_source_added_on_its_own_page_must_name_its_record(editor):
    from leases.models import SourceDocument

    response = editor.post(reverse("admin:leases_sourcedocument_add"),
                           {"kind": "deed", "reference": "Book 9 Page 9"})  # fmt: skip

    assert response.status_code == 200
    assert "A source stands behind one record" in response.content.decode()
    assert not SourceDocument.objects.exists()
