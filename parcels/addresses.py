"""Street addresses as people type them and as county files write them.

Residents and staff write "1418 Rose Street."; a county file has "1418 ROSE ST". The map's
search (`maps.search`) and the finder's "near address" (`parcels.finder`) both read what was
typed through `address_words`, so the two find the same parcels.

On a phone people rarely type commas: "1418 Rose St Jackson MS 39203", "1418 Rose St Apt 2",
"1419-bell". The city, state, ZIP and unit a county file does not repeat are dropped from the
end of what was typed, as long as a house number and a street's name are left: "1418 Jackson
St" and "1418 Jackson" keep their Jackson. A slip in a street's name ("Rsoe", "Roes") is
measured by `closeness`, for the map's search to offer the closest addresses.
"""

from __future__ import annotations

import re
from functools import cache

from django.conf import settings

from parcels.folding import fold

# How people write a street's kind, and how county files abbreviate it (USPS Publication 28).
STREET_WORDS = {
    "STREET": "ST", "AVENUE": "AVE", "ROAD": "RD", "DRIVE": "DR", "BOULEVARD": "BLVD",
    "LANE": "LN", "COURT": "CT", "PLACE": "PL", "CIRCLE": "CIR", "PARKWAY": "PKWY",
    "HIGHWAY": "HWY", "TERRACE": "TER",
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
}  # fmt: skip
# Callers also try the words as typed: a street named "North St" is spelt out in the file.
PUNCTUATION = re.compile(r"[.,;:]+")
DIRECTIONS = frozenset({"NORTH", "SOUTH", "EAST", "WEST", "N", "S", "E", "W"})
# A street's kind, spelt out or abbreviated: what a search may leave out ("1418 Rose").
STREET_KINDS = frozenset(STREET_WORDS.keys() | STREET_WORDS.values()) - DIRECTIONS
# Secondary unit designators (USPS Publication 28, appendix C2), and "#" ("#4", "Apt #2").
UNIT_WORDS = frozenset({
    "APT", "APARTMENT", "UNIT", "STE", "SUITE", "#", "BLDG", "BUILDING", "RM", "ROOM", "FL",
    "FLOOR", "LOT", "SPC", "SPACE", "TRLR",
})  # fmt: skip
UNIT = re.compile(r"[0-9]+[A-Z]?|[A-Z]|[A-Z]?[0-9]+|#")  # what follows one: "2", "2B", "B", "#"
ZIP = re.compile(r"[0-9]{5}(-?[0-9]{4})?")  # 39203, 39203-1234
HOUSE_NUMBER = re.compile(r"([0-9]+)(-?[A-Z])?")  # 1418, 1716-A, 1716A; not "3RD"
NOT_NAMES = STREET_KINDS | DIRECTIONS | UNIT_WORDS
# A hyphen between a house number and a street's name, as some type them ("1419-bell"): a
# space. Not between digits (an APN: "164-101-001") nor before a letter of its own ("1716-A").
NUMBER_HYPHEN = re.compile(r"(?<=[0-9])-(?=[^\W\d_]{2,}(\W|$))")


def address_words(text: str, *, abbreviated: bool = True) -> list[str]:
    """The words of an address, folded, without punctuation: "1418 Rose Street." → ["1418",
    "ROSE", "ST"], the street's kind and direction as county files abbreviate them (or as typed,
    `abbreviated=False`). What follows a first comma (", Jackson, MS 39203": the city and ZIP
    a county file does not repeat) is left out, and so are a city, state, ZIP or unit typed
    without one ("1418 Rose St Apt 2 Jackson MS 39203": `street_words`)."""
    street = text.split(",", 1)[0]
    if not street.strip():  # ", Jackson" alone: nothing before the comma to read
        street = text
    folded = NUMBER_HYPHEN.sub(" ", fold(street))  # upper case as searches compare
    words = street_words(PUNCTUATION.sub(" ", folded.replace("#", " # ")).split())
    return [STREET_WORDS.get(word, word) if abbreviated else word for word in words]


def street_words(words: list[str]) -> list[str]:
    """`words` (folded) without the place and unit typed after the street: a ZIP, the trust's
    city or state (`settings.CLT_ADDRESS_PLACES`), "Apt 2", "#4", taken off the end one by one
    while a house number and a street's name are left (`is_street_address`). A street named
    after the city keeps its name: "1418 Jackson St" ends with its kind, and in "1418 Jackson"
    the city's name is the only street name."""
    while (shorter := _without_last_place(words)) is not None and is_street_address(shorter):
        words = shorter
    return [word for word in words if word != "#"]


