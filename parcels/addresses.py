"""Street addresses as people type them and as county files write them.

Residents and staff write "1418 Rose Street."; a county file has "1418 ROSE ST". The map's
search (`maps.search`) and the finder's "near address" (`parcels.finder`) both read what was
typed through `address_words`, so the two find the same parcels.
"""

from __future__ import annotations

import re

from parcels.folding import fold

# How people write a street's kind, and how county files abbreviate it (USPS Publication 28).
STREET_WORDS = {
    "STREET": "ST", "AVENUE": "AVE", "ROAD": "RD", "DRIVE": "DR", "BOULEVARD": "BLVD",
    "LANE": "LN", "COURT": "CT", "PLACE": "PL", "CIRCLE": "CIR", "PARKWAY": "PKWY",
    "HIGHWAY": "HWY", "TERRACE": "TER",
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
}  # fmt: skip
# Callers also try the words as typed: a street named "North St" is spelt out in the file.
PUNCTUATION = re.compile(r"[.,;:#]+")


def address_words(text: str, *, abbreviated: bool = True) -> list[str]:
    """The words of an address, folded, without punctuation: "1418 Rose Street." → ["1418",
    "ROSE", "ST"], the street's kind and direction as county files abbreviate them (or as typed,
    `abbreviated=False`). What follows a first comma (", Jackson, MS 39203": the city and ZIP
    a county file does not repeat) is left out."""
    street = text.split(",", 1)[0]
    if not street.strip():  # ", Jackson" alone: nothing before the comma to read
        street = text
    words = PUNCTUATION.sub(" ", fold(street)).split()  # upper case as searches compare
    return [STREET_WORDS.get(word, word) if abbreviated else word for word in words]


def address_key(text: str) -> str:
    """`text` as addresses are compared: folded (`parcels.folding`, as the finder folds the
    column it compares with), what is not A-Z, a digit or a space dropped, spaces collapsed."""
    return " ".join(re.sub(r"[^0-9A-Z\s]", "", fold(text)).split())
