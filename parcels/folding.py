"""Names and addresses as searches compare them: "O'Neal", "O’Neal", "ONEAL" and "Oneal" are
one name, and so are "Peña", "PENA" and "Pena".

County files drop apostrophes ("ONEAL ST", "ODOM MARY") or keep them ("O'NEAL ST"), and so do
the people searching; a lessee typed in as "D’Angelo" is searched for as "D'Angelo". County
files are mostly plain ASCII ("PENA MARIA", "MUNOZ ST"), while staff type "Peña" and "Muñoz"
into the registry and into the search box. So both sides of a search are *folded* the same way:
accents taken off (Unicode's NFKD decomposition, then its combining marks dropped: "ñ" is "n"
and a mark), apostrophes (straight, curly, the modifier letter) dropped, upper case. Letters of
their own ("Ł", "Ø", "ß") stay.

- in SQL, `FOLD_SQL` around the column: what the trigram indexes on parcels' addresses and
  owners are built on (migration `parcels/0011`), so a folded search still uses them;
- in Python, `fold(text)` on what was typed;
- as lookups, registered on every CharField and TextField by `ParcelsConfig.ready`:
  `field__folded_contains="o'neal"`, `field__folded_starts_word="o'n"` (a word of the field
  starts with the text) and `field__folded_search=...`, which picks one of those two as a
  search box means the text (the admin's `search_fields`, through `folded_search()`).

Only apostrophes and accents: other punctuation is a word boundary that searches already handle
(the map's search drops it and tries the words apart, `parcels.addresses`).
"""

from __future__ import annotations

import re
import string
import unicodedata

from django.db.models import CharField, Func, TextField
from django.db.models.lookups import Contains, Lookup

APOSTROPHES = "'\u2019\u2018\u02bc"  # ' ’ ‘ ʼ
# Where a word starts, in a regular expression: the text's start, or after a space or an ASCII
# punctuation mark ("1716-A", "12 1/2"). Only characters pg_trgm does not take as letters, so
# the trigram index knows the word's start and can look up "  Q" and " QZ" for it.
WORD_START = "(^|[ " + "".join("\\" + c for c in string.punctuation) + "])"


# Runs of letters and digits, as pg_trgm splits text into the words it takes trigrams from
# (spaces and punctuation part them). A run of three or more has trigrams of its own.
WORD_RUN = re.compile(r"[^\W_]+")
TRIGRAM = 3

# Unicode's block of combining diacritical marks: the accents NFKD takes off "ñ", "é" or "ü".
COMBINING_MARKS = ("\u0300", "\u036f")

# The SQL text of the indexes' expression: the planner uses an index only for the same
# expression, so the lookups below write exactly this around their column ({0}).
# Decomposing and the regular expression cost 0.5 µs a row (a scan of 1M addresses: 947 ms,
# against 396 for 0010's upper() and four replace()s; bench/fold_sql.py), and every row a search
# finds is rechecked with this. A plain-ASCII value, nearly every row of a county file, has
# neither accents nor curly apostrophes, so it takes the cheap branch (335 ms for the million);
# the two branches agree on it, as NFKD leaves ASCII as it is.
FOLD_SQL = (
    "(CASE WHEN octet_length({0}) = char_length({0}) THEN upper(replace({0}, '''', '')) "
    "ELSE upper(regexp_replace(normalize({0}, NFKD), "
    r"'[''\u2019\u2018\u02bc\u0300-\u036f]', '', 'g')) END)"
)


def fold(text: str) -> str:
    """`text` as a folded search compares it: accents and apostrophes dropped, upper case.

    PostgreSQL's upper() maps one character to one character; Python's can map one to two
    ("ß" to "SS"), which would then match nothing. Those characters are left as they are.
    """
    first, last = COMBINING_MARKS
    kept = (
        c
        for c in unicodedata.normalize("NFKD", text)
        if c not in APOSTROPHES and not first <= c <= last
    )
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in kept)


def word_runs(text: str) -> list[str]:
    """The runs of letters and digits in `text`, folded: "O'Neal St." → ["ONEAL", "ST"]."""
    return WORD_RUN.findall(fold(text))


def starts_short(text: str) -> bool:
    """Whether the first word of `text` has fewer than three letters or digits ("QZ", "1 Cir").

    In `LIKE '%QZ%'` QZ's start and end are unknown, so it has no trigram the index could look
    up, and every row is rechecked; in `'%1 CIR%'` the 1 has none either, so the index looks up
    CIR's alone (in 174,000 of a million addresses). Someone who types a short word first also
    means the start of one: "12 Rose St" is not "112 ROSE ST", nor "ru" the middle of "TRUST".
    """
    runs = word_runs(text)
    return not runs or len(runs[0]) < TRIGRAM


