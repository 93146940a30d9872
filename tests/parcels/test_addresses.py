"""An address's words as the searches read them (parcels.addresses): the city, state, ZIP and
unit a resident types after a street without a comma are left out, while a house number and a
street's name are left; a hyphen after a house number is a space."""

from __future__ import annotations

import pytest

from parcels.addresses import address_words, closeness, kind_corrected, slips_between


@pytest.mark.parametrize("typed", ["1418 Rose St Jackson MS", "1418 Rose St Jackson",
                                   "1418 Rose St 39203", "1418 Rose St Mississippi 39203-1234",
                                   "1418 rose street jackson ms 39203", "1418 Rose St 392031234",
                                   "1418 Rose St, Jackson MS 39203"])  # fmt: skip
def test_the_trusts_city_state_and_zip_are_left_out(typed):
    assert address_words(typed) == ["1418", "ROSE", "ST"]


@pytest.mark.parametrize("typed", ["1418 Rose St Apt 2", "1418 Rose St #4", "1418 Rose St # 4",
                                   "1418 Rose St Unit B", "1418 Rose St Ste 5",
                                   "1418 Rose St Apt #2B Jackson MS 39203"])  # fmt: skip
def test_a_unit_after_the_street_is_left_out(typed):
    assert address_words(typed) == ["1418", "ROSE", "ST"]


@pytest.mark.parametrize(("typed", "words"), [
    ("1418 Jackson St", ["1418", "JACKSON", "ST"]),  # the city's name, then the street's kind
    ("1418 Jackson", ["1418", "JACKSON"]),  # the only street name there is
    ("1418 W Jackson", ["1418", "W", "JACKSON"]),  # a direction names no street
    ("1418 St Jackson", ["1418", "ST", "JACKSON"]),  # nor a street's kind
    ("Rose St 39203", ["ROSE", "ST", "39203"]),  # no house number left without it
    ("Main St 10401", ["MAIN", "ST", "10401"]),  # a house number written last
    ("39203", ["39203"]),
    ("Jackson MS", ["JACKSON", "MS"]),
    ("1418 Unit St", ["1418", "UNIT", "ST"]),  # "St" is not a unit's number
])  # fmt: skip
def test_what_would_leave_no_street_address_is_kept(typed, words):
    assert address_words(typed) == words


@pytest.mark.parametrize(("typed", "words"), [
    ("1419-bell", ["1419", "BELL"]),
    ("1419-Bell St.", ["1419", "BELL", "ST"]),
    ("1716-A Lynch St", ["1716-A", "LYNCH", "ST"]),  # a letter of its own: part of the number
    ("12-b", ["12-B"]),
    ("164-101-001", ["164-101-001"]),  # an APN
])  # fmt: skip
def test_a_hyphen_between_a_house_number_and_a_street_name_is_a_space(typed, words):
    assert address_words(typed) == words


def test_the_places_left_out_are_the_trusts_own(settings):
    settings.CLT_ADDRESS_PLACES = ["Bay St. Louis", "MS"]
    assert address_words("100 Main St Bay St Louis MS") == ["100", "MAIN", "ST"]
    assert address_words("100 Main St Jackson") == ["100", "MAIN", "ST", "JACKSON"]


def test_slips_are_counted_with_a_swap_as_one():
    assert slips_between("RSOE", "ROSE") == 1
    assert slips_between("ROES", "ROSE") == 1
    assert slips_between("ROSE", "ROSE") == 0
    assert slips_between("BELL", "ROSE") == 4
    assert slips_between("LINCH", "LYNCH") == 1
    assert slips_between("JAXON", "JACKSON") == 3


def test_the_closest_address_has_the_fewest_names_unmatched_then_slips_then_other_words():
    rose = ["1418", "ROSE", "ST"]
    assert closeness(["1418", "RSOE", "ST"], rose) == (0, 1, 0)
    assert closeness(["1418", "RSOE", "ST"], ["1418", "W", "ROSE", "AVE"]) == (0, 1, 1)
    assert closeness(["1418", "RSOE", "STRET"], rose) == (1, 1, 0)  # STRET names no street
    assert closeness(["1418", "RSOE", "ST"], ["1418", "BELL", "ST"]) is None
    assert closeness(["1418", "ROSE"], ["1418"]) is None


def test_a_slip_in_the_street_kind_at_the_end_is_corrected():
    assert kind_corrected(["1418", "ROSE", "STRET"]) == ["1418", "ROSE", "ST"]
    assert kind_corrected(["1418", "ROSE", "AVNUE"]) == ["1418", "ROSE", "AVE"]
    assert kind_corrected(["1418", "LAKE", "ST"]) == ["1418", "LAKE", "ST"]  # not LANE
    assert kind_corrected(["1418", "PEACE"]) == ["1418", "PEACE"]  # the only name: not PLACE
    assert kind_corrected(["1418", "ROSE", "ZZZZZ"]) == ["1418", "ROSE", "ZZZZZ"]
