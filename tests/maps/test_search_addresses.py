"""The map's search finds an address as a resident on a phone types it: with the city, state,
ZIP or unit after it and no comma, a hyphen after the house number, or a slip in the street's
name. What matches no parcel word for word is answered with the closest addresses at its house
number, each marked `closest` so the map can say "no exact match"."""

from __future__ import annotations

import pytest
from django.db import connection

from maps import search
from parcels.models import Parcel
from tests.maps import factories_map

pytestmark = pytest.mark.django_db

ADDRESSES = ("1418 Rose St", "1419 Bell St", "1418 Bell St", "1418 Jackson St", "1420 Rose St",
             "1716-A Lynch St", "1716 Lynch St", "1418 W Rose Ave", "14180 Rose St",
             "61418 Rose St", "226 E Edwards St")  # fmt: skip


@pytest.fixture
def street():
    """The block, with some of its lots at addresses of the demo's streets."""
    block = factories_map.block()
    for lot, address in zip(block.occupied, ADDRESSES, strict=False):
        Parcel.objects.filter(pk=lot.pk).update(address=address)


def answer(client, q: str) -> list[tuple[str, bool]]:
    """(address, closest) of each parcel the public search finds for `q`."""
    response = client.get("/map/search.json", {"q": q})
    assert response.status_code == 200, response.content[:300]
    return [(r["properties"]["address"], r["closest"]) for r in response.json()["results"]]


def test_a_house_number_is_not_found_inside_a_longer_one(client, street):
    # At 1M parcels "438 W Pearl St" also listed 6438 W Pearl St, and the resident's own home
    # did not open.
    assert answer(client, "1418 Rose St") == [("1418 Rose St", False)]
    assert answer(client, "418 Rose St") == []  # neither 1418 nor 61418


def test_a_word_is_not_found_inside_another(client, street):
    assert answer(client, "Ward 22") == []  # not 226 E Edwards St
    assert answer(client, "Edwards") == [("226 E Edwards St", False)]


def test_a_city_state_or_zip_typed_without_a_comma_is_left_out(client, street):
    for typed in ("1418 Rose St Jackson MS", "1418 Rose St Jackson", "1418 Rose St 39203",
                  "1418 rose street jackson ms 39203", "1418 Rose St Mississippi 39203-1234",
                  "1418 Rose St, Jackson MS 39203"):  # fmt: skip
        assert answer(client, typed) == [("1418 Rose St", False)], typed


def test_a_unit_typed_after_the_street_is_left_out(client, street):
    for typed in ("1418 Rose St Apt 2", "1418 Rose St #4", "1418 Rose St Ste 5",
                  "1418 Rose St Unit 3", "1418 Rose St Apt #2B Jackson MS"):  # fmt: skip
        assert answer(client, typed) == [("1418 Rose St", False)], typed


def test_a_street_named_after_the_city_keeps_its_name(client, street):
    for typed in ("1418 Jackson St", "1418 Jackson", "1418 jackson street"):
        assert answer(client, typed) == [("1418 Jackson St", False)], typed


def test_a_hyphen_between_the_house_number_and_the_street_is_a_space(client, street):
    assert answer(client, "1419-bell") == [("1419 Bell St", False)]
    assert answer(client, "1419-Bell St.") == [("1419 Bell St", False)]


def test_an_apn_and_a_house_number_with_a_letter_keep_their_hyphens(client, street):
    assert answer(client, "1716-A Lynch St") == [("1716-A Lynch St", False)]
    assert answer(client, "170-001-011") == [("1202 Trust Way", False)]


def test_a_slip_in_the_street_finds_the_closest_address_at_its_number(client, street):
    for typed in ("1418 Rose Stret", "1418 rsoe st", "1418 Roes St", "Roes St 1418",
                  "1418 Rsoe Street Jackson MS"):  # fmt: skip
        assert answer(client, typed) == [("1418 Rose St", True)], typed


def test_an_extra_word_is_left_out_for_the_closest_match(client, street):
    assert answer(client, "1418 Bell St Jaxon") == [("1418 Bell St", True)]
    assert answer(client, "1418 Rose St Jaxon") == [("1418 Rose St", True)]  # not Rose Ave


def test_the_closest_streets_are_all_offered_when_none_is_closer(client, street):
    assert answer(client, "1418 Roes") == [("1418 Rose St", True), ("1418 W Rose Ave", True)]
    assert answer(client, "1418 W Roes Ave") == [("1418 W Rose Ave", True)]


def test_nothing_close_at_the_number_is_still_nothing(client, street):
    """No number, no street name near one at it, or no parcel at the number: no guess."""
    for typed in ("1418 Zzzz St", "Rsoe St", "1421 Rose St", "Nowhere Lane", "1700010111",
                  "1 Gone St"):  # fmt: skip
        assert answer(client, typed) == [], typed


def test_an_exact_match_is_not_marked_closest(client, street):
    assert answer(client, "1418 Rose") == [("1418 Rose St", False)]


def test_the_addresses_at_a_house_number_are_found_by_the_trigram_index(street):
    """How the closest match finds the addresses at "1418": its trigrams (" 14", "141", "418",
    "18 ") are rare in a city, where the street's name, mistyped, has none to look up."""
    with connection.cursor() as cursor:
        # On a near-empty table a scan is cheapest, then a walk of a B-tree: forbid both.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        shown = search.at_house_number(Parcel.objects.all(), "1418").order_by().explain()
    assert "parcel_address_trgm" in shown, shown
    assert sorted(search.at_house_number(Parcel.objects.all(), "1418").values_list(
        "address", flat=True)) == ["1418 Bell St", "1418 Jackson St", "1418 Rose St",
                                   "1418 W Rose Ave"]  # fmt: skip
