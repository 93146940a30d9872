"""Searches fold case, accents and apostrophes on both sides (parcels.folding): "Oneal" finds
"O'NEAL", "O’Neal" finds "ONEAL", "Peña" finds "PENA", and the folded search still uses the
trigram indexes."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from parcels.folding import FOLD_SQL, fold, folded
from parcels.models import Parcel
from tests import factories

pytestmark = pytest.mark.django_db

TYPED = [
    "O'Neal", "O’Neal", "o‘neal", "Oʼneal", "ONEAL", "oneal", "Peña", "Straße", "100%_x",
    "Pen\u0303a", "Zoë Brontë", "Łódź", "İstanbul", "ǆ", "ﬁ ½ ①", "Ørsted", "日本", "한글",
    "😀 ✓", "\u0378\uffff\U0010ffff",  # unassigned and non-characters: folded, never an error
]  # fmt: skip


@pytest.mark.parametrize("text", TYPED)
def test_python_folds_typed_text_as_postgresql_folds_a_column(text):
    with connection.cursor() as cursor:
        sql, params = folded("%s::text", [text])
        cursor.execute(f"SELECT {sql}", params)
        assert fold(text) == cursor.fetchone()[0]


def test_names_with_and_without_apostrophes_fold_alike():
    assert {fold(text) for text in TYPED[:6]} == {"ONEAL"}


def test_names_with_and_without_accents_fold_alike():
    # "ñ" written as one character, or as "n" and a combining tilde (as some phones send it)
    assert {fold(text) for text in ("Peña", "PEÑA", "Pen\u0303a", "PENA", "pena")} == {"PENA"}
    assert fold("Zoë Muñoz-Brontë") == "ZOE MUNOZ-BRONTE"
    assert fold("Łódź") == "ŁODZ"  # Ł is a letter of its own; ó and ź lose their accents


@pytest.mark.parametrize(("stored", "typed"), [("PENA MARIA", "Peña"), ("Peña María", "PENA M"),
                                               ("1400 MUNOZ ST", "Muñoz St")])  # fmt: skip
def test_an_owner_or_address_is_found_with_or_without_its_accents(stored, typed):
    wanted = factories.parcel(owner_of_record=stored, address=stored)
    factories.parcel(owner_of_record="PENN MARIA", address="1400 MUNZ ST")
    assert list(Parcel.objects.filter(owner_of_record__folded_contains=typed)) == [wanted]
    assert list(Parcel.objects.filter(address__folded_contains=typed)) == [wanted]
    word = typed.split()[0][:2]  # "Pe", "PE", "Mu": where a word starts
    assert wanted in Parcel.objects.filter(address__folded_starts_word=word)


@pytest.mark.parametrize(("stored", "typed"), [
    ("1722 O'NEAL ST", "Oneal"),
    ("1722 ONEAL ST", "O'Neal St"),
    ("1722 O’Neal St", "o'neal"),
    ("1722 O'Neal St", "1722 O’NEAL"),
])  # fmt: skip
def test_an_address_is_found_with_or_without_its_apostrophe(stored, typed):
    wanted = factories.parcel(address=stored)
    factories.parcel(address="1716 Neal Ave")
    assert list(Parcel.objects.filter(address__folded_contains=typed)) == [wanted]


@pytest.mark.parametrize("typed", ["on", "O’N", "o'neal c", "4", "c"])
def test_a_word_of_an_address_is_found_by_how_it_starts(typed):
    wanted = factories.parcel(address="4 O'Neal Court-C")
    factories.parcel(address="1722 XONEAL XCT")  # ONEAL and CT, but inside other words
    assert list(Parcel.objects.filter(address__folded_starts_word=typed)) == [wanted]


@pytest.mark.parametrize(("typed", "found"), [
    ("rus", {"Trust", "Rust", "T Rust", "O'Rust"}),  # a word of three letters: anywhere
    ("ru", {"Rust", "T Rust"}),  # shorter: where a word starts
    ("t r", {"T Rust"}),
    ("o'r", {"O'Rust"}),  # "OR" once folded: the start of "ORUST"
])  # fmt: skip
def test_a_search_finds_words_of_three_letters_anywhere_and_shorter_ones_where_words_start(
    typed, found
):
    for address in ("Trust", "Rust", "T Rust", "O'Rust"):
        factories.parcel(address=address)
    assert {p.address for p in Parcel.objects.filter(address__folded_search=typed)} == found


def test_like_wildcards_in_typed_text_are_plain_characters():
    factories.parcel(address="100 Main St")
    assert not Parcel.objects.filter(address__folded_contains="%").exists()
    assert not Parcel.objects.filter(address__folded_contains="1_0").exists()
    for typed in ("1.0", "1_0", "%", "(", "\\", "[1]", "1*", "1|M"):  # nor regex ones
        assert not Parcel.objects.filter(address__folded_starts_word=typed).exists(), typed


def test_the_trigram_indexes_are_built_on_the_folded_expression():
    migration = importlib.import_module("parcels.migrations.0011_accent_folded_search_indexes")
    assert migration.FOLD_SQL == FOLD_SQL  # change both, with a new migration
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
            "('parcel_address_trgm', 'parcel_owner_trgm')"
        )
        definitions = dict(cursor.fetchall())
    assert set(definitions) == {"parcel_address_trgm", "parcel_owner_trgm"}
    assert all("NFKD" in d and "gin_trgm_ops" in d for d in definitions.values())
