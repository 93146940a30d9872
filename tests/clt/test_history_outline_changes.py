"""An outline's change in a record's history (`parcels.admin.history_of`, shown on the change
page and behind its History button; the events list, `clt/history_admin.py`): its area before
and after, measured on the spheroid like the models' `area_m2`, and how far it moved when its
area stayed the same. The change page said "geom: (an outline) → (an outline)" and the events
list printed every coordinate: staff could not tell what a boundary change did, nor see it put
back (the land steward's report, defect 4)."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcels.models import ConservationEasement, Parcel
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db

EVENTS = "admin:pghistory_events_changelist"
SQUARE = "940 m² (0.232 ac)"  # factories.lot(): 0.0003° a side at 32.3° N


def widened_west(by_deg: float = 0.00001) -> MultiPolygon:
    """factories.lot() with its west edge pushed out by `by_deg` (about 0.94 m)."""
    (west, south), east, north = factories.WEST_JACKSON, -90.2007, 32.2993
    ring = ((west - by_deg, south), (east, south), (east, north), (west - by_deg, north),
            (west - by_deg, south))  # fmt: skip
    return MultiPolygon(Polygon(ring), srid=4326)


def changes(page) -> list[tuple[str, str, str]]:
    return [(c.field, c.old, c.new) for e in page.context["clt_history"] for c in e.changes]


def test_an_easements_widened_outline_shows_its_area_before_and_after(editor):
    easement = factories.easement(name="Lynch Street woodland")
    before_m2 = ConservationEasement.objects.get(pk=easement.pk).area_m2
    easement.geom = widened_west()
    easement.save()
    after_m2 = ConservationEasement.objects.get(pk=easement.pk).area_m2

    page = editor.get(change_url(easement))

    assert changes(page) == [("geom", SQUARE, "971 m² (0.240 ac; +31 m²)")]
    assert (round(before_m2), round(after_m2)) == (940, 971)  # the model's own measure
    assert f"{SQUARE} → 971 m² (0.240 ac; +31 m²)" in page.content.decode()


def test_a_parcels_outline_changed_and_put_back_shows_both_changes(editor):
    parcel = factories.parcel()
    parcel.geom = widened_west()
    parcel.save()
    parcel.geom = factories.lot()
    parcel.save()

    page = editor.get(change_url(parcel))

    assert changes(page) == [
        ("geom", "971 m² (0.240 ac)", "940 m² (0.232 ac; -31 m²)"),
        ("geom", SQUARE, "971 m² (0.240 ac; +31 m²)"),
    ]
    assert round(Parcel.objects.get(pk=parcel.pk).area_m2) == 940


def test_an_outline_moved_without_changing_its_area_says_how_far(editor):
    parcel = factories.parcel()
    parcel.geom = factories.lot(factories.WEST_JACKSON[0] + 0.00005)  # about 4.7 m east
    parcel.save()

    page = editor.get(change_url(parcel))

    assert changes(page) == [("geom", SQUARE, "940 m² (0.232 ac; same area, moved up to 4.7 m)")]


def test_an_outline_added_or_removed_says_its_area(editor):
    parcel = factories.parcel(geom=None)
    parcel.geom = factories.lot()
    parcel.save()
    parcel.geom = None
    parcel.save()

    page = editor.get(change_url(parcel))

    assert changes(page) == [("geom", SQUARE, "—"), ("geom", "—", SQUARE)]


def test_an_added_easement_lists_its_outline_by_its_area(editor):
    easement = factories.easement()

    (added,) = editor.get(change_url(easement)).context["clt_history"]

    assert ("geom", SQUARE) in [(row.field, row.value) for row in added.values]


def test_the_events_list_shows_an_outline_change_by_its_area_not_its_coordinates(editor):
    easement = factories.easement()
    easement.geom = widened_west()
    easement.save()

    html = editor.get(reverse(EVENTS), {"label": "update"}).content.decode()

    assert f"{SQUARE}&quot;, &quot;971 m² (0.240 ac; +31 m²)" in html
    assert "coordinates" not in html and "-90.2007" not in html


def queries(client, url: str, **params) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return [query["sql"] for query in ctx.captured_queries]


def reshape(parcels: list[Parcel], times: int) -> None:
    for parcel in parcels:
        for n in range(times):
            parcel.geom = widened_west(0.00001 * (n + 1))
            parcel.save(update_fields=["geom"])


def test_the_events_list_measures_a_page_of_outline_changes_in_one_query(editor):
    reshape([factories.parcel()], 1)
    queries(editor, reverse(EVENTS), label="update")  # the session's and content types' reads
    one = queries(editor, reverse(EVENTS), label="update")
    reshape([factories.parcel() for _ in range(30)], 2)  # 61 outline changes on one page

    many = queries(editor, reverse(EVENTS), label="update")

    assert len(many) == len(one)
    assert len([sql for sql in many if "ST_HausdorffDistance" in sql]) == 1


def test_a_records_history_measures_its_outline_changes_in_one_query(editor):
    parcel = factories.parcel()
    history = reverse("admin:parcels_parcel_history", args=[parcel.pk])
    reshape([parcel], 1)
    queries(editor, history)
    one = queries(editor, history)
    reshape([parcel], 40)

    many = queries(editor, history)

    assert len(many) == len(one)
    assert len([sql for sql in many if "ST_HausdorffDistance" in sql]) == 1
