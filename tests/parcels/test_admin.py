"""The staff admin for parcels and holdings: who may do what, search, the map, history."""

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.db import IntegrityError, transaction
from django.urls import reverse
from pghistory.models import Events

from parcels.admin import outline_problem
from parcels.models import Holding, HoldingParcel, Parcel
from tests import factories
from tests.adminpages import change_url, changelist_url, found

pytestmark = pytest.mark.django_db

PARCEL_MODELS = [model for model in admin.site._registry if model._meta.app_label == "parcels"]


@pytest.fixture
def registry():
    return factories.registry()


# --- every page renders -----------------------------------------------------------------------


@pytest.mark.parametrize("model", PARCEL_MODELS, ids=lambda m: m._meta.model_name)
def test_every_parcels_changelist_renders_for_an_editor(editor, registry, model):
    assert editor.get(changelist_url(model)).status_code == 200


@pytest.mark.parametrize("model", PARCEL_MODELS, ids=lambda m: m._meta.model_name)
def test_every_parcels_change_page_renders_for_an_editor(editor, registry, model):
    obj = registry[model._meta.model_name]
    response = editor.get(change_url(obj))
    assert response.status_code == 200
    assert response.context["original"] == obj


@pytest.mark.parametrize("model", PARCEL_MODELS, ids=lambda m: m._meta.model_name)
def test_every_parcels_change_page_renders_for_a_reader(reader, registry, model):
    assert reader.get(change_url(registry[model._meta.model_name])).status_code == 200


def test_the_history_browser_renders_a_parcels_events_for_an_editor(editor, registry):
    url = reverse("admin:pghistory_events_changelist")
    response = editor.get(
        url, {"method": "references", "obj": f"parcels.Parcel:{registry['parcel'].pk}"}
    )
    assert response.status_code == 200


# --- search and filters -----------------------------------------------------------------------


def test_search_by_apn_finds_the_parcel(editor):
    wanted = factories.parcel(apn="164-555-010")
    factories.parcel(apn="164-777-020")
    response = editor.get(changelist_url(Parcel), {"q": "164-555"})
    assert found(response) == [wanted]


def test_search_by_address_finds_the_parcel(editor):
    wanted = factories.parcel(address="1072 Ewing St")
    factories.parcel(address="939 W Capitol St")
    response = editor.get(changelist_url(Parcel), {"q": "Ewing"})
    assert found(response) == [wanted]


def test_search_by_owner_of_record_finds_the_parcel(editor):
    wanted = factories.parcel(owner_of_record="Hinds County Land Bank")
    factories.parcel()
    response = editor.get(changelist_url(Parcel), {"q": "land bank"})
    assert found(response) == [wanted]


def test_search_by_owner_finds_a_name_with_or_without_its_apostrophe(editor):
    # County files write "ONEAL" or "O'NEAL"; staff type either, or "O’Neal" from a letter.
    with_it = factories.parcel(owner_of_record="O'NEAL MARY", address="12 A St")
    without = factories.parcel(owner_of_record="ONEAL JAMES", address="14 A St")
    factories.parcel(owner_of_record="NEALY ROSE")
    for typed in ("Oneal", "O'Neal", "O’Neal"):
        response = editor.get(changelist_url(Parcel), {"q": typed})
        assert sorted(found(response), key=lambda p: p.pk) == [with_it, without], typed
    assert found(editor.get(changelist_url(Parcel), {"q": "oneal mary"})) == [with_it]


def test_the_search_box_says_how_it_searches(editor):
    page = editor.get(changelist_url(Parcel)).content.decode()
    assert "The start of an APN, or part of an address or owner." in page
    assert "With or without apostrophes and accents" in page


def test_search_by_two_letters_finds_the_words_that_start_with_them(editor):
    # As on the map: "%QZ%" has no trigram, so two letters read all of a county (3.6 s at 1M).
    rust = factories.parcel(address="12 Rust St", owner_of_record="MARY JONES")
    factories.parcel(address="14 Trust St", owner_of_record="MARY SMITH")
    assert found(editor.get(changelist_url(Parcel), {"q": "ru"})) == [rust]
    assert found(editor.get(changelist_url(Parcel), {"q": "jo"})) == [rust]


