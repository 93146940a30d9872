"""Find parcels on the map by APN or address, over the layers' whitelisted fields only.

Each layer is searched through its own `select_sql()`, so a result carries exactly the fields
that layer shows on the map (and a point to open the popup at), never a column of the model. A
layer whose features are made of parcels (the staff's leases) is searched through them: a
result is the parcel found, by its APN and address (public fields of every parcel layer), with
the fields of the feature it is part of (its lease), at a point of that parcel.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import connection
from django.db.models import CharField, F, Func, Q

from clt import planner
from maps.layers import NAMED_PLACE_USES, Layer
from maps.tiles import typed_column, unordered
from parcels.addresses import (
    HOUSE_NUMBER,
    STREET_KINDS,
    address_words,
    closeness,
    house_number,
    kind_corrected,
    street_names,
)
from parcels.folding import Folded, word_runs
from parcels.models import Jurisdiction, Parcel
from parcels.queries import held_memberships

MAX_QUERY_CHARS = 100
APN_LIKE = re.compile(r"[0-9][0-9A-Za-z.-]*")
MIN_QUERY_CHARS = 2  # letters or digits: what is left of "X'" or "%%" is not a search
APN_SEPARATORS = re.compile(r"[^0-9A-Za-z]+")

# Which layer a parcel is reported from when several have it: the most specific first. The
# staff's lease layer comes before the public ones, so staff find a leased home with its lease;
# the public map never has it, so residents get the public layers as before.
SEARCH_ORDER = ("leases", "available", "trust-land", "vacant-lots", "parcels")


class SearchError(ValueError):
    """A search the endpoint cannot run; the message says what to type instead."""


class ApnKey(Func):
    """An APN without its separators, upper-cased: what a tax bill's "164-113-008" and the
    "164113008" or "164 113 008" typed from it have in common. Exactly the expression of the
    `parcel_apn_key` index (migration parcels/0013), so a search by it is an index lookup."""

    template = "upper(regexp_replace(%(expressions)s, '[^0-9A-Za-z]+', '', 'g'))"
    output_field = CharField()


def apn_key(text: str) -> str:
    """`text` as `ApnKey` writes an APN: "164 113-008" is "164113008"."""
    return APN_SEPARATORS.sub("", text).upper()


def apn_key_sought(text: str) -> str | None:
    """The APN key to look `text` up by, or None for text with no digit, which no APN is."""
    key = apn_key(text)
    return key if any(c.isdigit() for c in key) else None


def parse_query(text: str | None) -> str:
    """The search text, trimmed: up to 100 characters, of which 2 are letters or digits."""
    query = " ".join((text or "").split())
    if sum(map(len, word_runs(query))) < MIN_QUERY_CHARS:
        raise SearchError(
            f"q: type at least {MIN_QUERY_CHARS} letters or digits of an address or APN"
        )
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(f"q: at most {MAX_QUERY_CHARS} characters")
    return query


def searchable(layers: list[Layer]) -> list[Layer]:
    """Parcel layers (with an APN and an address) and layers made of parcels, most specific
    first."""
    rank = {name: i for i, name in enumerate(SEARCH_ORDER)}
    found = [
        layer
        for layer in layers
        if layer.delivery == "tiles"
        and (layer.parts is not None or {"apn", "address"} <= set(layer.field_names))
    ]
    return sorted(found, key=lambda layer: rank.get(layer.name, len(rank)))


def find_page(query: str, layers: list[Layer], *, limit: int = 10) -> tuple[list, bool]:
    """Up to `limit` results in address order, and whether there were more to show."""
    results = find(query, layers, limit=limit + 1)
    shown = sorted(results[:limit], key=lambda r: _address_order(r["properties"]))
    return shown, len(results) > limit


def _address_order(properties: dict) -> tuple:
    return address_order(properties.get("address") or "", properties.get("apn") or "")


def address_order(address: str, apn: str) -> tuple:
    """Street first, then the house number as a number: 98 before 1418 on Rose St (as text,
    "1004 W Mill Pl" came before "102 W Magnolia Ave")."""
    address = address.upper()
    number, _, street = address.partition(" ")
    if number.isdigit():
        return (street, int(number), apn)
    return (address, 0, apn)


def find(query: str, layers: list[Layer], *, limit: int = 10, exact_apn: bool = False) -> list:
    """Parcels whose APN starts with `query`, or whose address has it where a word starts
    (case-insensitive, folded: "12 Rose" is not "112 ROSE ST").

    When no parcel has every word of an address typed, the parcels at its house number whose
    street is closest to what was typed (`closest_ids`: "1418 Rsoe St" finds 1418 Rose St),
    each result marked `"closest": true` so the map can say there was no exact match.

    With `exact_apn`, only the parcel with exactly that APN. Each parcel is reported once, from
    the first layer in `SEARCH_ORDER` that has it, with that layer's fields.
    """
    on = _layers_day(layers)
    candidates, closest = [], False
    if exact_apn or APN_LIKE.fullmatch(query):  # by the index first: no scan of the city
        candidates = candidate_ids(query, limit=3 * limit, exact_apn=True, on=on)
    if not candidates and not exact_apn:
        candidates = candidate_ids(query, limit=3 * limit, on=on)
    if not candidates and not exact_apn:
        candidates = closest_ids(query, limit=3 * limit, on=on)
        closest = True
    if not candidates:
        return []
    found, seen = [], set()
    for layer in searchable(layers):
        for parcel, row in _search_layer(layer, candidates):
            if parcel not in seen:
                seen.add(parcel)
                found.append((parcel, {**row, "closest": closest}))
    order = {pk: i for i, pk in enumerate(candidates)}
    return [row for _, row in sorted(found, key=lambda pair: order[pair[0]])][:limit]


def _layers_day(layers: list[Layer]) -> dt.date | None:
    """The trust's day `layers` show the trust's land for (None: today, as `all_layers`)."""
    return next((layer.as_of for layer in layers if layer.as_of is not None), None)


def candidate_ids(
    query: str, *, limit: int, exact_apn: bool = False, on: dt.date | None = None
) -> list[int]:
    """Mapped parcels matching `query` by APN or address (both public fields): active ones,
    and those the trust holds on `on` though the county's file retired them, which the trust's
    layers still show (a home whose lot the county renumbered is still found by its address).

    This only narrows the search to a few ids, so each layer's own SQL then runs on a handful of
    rows by primary key instead of scanning a city; what a result shows still comes from the
    layers. An exact APN names every jurisdiction so PostgreSQL can use the (jurisdiction, apn)
    unique index; a partial match goes through the APN-prefix, APN-key and address-trigram
    indexes (migrations 0005, 0013, 0011) when the words are rare, and stops at `limit`.
    """
    parcels = Parcel.objects.active_or_held(on).filter(geom__isnull=False)
    if exact_apn:
        exact = parcels.filter(
            jurisdiction__in=Jurisdiction.values, apn__in={query, query.upper()}
        )
        found = list(exact.order_by().values_list("pk", flat=True)[:limit])
        key = apn_key_sought(query)
        if found or key is None:
            return found
        # A link written from a tax bill without the dashes (?parcel=164113008): the same
        # APN by its key, on the same index as the search's.
        by_key = parcels.alias(apn_key=ApnKey("apn")).filter(apn_key=key)
        return list(by_key.order_by().values_list("pk", flat=True)[:limit])
    # The words together, as county files write them ("1418 Rose Street." is "1418 ROSE ST")
    # or as typed: one or two LIKEs, as fast as before. Only when that finds nothing, every
    # word anywhere in the address, in any order ("Rose St 1418"). Each is looked for where a
    # word of the address starts (`folded_starts_word`), which the trigram index on the folded
    # address answers: found anywhere, "438 W Pearl St" was also 6438 W Pearl St (17% of 200
    # available homes searched by their own address at 1M parcels did not open their popup),
    # and "Ward 22" was 220 E Edwards St.
    words = address_words(query) or [query]
    phrase = " ".join(words)
    together = Q(apn__istartswith=query) | Q(address__folded_starts_word=phrase)
    key = apn_key_sought(query)
    if key is not None:  # an APN typed without its dashes, or with spaces
        parcels = parcels.alias(apn_key=ApnKey("apn"))
        together |= Q(apn_key__startswith=key)
    as_typed = " ".join(address_words(query, abbreviated=False))
    if as_typed and as_typed != phrase:  # a file may spell "Road" out
        together |= Q(address__folded_starts_word=as_typed)
    found = _named_place_ids(query, on, limit)
    found += [pk for pk in _matching_ids(parcels.filter(together), limit) if pk not in found]
    apart = [word for word in words if word_runs(word)]  # not "-" or "&" alone
    if not found and len(apart) > 1:
        each_word = Q()
        for word in apart:
            each_word &= Q(address__folded_starts_word=word)
        found = _matching_ids(parcels.filter(each_word), limit)
    return found


def _named_place_ids(query: str, on: dt.date | None, limit: int) -> list[int]:
    """The parcels of the trust's named places ("Freedom Farm", "Cleveland Avenue Community
    Garden": the uses of NAMED_PLACE_USES, whose names the map shows) whose name has `query`,
    as a search box means it: a resident looks for the farm by its name, not its address. A
    home's holding is never searched by its name, which is not public."""
    named = held_memberships(on).filter(
        holding__current_use__in=NAMED_PLACE_USES, holding__name__folded_search=query.strip()
    )
    return list(named.order_by("holding__name", "parcel_id").values_list("parcel_id", flat=True)
                .distinct()[:limit])  # fmt: skip


