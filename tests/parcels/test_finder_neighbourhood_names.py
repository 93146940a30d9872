"""A neighbourhood is picked by its name as staff type it, as their other searches read names:
with or without apostrophes and accents, in any case, whatever the spacing and the dash
("O'Neal Park" finds an imported "O’Neal Park", "Bethel" finds "Béthel", "Belhaven" finds a
"Belhaven  " padded by an exported attribute table, "Belhaven-Fondren" a "Belhaven – Fondren").
A name that matches none lists the names loaded, and the finder page offers them.

test_finder's neighbourhood: V1 and V2 share an edge near the trust's farm; V6, V7 and V8 are a
row of three far east.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from clt.cli import main
from parcels import finder
from parcels.models import Overlay
from parcels.queries import overlay_name_key, overlay_name_key_sql
from tests.parcels import test_finder
from tests.parcels.test_finder import lot, search

pytestmark = pytest.mark.django_db

land = test_finder.land
V1, V7 = lot(1), lot(1, east=0.01)


def neighbourhood(name: str, geom=V1) -> Overlay:
    return Overlay.objects.create(kind="neighbourhood", name=name, geom=geom)


def refusal(**params: str) -> str:
    with pytest.raises(finder.FinderError) as caught:
        finder.vacant_lots_geojson(params)
    assert caught.value.field == "neighbourhood"
    return caught.value.detail


@pytest.mark.parametrize(
    ("imported", "typed"),
    [
        ("O’Neal Park", "O'Neal Park"),  # a curly apostrophe in the file, a straight one typed
        ("O'Neal Park", "O’Neal Park"),
        ("O’Neal Park", "oneal park"),
        ("Béthel", "Bethel"),
        ("Bethel", "BÉTHEL"),
        ("Be\u0301thel", "Béthel"),  # the file's accent a combining mark, the typed one not
        ("Belhaven  ", "Belhaven"),  # padded by an exported attribute table
        (" West  Jackson", "west jackson"),
        ("West\u00a0Jackson", "West  Jackson "),  # a no-break space
        ("West\tJackson", "West Jackson"),
        ("Belhaven–Fondren", "Belhaven-Fondren"),  # an en dash from a word processor
        ("Belhaven - Fondren", "belhaven-fondren"),
        ("Belhaven-Fondren", "Belhaven — Fondren"),
    ],
)
def test_a_neighbourhood_is_found_by_its_name_as_typed(land, imported, typed):
    neighbourhood(imported)

    assert search(neighbourhood=typed) == ["V1"]


def test_a_neighbourhood_in_two_pieces_holds_the_lots_of_both(land):
    """Two rows of one name (a neighbourhood in two pieces, written two ways): either counts."""
    neighbourhood("O’Neal Park")
    neighbourhood("O'Neal Park ", geom=V7)

    assert sorted(search(neighbourhood="O'Neal Park")) == ["V1", "V7"]


def test_the_api_finds_a_neighbourhood_by_its_name_as_typed(land, admin_client):
    neighbourhood("Béthel")

    response = admin_client.get("/api/vacant-lots", {"neighbourhood": "bethel"})

    assert response.status_code == 200, response.content[:300]
    assert [f["properties"]["apn"] for f in response.json()["features"]] == ["V1"]


def test_an_unknown_name_lists_the_neighbourhoods_loaded_to_pick_from(land):
    for name in ("West Jackson", "O’Neal Park", "Belhaven  ", "O'Neal Park"):
        neighbourhood(name)
    Overlay.objects.create(kind="flood-zone", name="AE", geom=V7)  # not a neighbourhood

    assert refusal(neighbourhood="Atlantis") == (
        "no neighbourhood overlay named 'Atlantis'; pick one of the 3 loaded: Belhaven, "
        "O'Neal Park, West Jackson"
    )


def test_a_misspelt_name_says_which_was_likely_meant(land):
    for name in ("West Jackson", "Belhaven"):
        neighbourhood(name)

    assert refusal(neighbourhood="Belhavn") == (
        "no neighbourhood overlay named 'Belhavn' (did you mean 'Belhaven'?); pick one of the "
        "2 loaded: Belhaven, West Jackson"
    )


def test_past_twenty_names_the_rest_are_counted(land):
    Overlay.objects.bulk_create(
        Overlay(kind="neighbourhood", name=f"Ward {n:02}", geom=V7) for n in range(1, 26)
    )

    detail = refusal(neighbourhood="Atlantis")

    assert detail.endswith("pick one of the 25 loaded: Ward 01, Ward 02, Ward 03, Ward 04, "
                           "Ward 05, Ward 06, Ward 07, Ward 08, Ward 09, Ward 10, Ward 11, "
                           "Ward 12, Ward 13, Ward 14, Ward 15, Ward 16, Ward 17, Ward 18, "
                           "Ward 19, Ward 20 and 5 more")  # fmt: skip


def test_with_no_neighbourhood_loaded_the_error_says_how_to_import_them(land):
    Overlay.objects.create(kind="flood-zone", name="AE", geom=V7)

    assert refusal(neighbourhood="Atlantis") == (
        "no neighbourhood overlay with a name is loaded, so none is named 'Atlantis' "
        "(import them: clt import-layer FILE --kind neighbourhood)"
    )


def test_the_command_lists_the_neighbourhoods_loaded(land):
    neighbourhood("O’Neal Park")

    result = CliRunner().invoke(main, ["vacant-lots", "--neighbourhood", "Atlantis"])

    assert result.exit_code == 1
    assert result.output == (
        "Error: neighbourhood: no neighbourhood overlay named 'Atlantis'; pick one of the 1 "
        "loaded: O’Neal Park\n"
    )


def test_a_name_of_only_an_apostrophe_finds_no_unnamed_neighbourhood(land):
    """It folds to nothing, as an unnamed overlay's name does: no match, not every unnamed."""
    neighbourhood("")

    assert refusal(neighbourhood="'").startswith("no neighbourhood overlay with a name")


def test_the_finder_page_offers_the_neighbourhoods_loaded(land, admin_client):
    for name in ("West Jackson", "O’Neal Park", 'Tom & "Jerry" <Park>', "O'Neal  Park"):
        neighbourhood(name)

    page = admin_client.get("/finder/").content.decode()

    assert '<input name="neighbourhood" list="neighbourhoods">' in page
    assert (
        '<datalist id="neighbourhoods"><option value="O&#x27;Neal Park">'
        '<option value="Tom &amp; &quot;Jerry&quot; &lt;Park&gt;">'
        '<option value="West Jackson"></datalist>'
    ) in page


@pytest.mark.parametrize(
    "name",
    ["  O’Neal\u00a0\tPark ", "Be\u0301thel", "ʼ", "", "Peña  Park", "D\u2018Angelo\u2028Row",
     "Belhaven \u2013 Fondren", "\u2212 North\uff0d", "Belhaven-\u00a0Fondren"],
)
def test_the_database_keys_a_name_as_python_does(name):
    """`in_overlay` compares the database's key of each overlay's name with Python's of the
    name typed: the two must agree."""
    overlay = Overlay.objects.create(kind="neighbourhood", name=name, geom=V1)

    keyed = Overlay.objects.annotate(key=overlay_name_key_sql()).get(pk=overlay.pk).key

    assert keyed == overlay_name_key(name)