def test_search_results_come_in_apn_order(editor):
    # While searching, the list sorts by an expression rather than walk the APN index
    # (ParcelAdmin.get_ordering): the order staff see is still the APN's.
    made = [factories.parcel(apn=apn, owner_of_record="Delta Properties LLC")
            for apn in ("164-300-000", "164-100-000", "164-200-000")]  # fmt: skip
    factories.parcel(apn="164-150-000")
    response = editor.get(changelist_url(Parcel), {"q": "delta properties"})
    assert found(response) == sorted(made, key=lambda p: p.apn)


def test_parcel_autocomplete_finds_by_apn_start_in_apn_order(editor):
    # The holding form's parcel picker searches like the list, sorted the same way while
    # searching (ParcelAdmin.get_ordering reads the autocomplete's `term` too).
    for apn in ("133-281-009", "133-281-002", "133-290-001"):
        factories.parcel(apn=apn)
    response = editor.get(
        "/admin/autocomplete/",
        {"term": "133-281", "app_label": "parcels", "model_name": "holdingparcel",
         "field_name": "parcel"},
    )  # fmt: skip
    assert response.status_code == 200
    assert [r["text"].split()[0] for r in response.json()["results"]] == [
        "133-281-002", "133-281-009",
    ]  # fmt: skip


def test_search_by_apn_matches_its_start_only(editor):
    factories.parcel(apn="164-555-010")
    assert found(editor.get(changelist_url(Parcel), {"q": "555-010"})) == []


def test_land_use_filter_offers_the_codes_in_use_and_filters_by_one(editor):
    farm = factories.parcel(land_use="AG")
    factories.parcel(land_use="RES-VAC")
    factories.parcel(land_use="")
    response = editor.get(changelist_url(Parcel))
    choices = re.findall(r'href="\?land_use=([^"&]*)"', response.content.decode())
    assert choices == ["", "AG", "RES-VAC"]
    assert found(editor.get(changelist_url(Parcel), {"land_use": "AG"})) == [farm]


def test_filter_by_vacancy_and_tax_status_keeps_only_matching_parcels(editor):
    wanted = factories.parcel(vacancy_status="vacant", tax_status="forfeited")
    factories.parcel(vacancy_status="occupied", tax_status="forfeited")
    factories.parcel(vacancy_status="vacant", tax_status="current")
    response = editor.get(
        changelist_url(Parcel),
        {"vacancy_status__exact": "vacant", "tax_status__exact": "forfeited"},
    )
    assert found(response) == [wanted]


def test_retired_filter_separates_parcels_gone_from_the_county_file(editor):
    current = factories.parcel()
    retired = factories.parcel(retired_at="2025-01-31T00:00:00Z")
    assert found(editor.get(changelist_url(Parcel), {"retired": "no"})) == [current]
    assert found(editor.get(changelist_url(Parcel), {"retired": "yes"})) == [retired]


def test_parcel_list_shows_area_in_square_metres_and_acres(editor):
    factories.parcel(apn="164-900-001")
    html = editor.get(changelist_url(Parcel)).content.decode()
    parcel = Parcel.objects.get(apn="164-900-001")
    assert f"{parcel.area_m2:,.0f}" in html
    assert f"{parcel.acres:,.3f}" in html


def test_search_holdings_by_parcel_apn_finds_the_holding_once(editor):
    wanted = factories.holding(
        name="Ewing St co-op",
        parcels=[factories.parcel(apn="164-321-001"), factories.parcel(apn="164-321-002")],
    )
    factories.holding(name="Freedom Farm", parcels=[factories.parcel(apn="164-999-001")])
    response = editor.get(changelist_url(Holding), {"q": "164-321"})
    assert found(response) == [wanted]