# What a guess may cost a public search: an address has few words ("1419 Dr Robert Smith Sr
# Pkwy" six), and each try with fewer words is one statement.
MOST_WORDS_GUESSED = 8
MOST_FEWER_TRIES = 5


def closest_ids(query: str, *, limit: int, on: dt.date | None = None) -> list[int]:
    """For an address no parcel has every word of: the parcels closest to it, with its house
    number kept. First with a slip in the street's kind corrected ("1418 Rose Stret" is
    "1418 ROSE ST"), then with fewer words (`_fewer_words`: "1418 Rose St Jacksn" finds
    1418 ROSE ST by "1418 ROSE ST"), then a slip in the street's name among the addresses at
    that number (`_nearest_at_number`: "1418 Rsoe St").

    Only for text with a house number and a street's name: "Nowhere Lane" or an APN that
    matches nothing still finds nothing. Each attempt goes by the trigram index on the folded
    address, as `candidate_ids` does, with the address starting with the house number
    (`at_house_number`), whose trigrams are rare in a city.
    """
    words = address_words(query)
    names = street_names(words)
    number = house_number(words)
    if number is None or not names or len(words) > MOST_WORDS_GUESSED:
        return []
    parcels = Parcel.objects.active_or_held(on).filter(geom__isnull=False)
    corrected = kind_corrected(words)
    tries = [corrected] if corrected != words else []
    at_number = at_house_number(parcels, number)  # "1418 ...", never "14180 ..."
    for fewer in [*tries, *_fewer_words(corrected)][:MOST_FEWER_TRIES]:
        each_word = Q()
        for word in fewer:
            if word != number:
                each_word &= Q(address__folded_starts_word=word)
        if found := _matching_ids(at_number.filter(each_word), limit):
            return found
    return _nearest_at_number(parcels, number, words, limit)