def folded(sql: str, params: list | tuple = ()) -> tuple[str, list]:
    """The SQL expression `sql` folded, with its parameters once for each time it is written."""
    return FOLD_SQL.format(sql), list(params) * FOLD_SQL.count("{0}")


class Folded(Func):
    """An expression folded, for annotations: `Folded(F("address"))`."""

    arity = 1
    output_field = CharField()

    def as_sql(self, compiler, connection, **extra_context):
        return folded(*compiler.compile(self.source_expressions[0]))


def _folded_rhs(lookup: Lookup) -> str:
    """What was typed for `lookup`, folded; a column or expression is refused."""
    if hasattr(lookup.rhs, "resolve_expression"):
        raise TypeError(f"{lookup.lookup_name} compares with typed text, not an expression")
    return fold(str(lookup.rhs))


class FoldedContains(Contains):
    """`column LIKE '%text%'`, both folded: `FOLD_SQL(column) LIKE '%ONEAL%'`."""

    lookup_name = "folded_contains"
    prepare_rhs = False

    def get_prep_lookup(self):
        return _folded_rhs(self)

    def get_rhs_op(self, connection, rhs):
        return connection.operators["contains"] % rhs  # LIKE %s

    def process_lhs(self, compiler, connection, lhs=None):
        return folded(*super().process_lhs(compiler, connection, lhs))


class FoldedStartsWord(Lookup):
    """`column ~ '(^|[ ...])TEXT' AND column LIKE '%TEXT%'`, both folded: a word of the column
    starts with the text.

    For text of one or two letters, which has no trigram of its own inside "%QZ%" (its start
    and end are unknown), so that LIKE alone has the trigram index hand back every row to
    recheck; at a word's start it has trigrams the index looks up. The LIKE changes no result
    (what the regular expression matches contains the text) but adds trigrams: pg_trgm keeps
    few of a regular expression's, dropping those with spaces as likely common, so "W 3" was
    looked up by "  W" alone (530,000 of a million addresses, 0.45 s); with the LIKE's " W "
    and "  3" too, by 55,000 (47 ms)."""

    lookup_name = "folded_starts_word"
    prepare_rhs = False

    def get_prep_lookup(self):
        return _folded_rhs(self)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = folded(*self.process_lhs(compiler, connection))
        text = self.rhs
        pattern = WORD_START + _regex_literal(text)
        inside = f"%{connection.ops.prep_for_like_query(text)}%"
        return f"({lhs} ~ %s AND {lhs} LIKE %s)", [*lhs_params, pattern, *lhs_params, inside]


class FoldedSearch(Lookup):
    """What a search box means by the text, both folded: text that starts with a word of three
    letters or more is found anywhere in the column (`folded_contains`: "rust way" in "TRUST
    WAY"); text that starts with a shorter word ("QZ", "12 Rose", "J R") where a word of the
    column starts (`folded_starts_word`), which is what the trigram index can answer for it
    (`starts_short`)."""

    lookup_name = "folded_search"
    prepare_rhs = False

    def get_prep_lookup(self):
        return _folded_rhs(self)  # folding again, in the lookup chosen, changes nothing

    def as_sql(self, compiler, connection):
        chosen = FoldedStartsWord if starts_short(self.rhs) else FoldedContains
        return chosen(self.lhs, self.rhs).as_sql(compiler, connection)


def _regex_literal(text: str) -> str:
    """`text` matched as it is: every character but a letter or digit escaped (in PostgreSQL's
    regular expressions a backslash before one of those is that character)."""
    return "".join(c if c.isalnum() else "\\" + c for c in text)


def register() -> None:
    for lookup in (FoldedContains, FoldedStartsWord, FoldedSearch):
        CharField.register_lookup(lookup)
        TextField.register_lookup(lookup)


# Said under the staff's search boxes that search folded (`search_help_text`).
SEARCH_HELP = (
    "With or without apostrophes and accents (“Oneal” finds O'NEAL, “Pena” finds PEÑA); "
    "a word of one or two letters finds the words that start with it."
)


def folded_search(field: str) -> str:
    """An admin `search_fields` entry that searches `field` folded, as `FoldedSearch` does:
    `folded_search("name")`."""
    return f"{field}__{FoldedSearch.lookup_name}"