# --- who may do what --------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_the_login_page(client, registry):
    response = client.get(change_url(registry["parcel"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_logged_in_user_who_is_not_staff_is_sent_to_the_login_page(client, registry):
    client.force_login(factories.user("visitor"))
    response = client.get(changelist_url(Parcel))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_read_only_user_sees_the_parcel_without_a_save_button(reader, registry):
    response = reader.get(change_url(registry["parcel"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert registry["parcel"].apn in html
    assert 'name="_save"' not in html
    assert 'name="_continue"' not in html


def test_read_only_user_is_refused_a_change_and_nothing_is_saved(reader, registry):
    parcel = registry["parcel"]
    response = reader.post(change_url(parcel), {"apn": "HACKED", "jurisdiction": "hinds-ms"})
    assert response.status_code == 403
    parcel.refresh_from_db()
    assert parcel.apn != "HACKED"


def test_read_only_user_is_refused_adding_a_parcel(reader):
    response = reader.post(reverse("admin:parcels_parcel_add"), {"apn": "164-000-001"})
    assert response.status_code == 403
    assert not Parcel.objects.filter(apn="164-000-001").exists()


def test_editor_may_not_delete_a_parcel(editor, registry):
    parcel = registry["parcel"]
    url = reverse("admin:parcels_parcel_delete", args=[parcel.pk])
    assert editor.post(url, {"post": "yes"}).status_code == 403
    assert Parcel.objects.filter(pk=parcel.pk).exists()


def test_editor_sees_no_delete_link_on_a_holding(editor, registry):
    html = editor.get(change_url(registry["holding"])).content.decode()
    assert "deletelink" not in html


# --- writes are named actions in the history ------------------------------------------------


def test_editor_edit_leaves_a_history_event_with_the_user_and_the_action(editor, registry):
    parcel = registry["parcel"]
    data = factories.admin_form_data(editor.get(change_url(parcel)))
    data["zoning"] = "R-2"

    response = editor.post(change_url(parcel), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    event = Events.objects.tracks(parcel).filter(pgh_label="update").get()
    assert event.pgh_diff == {"zoning": ["", "R-2"]}
    assert event.pgh_context["action"] == "admin_parcel_change"
    assert event.pgh_context["user"] == response.wsgi_request.user.pk


def test_adding_a_holding_with_its_parcels_is_one_named_action(editor):
    lots = [factories.parcel(), factories.parcel()]
    data = {
        "name": "Ewing St co-op",
        "current_use": "coop_housing",
        "acquired_via": "city_transfer",
        "acquired_on": "2024-05-01",
        "price": "0",
        "holdingparcel_set-TOTAL_FORMS": "2",
        "holdingparcel_set-INITIAL_FORMS": "0",
        "improvements-TOTAL_FORMS": "0",
        "improvements-INITIAL_FORMS": "0",
        "sources-TOTAL_FORMS": "0",
        "sources-INITIAL_FORMS": "0",
    }
    for i, lot in enumerate(lots):
        data[f"holdingparcel_set-{i}-parcel"] = str(lot.pk)
        data[f"holdingparcel_set-{i}-began_on"] = "2024-05-01"

    response = editor.post(reverse("admin:parcels_holding_add"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    holding = Holding.objects.get(name="Ewing St co-op")
    assert set(holding.parcels.all()) == set(lots)
    actions = {e.pgh_context["action"] for e in Events.objects.references(holding)}
    assert actions == {"admin_holding_add"}
    assert (
        Events.objects.references(holding).filter(pgh_model="parcels.HoldingParcelEvent").count()
        == 2
    )


def test_change_page_shows_who_changed_the_parcel_and_through_which_action(editor, registry):
    parcel = registry["parcel"]
    data = factories.admin_form_data(editor.get(change_url(parcel)))
    data["zoning"] = "C-2"
    editor.post(change_url(parcel), data)

    html = editor.get(change_url(parcel)).content.decode()

    history = html[html.index('id="clt-history"') :]
    assert "admin_parcel_change" in history
    assert '<td class="clt-user">edna</td>' in history
    assert "<strong>zoning</strong>:  → C-2" in history.replace("—", "")


def test_the_history_scrolls_in_a_named_box_a_keyboard_can_reach(editor, registry):
    # axe's scrollable-region-focusable: on a phone the history is wider than its box.
    html = editor.get(change_url(registry["parcel"])).content.decode()
    box = '<div class="clt-scroll-x" tabindex="0" role="region" aria-label="History table">'
    assert html.count(box) == 1
    assert html.index(box) < html.index('<table class="clt-history">')


def test_history_button_lists_every_event_of_the_parcel(editor, registry):
    parcel = registry["parcel"]
    for zoning in ("R-1", "R-2", "R-3"):
        data = factories.admin_form_data(editor.get(change_url(parcel)))
        data["zoning"] = zoning
        editor.post(change_url(parcel), data)

    response = editor.get(reverse("admin:parcels_parcel_history", args=[parcel.pk]))

    assert response.status_code == 200
    entries = response.context["clt_history"]
    assert [e.action for e in entries if e.what.startswith("parcel ")].count(
        "admin_parcel_change"
    ) == 3
    assert [c.new for e in entries if e.label == "update" for c in e.changes] == [
        "R-3",
        "R-2",
        "R-1",
    ]


def test_read_only_user_sees_the_history_too(reader, registry):
    response = reader.get(reverse("admin:parcels_parcel_history", args=[registry["parcel"].pk]))
    assert response.status_code == 200


# --- the outline: map widget and invalid polygons ---------------------------------------------


class AssetCollector(HTMLParser):
    """Every script src and stylesheet href of a page."""

    def __init__(self):
        super().__init__()
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.assets.append(attrs["src"])
        if tag == "link" and "stylesheet" in (attrs.get("rel") or ""):
            self.assets.append(attrs["href"])


def test_parcel_change_page_loads_leaflet_and_its_styles_from_static_only(editor, registry):
    html = editor.get(change_url(registry["parcel"])).content.decode()
    collector = AssetCollector()
    collector.feed(html)

    assert "/static/leaflet/leaflet.js" in collector.assets
    assert "/static/leaflet/draw/leaflet.draw.js" in collector.assets
    assert "/static/leaflet/leaflet.css" in collector.assets
    # the admin's own translation catalogue is the one asset not under /static/
    assert [a for a in collector.assets if not a.startswith("/static/")] == [
        reverse("admin:jsi18n")
    ]
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", html)


def test_parcel_map_opens_on_the_trusts_base_map(editor, registry):
    from django.conf import settings

    html = editor.get(change_url(registry["parcel"])).content.decode()
    assert settings.BASEMAP_URL in html


def test_parcel_map_zooms_close_enough_to_edit_a_lot_and_has_no_blank_reset_button(
    editor, registry
):
    import json
    import re

    html = editor.get(change_url(registry["parcel"])).content.decode()
    # django-leaflet writes its settings into the page as JSON ("maxzoom", "resetview")
    options = json.loads("{" + re.search(r'"maxzoom": ?\d+', html).group(0) + "}")
    assert options["maxzoom"] == 19  # it fit outlines no closer than 15: a lot was 3 x 9 px
    assert re.search(r'"resetview": ?false', html)


def test_bow_tie_polygon_is_rejected_with_the_reason_and_nothing_saved(editor, registry):
    parcel = registry["parcel"]
    before = parcel.geom.wkt
    data = factories.admin_form_data(editor.get(change_url(parcel)))
    data["geom"] = factories.bow_tie().geojson

    response = editor.post(change_url(parcel), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["geom"]
    assert errors == [
        "The outline is not a valid polygon: Self-intersection at or near point -90.20085 32.29915."
    ]
    assert "Self-intersection at or near point" in response.content.decode()
    parcel.refresh_from_db()
    assert parcel.geom.wkt == before
    assert not Events.objects.tracks(parcel).filter(pgh_label="update").exists()


def test_a_single_drawn_polygon_is_saved_as_a_one_part_multipolygon(editor, registry):
    parcel = registry["parcel"]
    data = factories.admin_form_data(editor.get(change_url(parcel)))
    data["geom"] = factories.lot(-90.2100, 32.3000)[0].geojson  # a Polygon, not a MultiPolygon

    response = editor.post(change_url(parcel), data)

    assert response.status_code == 302
    parcel.refresh_from_db()
    assert parcel.geom.geom_type == "MultiPolygon"
    assert parcel.geom.num_geom == 1
    assert round(parcel.geom.extent[0], 4) == -90.2100


def test_a_parcel_without_an_outline_is_saved_while_it_is_researched(editor, registry):
    """The model allows a parcel with no outline yet; saving one was a 500 (Django evaluated
    the outline's validity CHECK in Python, on no geometry)."""
    parcel = registry["parcel"]
    data = factories.admin_form_data(editor.get(change_url(parcel)))
    data["geom"] = ""
    assert editor.post(change_url(parcel), data).status_code == 302
    parcel.refresh_from_db()
    assert parcel.geom is None
    data["zoning"] = "R-2"  # and saved again without one
    assert editor.post(change_url(parcel), data).status_code == 302
    added = factories.admin_form_data(editor.get(reverse("admin:parcels_parcel_add")))
    added.update(apn="FZ-000-001", address="1 Research Way", geom="")
    assert editor.post(reverse("admin:parcels_parcel_add"), added).status_code == 302
    assert Parcel.objects.get(apn="FZ-000-001").geom is None


PLAINLY_ELSEWHERE = "outside the area this registry keeps land in"


@pytest.mark.parametrize(
    ("pasted", "said"),
    [
        ("MULTIPOLYGON EMPTY", "The outline is empty"),
        ("POLYGON EMPTY", "The outline is empty"),
        ("{}", "cannot be read"),
        ('{"type": "Polygon"}', "cannot be read"),
        ("SRID=99999;POLYGON((0 0,1 0,1 1,0 0))", "EPSG:99999"),
        ("POLYGON((90.2 32.3,90.21 32.3,90.21 32.31,90.2 32.3))", PLAINLY_ELSEWHERE),  # China
        ("POLYGON((32.3 -90.2,32.31 -90.2,32.31 -90.19,32.3 -90.2))", "latitude, longitude"),
        ("POLYGON((179.9 10,180 10,180 11,179.9 10))", PLAINLY_ELSEWHERE),
        ("POLYGON((-180 -90,180 -90,180 90,-180 90,-180 -90))", PLAINLY_ELSEWHERE),
    ],
)
def test_an_outline_that_cannot_be_kept_is_a_form_error_not_a_500(editor, registry, pasted, said):
    parcel = registry["parcel"]
    before = parcel.geom.wkt
    data = factories.admin_form_data(editor.get(change_url(parcel)))
    data["geom"] = pasted
    response = editor.post(change_url(parcel), data)
    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["geom"]
    assert said in error
    parcel.refresh_from_db()
    assert parcel.geom.wkt == before


def test_an_outline_with_heights_is_kept_flat(editor, registry):
    parcel = registry["parcel"]
    data = factories.admin_form_data(editor.get(change_url(parcel)))
    data["geom"] = (
        "POLYGON Z((-90.21 32.3 5,-90.2099 32.3 5,-90.2099 32.3001 5,-90.21 32.3001 5,"
        "-90.21 32.3 5))"
    )
    assert editor.post(change_url(parcel), data).status_code == 302
    parcel.refresh_from_db()
    assert not parcel.geom.hasz and round(parcel.geom.extent[0], 4) == -90.21


def test_history_names_a_changed_outline_instead_of_printing_its_coordinates(editor, registry):
    parcel = registry["parcel"]
    data = factories.admin_form_data(editor.get(change_url(parcel)))
    data["geom"] = factories.lot(-90.2100, 32.3000).geojson
    editor.post(change_url(parcel), data)

    entries = editor.get(change_url(parcel)).context["clt_history"]

    changes = [(c.field, c.old, c.new) for e in entries for c in e.changes]
    moved = "940 m² (0.232 ac; same area, moved up to 854.8 m)"  # by its area: not its WKT
    assert changes == [("geom", "940 m² (0.232 ac)", moved)]


def test_outline_problem_names_the_point_where_the_ring_crosses_itself():
    assert outline_problem(factories.bow_tie()) == (
        "Self-intersection at or near point -90.20085 32.29915"
    )
    assert outline_problem(factories.lot()) is None


def test_holding_page_lists_its_parcels_inline(editor, registry):
    response = editor.get(change_url(registry["holding"]))
    formsets = {f.formset.prefix: f.formset for f in response.context["inline_admin_formsets"]}
    parcels_inline = formsets["holdingparcel_set"]
    assert [form.instance.parcel for form in parcels_inline.forms if form.instance.pk] == [
        registry["parcel"]
    ]
    assert HoldingParcel.objects.filter(holding=registry["holding"]).count() == 1


def test_read_only_user_sees_the_outline_on_a_map_that_cannot_be_edited(reader, registry):
    html = reader.get(change_url(registry["parcel"])).content.decode()
    collector = AssetCollector()
    collector.feed(html)

    assert "/static/leaflet/leaflet.js" in collector.assets
    assert 'id="id_geom-map"' in html
    assert "geodjango_id_geom.modifiable = false;" in html


# --- a parcel's memberships: dated in order, one holding at a time ----------------------------


def holding_data(**memberships) -> dict:
    """The add-holding POST body with `memberships` as {index: (parcel, began, ended)}."""
    data = {
        "name": "1102 Lynch St",
        "current_use": "single_family_home",
        "acquired_via": "purchase",
        "acquired_on": "2019-01-01",
        "price": "0",
        "holdingparcel_set-TOTAL_FORMS": str(len(memberships)),
        "holdingparcel_set-INITIAL_FORMS": "0",
        "improvements-TOTAL_FORMS": "0",
        "improvements-INITIAL_FORMS": "0",
        "sources-TOTAL_FORMS": "0",
        "sources-INITIAL_FORMS": "0",
    }
    for i, (parcel, began, ended) in enumerate(memberships.values()):
        data[f"holdingparcel_set-{i}-parcel"] = str(parcel.pk)
        data[f"holdingparcel_set-{i}-began_on"] = began
        data[f"holdingparcel_set-{i}-ended_on"] = ended
    return data


def inline_errors(response) -> list[dict]:
    [formset] = [
        inline.formset for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is HoldingParcel
    ]  # fmt: skip
    return formset.errors


def test_a_membership_ending_before_it_begins_is_refused_on_its_end_date(editor):
    lot = factories.parcel()
    response = editor.post(
        reverse("admin:parcels_holding_add"), holding_data(a=(lot, "2020-01-01", "2019-01-01"))
    )
    assert response.status_code == 200
    assert inline_errors(response)[0]["ended_on"] == [
        "2019-01-01 is before the parcel joined, 2020-01-01."
    ]
    assert not Holding.objects.filter(name="1102 Lynch St").exists()


def test_the_database_refuses_a_membership_ending_before_it_begins(registry):
    membership = HoldingParcel.objects.get(parcel=registry["parcel"])
    membership.ended_on = dt.date(2000, 1, 1)
    refused = pytest.raises(IntegrityError, match="membership_ends_after_it_begins")
    with refused, transaction.atomic():
        membership.save()


def test_a_parcel_in_another_holding_for_an_overlapping_period_is_refused_naming_it(editor):
    lot = factories.parcel()
    factories.holding(name="Freedom Farm", parcels=[lot], acquired_on=dt.date(2015, 8, 21))
    response = editor.post(
        reverse("admin:parcels_holding_add"), holding_data(a=(lot, "2019-01-01", "2020-06-30"))
    )
    assert response.status_code == 200
    assert inline_errors(response)[0]["began_on"] == [
        "The parcel is in Freedom Farm from 2015-08-21; a parcel belongs to one holding at a time."
    ]


def test_a_parcel_may_join_another_holding_after_it_left_the_first(editor):
    lot = factories.parcel()
    first = factories.holding(parcels=[lot], acquired_on=dt.date(2015, 8, 21))
    HoldingParcel.objects.filter(holding=first).update(ended_on=dt.date(2019, 1, 1))
    response = editor.post(
        reverse("admin:parcels_holding_add"), holding_data(a=(lot, "2019-01-01", ""))
    )
    assert response.status_code == 302, response.context and response.context["errors"]


def test_the_same_parcel_added_twice_in_one_holding_is_a_form_error_not_a_500(editor):
    lot = factories.parcel(apn="164-202-413")
    response = editor.post(
        reverse("admin:parcels_holding_add"),
        holding_data(a=(lot, "2019-01-01", ""), b=(lot, "2019-01-01", "")),
    )
    assert response.status_code == 200
    assert inline_errors(response)[1]["parcel"] == [
        "164-202-413 is listed twice for overlapping periods (from 2019-01-01 and from "
        "2019-01-01)."
    ]
    assert not HoldingParcel.objects.exists()


def test_the_holdings_list_counts_only_the_parcels_held_now(editor):
    lots = [factories.parcel(), factories.parcel()]
    held = factories.holding(parcels=lots)
    HoldingParcel.objects.filter(parcel=lots[0]).update(ended_on=dt.date(2020, 1, 1))

    response = editor.get(changelist_url(Holding))

    assert [(h.pk, h.parcel_total) for h in found(response)] == [(held.pk, 1)]


@pytest.mark.parametrize(("attributes", "kept"), [("null", {}), ('{"zone": "AE"}', {"zone": "AE"})])
def test_overlay_attributes_null_is_none_rather_than_a_500(editor, registry, attributes, kept):
    overlay = registry["overlay"]
    data = factories.admin_form_data(editor.get(change_url(overlay)))
    data["attributes"] = attributes
    assert editor.post(change_url(overlay), data).status_code == 302
    overlay.refresh_from_db()
    assert overlay.attributes == kept


def test_overlay_attributes_that_are_not_names_and_values_are_a_form_error(editor, registry):
    overlay = registry["overlay"]
    data = factories.admin_form_data(editor.get(change_url(overlay)))
    data["attributes"] = "[1, 2]"
    response = editor.post(change_url(overlay), data)
    assert response.status_code == 200
    assert "a JSON object" in response.context["adminform"].form.errors["attributes"][0]


@pytest.mark.parametrize(
    ("record", "field"),
    [("groundlease", "holding"), ("groundlease", "lessees"), ("groundlease", "parcels"),
     ("resale", "lease"), ("monitoringevent", "lease"), ("improvement", "holding")],
)  # fmt: skip
def test_an_id_that_is_no_id_in_a_lookup_field_is_a_form_error_not_a_500(client, registry, record,
                                                                          field):  # fmt: skip
    client.force_login(factories.user("root", is_staff=True, is_superuser=True))
    obj = registry[record]
    data = factories.admin_form_data(client.get(change_url(obj)))
    data[field] = "abc"
    response = client.post(change_url(obj), data)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors


@pytest.fixture
def root(client):
    client.force_login(factories.user("root", is_staff=True, is_superuser=True))
    return client


def membership_row(data: dict, parcel) -> str:
    """The inline prefix of `parcel`'s membership row in an admin POST body."""
    (key,) = [k for k, v in data.items() if k.startswith("holdingparcel_set-")
              and k.endswith("-parcel") and v == str(parcel.pk)]  # fmt: skip
    return key.removesuffix("-parcel")


def test_a_leased_parcel_cannot_be_deleted_from_its_holding(root, registry):
    holding, parcel = registry["holding"], registry["parcel"]
    data = factories.admin_form_data(root.get(change_url(holding)))
    row = membership_row(data, parcel)
    data[f"{row}-DELETE"] = "on"
    response = root.post(change_url(holding), data)
    assert response.status_code == 200, HoldingParcel.objects.filter(holding=holding).count()
    assert "is under lease" in response.content.decode()
    assert HoldingParcel.objects.filter(holding=holding, parcel=parcel).exists()


def test_a_leased_parcel_cannot_leave_its_holding_while_the_lease_runs(root, registry):
    holding, parcel = registry["holding"], registry["parcel"]
    data = factories.admin_form_data(root.get(change_url(holding)))
    data[f"{membership_row(data, parcel)}-ended_on"] = "2020-01-01"
    response = root.post(change_url(holding), data)
    assert response.status_code == 200
    assert "runs past 2020-01-01: end the lease first" in response.content.decode()
    assert HoldingParcel.objects.get(holding=holding, parcel=parcel).ended_on is None


def test_an_ended_holding_keeps_no_parcel_after_its_end(root):
    parcel = factories.parcel()
    holding = factories.holding(parcels=[parcel])  # no lease on it
    data = factories.admin_form_data(root.get(change_url(holding)))
    data["ended_on"] = "2020-01-01"
    response = root.post(change_url(holding), data)
    assert response.status_code == 200
    assert f"The holding ended on 2020-01-01: {parcel.apn} left it then" in (
        response.content.decode()
    )
    data[f"{membership_row(data, parcel)}-ended_on"] = "2020-01-01"
    assert root.post(change_url(holding), data).status_code == 302
    holding.refresh_from_db()
    assert holding.ended_on == dt.date(2020, 1, 1)


def test_a_parcel_joining_before_its_holding_was_acquired_is_refused_naming_both_dates(editor):
    lot = factories.parcel(apn="164-202-414")
    data = holding_data(a=(lot, "2026-11-24", ""))
    data["acquired_on"] = "2026-12-01"
    response = editor.post(reverse("admin:parcels_holding_add"), data)
    assert response.status_code == 200
    assert inline_errors(response)[0]["began_on"] == [
        "164-202-414 joins the holding on 2026-11-24, before it was acquired on 2026-12-01: the "
        "parcel can join the holding on or after 2026-12-01, the day it was acquired."
    ]
    assert not Holding.objects.filter(name="1102 Lynch St").exists()
    assert not HoldingParcel.objects.exists()


def test_a_parcel_may_join_on_the_day_its_holding_was_acquired(editor):
    data = holding_data(a=(factories.parcel(), "2026-12-01", ""))
    data["acquired_on"] = "2026-12-01"
    response = editor.post(reverse("admin:parcels_holding_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert HoldingParcel.objects.get().began_on == dt.date(2026, 12, 1)


def test_moving_the_acquisition_after_a_parcel_joined_is_refused_on_its_row(root):
    parcel = factories.parcel(apn="164-202-415")
    holding = factories.holding(parcels=[parcel], acquired_on=dt.date(2017, 3, 1))
    data = factories.admin_form_data(root.get(change_url(holding)))
    data["acquired_on"] = "2018-01-01"
    response = root.post(change_url(holding), data)
    assert response.status_code == 200
    assert inline_errors(response)[0]["began_on"] == [
        "164-202-415 joins the holding on 2017-03-01, before it was acquired on 2018-01-01: the "
        "parcel can join the holding on or after 2018-01-01, the day it was acquired."
    ]
    holding.refresh_from_db()
    assert holding.acquired_on == dt.date(2017, 3, 1)


def test_moving_the_acquisition_with_its_parcels_start_is_saved(root):
    parcel = factories.parcel()
    holding = factories.holding(parcels=[parcel], acquired_on=dt.date(2017, 3, 1))
    data = factories.admin_form_data(root.get(change_url(holding)))
    data["acquired_on"] = "2018-01-01"
    data[f"{membership_row(data, parcel)}-began_on"] = "2018-01-01"
    assert root.post(change_url(holding), data).status_code == 302
    assert HoldingParcel.objects.get(holding=holding).began_on == dt.date(2018, 1, 1)


def test_ending_a_holding_before_a_parcel_is_dated_to_leave_is_refused_on_its_row(root):
    parcel = factories.parcel(apn="164-202-416")
    holding = factories.holding(parcels=[parcel])
    HoldingParcel.objects.filter(holding=holding).update(ended_on=dt.date(2021, 6, 30))
    data = factories.admin_form_data(root.get(change_url(holding)))
    data["ended_on"] = "2020-01-01"
    response = root.post(change_url(holding), data)
    assert response.status_code == 200
    assert inline_errors(response)[0]["ended_on"] == [
        "The holding ended on 2020-01-01: 164-202-416 left it then or before, not on 2021-06-30."
    ]
    holding.refresh_from_db()
    assert holding.ended_on is None


def test_adding_an_ended_holding_with_a_parcel_still_in_it_is_refused(editor):
    lot = factories.parcel(apn="164-202-417")
    data = holding_data(a=(lot, "2019-01-01", ""))
    data["ended_on"] = "2020-01-01"
    response = editor.post(reverse("admin:parcels_holding_add"), data)
    assert response.status_code == 200
    assert inline_errors(response)[0]["ended_on"] == [
        "The holding ended on 2020-01-01: 164-202-417 left it then or before, so give it an end "
        "date."
    ]
    assert not Holding.objects.exists()


def test_an_acquisition_cannot_name_a_holding_without_its_parcel(root, registry):
    event = registry["acquisitionevent"]
    other = factories.holding(parcels=[factories.parcel()])
    data = factories.admin_form_data(root.get(change_url(event)))
    data["holding"] = str(other.pk)
    response = root.post(change_url(event), data)
    assert response.status_code == 200
    assert "does not hold parcel" in response.context["adminform"].form.errors["holding"][0]
    data["holding"] = str(registry["holding"].pk)
    assert root.post(change_url(event), data).status_code == 302