def _fewer_words(words: list[str]) -> list[list[str]]:
    """`words` without one word but the house number, the last first, then without the
    street's kind too; each still with a street's name: "1418 ROSE ST JACKSN" is tried as
    "1418 ROSE ST" first, "1418 ROSE STRET" as "1418 ROSE"."""
    number = next(word for word in words if HOUSE_NUMBER.fullmatch(word))
    kindless = [word for word in words if word not in STREET_KINDS]
    tries = []
    for kept in (words, kindless):
        for at in reversed(range(len(kept))):
            fewer = kept[:at] + kept[at + 1 :]
            if kept[at] != number and fewer not in tries and street_names(fewer):
                tries.append(fewer)
    return tries


# At most this many parcels at one house number are compared with what was typed. At 1M
# parcels a number of 3-4 digits starts a few hundred addresses (one a street, each side).
MOST_AT_NUMBER = 2000


def _nearest_at_number(parcels, number: str, words: list[str], limit: int) -> list[int]:
    """The parcels at house `number` whose address is closest to `words`: a street's name
    within a slip or two (`parcels.addresses.closeness`), then the same kind and direction.

    pg_trgm's similarity cannot tell "RSOE" or "ROES" from any other word (with two letters
    swapped, a four-letter word keeps one trigram of ROSE's five), so the trigram index only
    finds the addresses that start with the number (`LIKE '1418 %'`: its trigrams, " 14",
    "141", "418", "18 ", are rare), and the names are compared here by edit distance."""
    at_number = at_house_number(parcels, number).values_list("pk", "address")
    ranked, scores = [], {}
    for pk, address in _first_rows(at_number, MOST_AT_NUMBER):
        if address not in scores:  # a street has one address a number, a city many parcels
            scores[address] = closeness(words, address_words(address or ""))
        if scores[address] is not None:
            ranked.append((scores[address], address, pk))
    if not ranked:
        return []
    best = min(score for score, _, _ in ranked)
    return [pk for score, _, pk in sorted(ranked) if score == best][:limit]


