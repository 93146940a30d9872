"""Street addresses as people type them and as county files write them.

Residents and staff write "1418 Rose Street."; a county file has "1418 ROSE ST". The map's
search (`maps.search`) and the finder's "near address" (`parcels.finder`) both read what was
typed through `address_words`, so the two find the same parcels.
"""

from __future__ import annotations

import re

# How people write a street's kind, and how county files abbreviate it (USPS Publication 28).
STREET_WORDS = {
    "STREET": "ST", "AVENUE": "AVE", "ROAD": "RD", "DRIVE": "DR", "BOULEVARD": "BLVD",
    "LANE": "LN", "COURT": "CT", "PLACE": "PL", "CIRCLE": "CIR", "PARKWAY": "PKWY",
    "HIGHWAY": "HWY", "TERRACE": "TER",
}  # fmt: skip
PUNCTUATION = re.compile(r"[.,;:#]+")


def address_words(text: str, *, abbreviated: bool = True) -> list[str]:
    """The words of an address, without punctuation: "1418 Rose Street." → ["1418", "ROSE",
    "ST"], the street's kind as county files abbreviate it (or as typed, `abbreviated=False`)."""
    words = PUNCTUATION.sub(" ", text).upper().split()
    return [STREET_WORDS.get(word, word) if abbreviated else word for word in words]