def is_street_address(words: list[str]) -> bool:
    """Whether `words` have a house number and a street's name (a word that is neither a number,
    nor a street's kind or direction, nor a unit: "ROSE" in "1418 ROSE ST")."""
    return house_number(words) is not None and bool(street_names(words))


def street_names(words: list[str]) -> list[str]:
    """The words of `words` that name the street: with a letter, and not a house number, a
    street's kind or direction or a unit ("1418 W 3RD ST APT" → ["3RD"])."""
    return [
        word
        for word in words
        if any(c.isalpha() for c in word)
        and not HOUSE_NUMBER.fullmatch(word)
        and word not in NOT_NAMES
    ]


def house_number(words: list[str]) -> str | None:
    """The digits of the first house number among `words` ("1716" of "1716-A"), or None."""
    for word in words:
        if number := HOUSE_NUMBER.fullmatch(word):
            return number.group(1)
    return None


def kind_corrected(words: list[str]) -> list[str]:
    """`words` with a slip in the street's kind they end with corrected, as county files
    abbreviate it: "1418 ROSE STRET" is "1418 ROSE ST", "1418 ROSE AVNUE" "1418 ROSE AVE".
    Only the last word, where a kind is written ("LAKE" is not "LANE" in "1418 LAKE ST"), of
    four letters or more, and only when a street's name is left."""
    last = words[-1] if words else ""
    if len(last) < 4 or last in STREET_KINDS or not last.isalpha():
        return words
    slipped = {short: slips_between(last, spelt) for spelt, short in STREET_WORDS.items()
               if spelt in STREET_KINDS}  # fmt: skip
    kind = min(slipped, key=slipped.__getitem__)
    corrected = [*words[:-1], kind]
    return corrected if slipped[kind] <= slips(last) and street_names(corrected) else words


def closeness(typed: list[str], held: list[str]) -> tuple[int, int, int] | None:
    """How close an address `held` is to one `typed` (both as `address_words`), smaller
    closer: (street names typed with none held within their `slips`, the slips in the others,
    other words typed that it does not hold: a kind, a direction); None when no name typed is
    within its slips of one held. "1418 RSOE ST" is (0, 1, 0) from "1418 ROSE ST", (0, 1, 1)
    from "1418 W ROSE AVE"."""
    names, held_names = street_names(typed), street_names(held)
    within = []
    for word in names:
        # Not compared with a name longer or shorter by more than the slips forgiven
        near = [name for name in held_names if abs(len(name) - len(word)) <= slips(word)]
        fewest = min((slips_between(word, name) for name in near), default=None)
        if fewest is not None and fewest <= slips(word):
            within.append(fewest)
    if not within:
        return None
    others = [word for word in typed if word not in names and not HOUSE_NUMBER.fullmatch(word)]
    return len(names) - len(within), sum(within), sum(word not in held for word in others)


def slips(word: str) -> int:
    """Typing slips forgiven in `word`: one in a word of up to five letters, two up to eight."""
    return max(1, len(word) // 3)


def slips_between(a: str, b: str) -> int:
    """The optimal string alignment distance of `a` and `b`: letters added, dropped, changed or
    two next to each other swapped ("RSOE"/"ROSE" 1, "ROES"/"ROSE" 1, "ROSS"/"ROSE" 1)."""
    previous, current = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        before, previous, current = previous, current, [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
    return current[len(b)]


def _without_last_place(words: list[str]) -> list[str] | None:
    """`words` without the ZIP, place name or unit they end with, or None if they end with
    none."""
    if len(words) > 1 and ZIP.fullmatch(words[-1]):
        return words[:-1]
    for place in _places():
        if len(words) > len(place) and tuple(words[-len(place) :]) == place:
            return words[: -len(place)]
    # A unit designator followed by up to two words of a unit: "APT 2", "# 4", "APT # 2B".
    for at in range(max(len(words) - 3, 1), len(words)):
        if words[at] in UNIT_WORDS and all(UNIT.fullmatch(w) for w in words[at + 1 :]):
            return words[:at]
    return None


def _places() -> tuple[tuple[str, ...], ...]:
    """The trust's place names as folded words, longest first: ("JACKSON",), ("MS",)..."""
    return _places_of(tuple(settings.CLT_ADDRESS_PLACES))


@cache
def _places_of(names: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    places = (tuple(PUNCTUATION.sub(" ", fold(name)).split()) for name in names)
    return tuple(sorted((place for place in places if place), key=len, reverse=True))


def address_key(text: str) -> str:
    """`text` as addresses are compared: folded (`parcels.folding`, as the finder folds the
    column it compares with), what is not A-Z, a digit or a space dropped, spaces collapsed."""
    return " ".join(re.sub(r"[^0-9A-Z\s]", "", fold(text)).split())