def at_house_number(parcels, number: str):
    """`parcels` whose address starts with house `number` ("1418 ", "1418-A"), folded as the
    trigram index is, so the index answers it."""
    folded_address = Folded(F("address"))
    return parcels.alias(folded_address=folded_address).filter(
        Q(folded_address__startswith=f"{number} ") | Q(folded_address__startswith=f"{number}-")
    )


def _matching_ids(parcels, limit: int) -> list[int]:
    """Up to `limit` ids of `parcels`, planned as if there were no limit."""
    return [row[0] for row in _first_rows(parcels.values_list("pk"), limit)]


def _first_rows(rows, limit: int) -> list[tuple]:
    """Up to `limit` of `rows` (a values_list), in no order, planned as if there were no
    limit."""
    sql, params = rows.order_by().query.sql_with_params()
    # Not `[:limit]` on the query itself: PostgreSQL guesses a LIKE '%...%' matches 0.5% of the
    # table whatever the words, so with a LIMIT it bets a table scan finds `limit` matches
    # early, and for a search that matches nothing it reads all of it (480 ms at 1M parcels).
    # Planned without the limit, it takes the indexes when the guess is small; the limit
    # outside still stops the scan early, as rows are pulled from a CTE one at a time.
    # At 1M parcels every search tried takes 0.1-28 ms (BENCHMARKS.md).
    # For the same reason, a common word ("St") looks like a scan of every match, which two
    # parallel workers would share: starting them took 6-12 ms for a scan that stops after
    # 30 rows (0.2 ms) once the folded address made each row look costlier to the planner.
    return planner.fetch_all_with(
        ["max_parallel_workers_per_gather = 0"],
        f"WITH m AS MATERIALIZED ({sql}) SELECT * FROM m LIMIT %s",
        [*params, limit],
    )


def _search_layer(layer: Layer, ids: list[int]) -> list[tuple[int, dict]]:
    """The parcels `ids` that `layer` has, each as (parcel id, result): the feature's id and
    fields, at a point of the parcel. On a layer made of parcels, the parcel's APN and address
    come first, then the fields of the feature it is part of; a parcel of two features (lots
    under two leases in force, a co-op's units) is found first with the one recorded last."""
    sql, params = unordered(layer).select_sql()
    columns = ", ".join(typed_column(f) for f in layer.fields)
    parts = layer.parts_sql()
    if parts is None:
        names = layer.field_names
        statement = f"""
            SELECT q.id, q.id, {columns},
                   ST_Y(ST_PointOnSurface(q.geom)), ST_X(ST_PointOnSurface(q.geom))
            FROM ({sql}) AS q
            WHERE q.id = ANY(%s)
        """
    else:
        names = ("apn", "address", *layer.field_names)
        statement = f"""
            SELECT parts.parcel, q.id, parts.apn::text, parts.address::text, {columns},
                   ST_Y(ST_PointOnSurface(parts.geom)), ST_X(ST_PointOnSurface(parts.geom))
            FROM ({sql}) AS q JOIN ({parts[0]}) AS parts ON parts.id = q.id
            WHERE parts.parcel = ANY(%s)
            ORDER BY q.id DESC
        """
        params = (*params, *parts[1])
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, ids])
        rows = cursor.fetchall()
    results = []
    for row in rows:
        properties = {
            name: (value if value is None or isinstance(value, int | float | str) else str(value))
            for name, value in zip(names, row[2:-2], strict=True)
        }
        result = {
            "id": row[1],
            "layer": layer.name,
            "layer_title": layer.title,
            "properties": properties,
            "lat": round(row[-2], 7),
            "lon": round(row[-1], 7),
        }
        results.append((row[0], result))
    return results
