"""Names and addresses as searches compare them: "O'Neal", "O’Neal", "ONEAL" and "Oneal" are
one name.

County files drop apostrophes ("ONEAL ST", "ODOM MARY") or keep them ("O'NEAL ST"), and so do
the people searching; a lessee typed in as "D’Angelo" is searched for as "D'Angelo". So both
sides of a search are *folded* the same way: upper case, apostrophes (straight, curly, the
modifier letter) dropped.

- in SQL, `FOLD_SQL` around the column (upper, then replace): what the trigram indexes on
  parcels' addresses and owners are built on (migration `parcels/0010`), so a folded search
  still uses them;
- in Python, `fold(text)` on what was typed;
- as lookups, `field__folded_contains="o'neal"` (for querysets and the admin's
  `search_fields`) and `field__folded_starts_word="o'n"` (a word of the field starts with the
  text), registered on every CharField and TextField by `ParcelsConfig.ready`.

Only apostrophes: other punctuation is a word boundary that searches already handle (the map's
search drops it and tries the words apart, `parcels.addresses`).
"""

from __future__ import annotations

import string

from django.db.models import CharField, TextField
from django.db.models.lookups import Contains, Lookup

APOSTROPHES = "'\u2019\u2018\u02bc"  # ' ’ ‘ ʼ
# Where a word starts, in a regular expression: the text's start, or after a space or an ASCII
# punctuation mark ("1716-A", "12 1/2"). Only characters pg_trgm does not take as letters, so
# the trigram index knows the word's start and can look up "  Q" and " QZ" for it.
WORD_START = "(^|[ " + "".join("\\" + c for c in string.punctuation) + "])"


def _fold_sql(apostrophes: str) -> str:
    """upper(), then one replace() per apostrophe. Not translate(), which does the same in one
    call: it costs 0.3 µs a row more than upper() alone, a replace() of a character that is not
    there 0.03 µs (1M addresses, PostgreSQL 15), and every row a search finds is rechecked."""
    sql = "upper({})"
    for apostrophe in apostrophes:
        sql = f"replace({sql}, '{apostrophe.replace(chr(39), chr(39) * 2)}', '')"
    return sql


# The SQL text of the indexes' expression: the planner uses an index only for the same
# expression, so the lookup below writes exactly this around its column.
FOLD_SQL = _fold_sql(APOSTROPHES)
_DROP_APOSTROPHES = str.maketrans("", "", APOSTROPHES)


def fold(text: str) -> str:
    """`text` as a folded search compares it: upper case, apostrophes dropped.

    PostgreSQL's upper() maps one character to one character; Python's can map one to two
    ("ß" to "SS"), which would then match nothing. Those characters are left as they are.
    """
    upper = "".join(c.upper() if len(c.upper()) == 1 else c for c in text)
    return upper.translate(_DROP_APOSTROPHES)


def _folded_rhs(lookup: Lookup) -> str:
    """What was typed for `lookup`, folded; a column or expression is refused."""
    if hasattr(lookup.rhs, "resolve_expression"):
        raise TypeError(f"{lookup.lookup_name} compares with typed text, not an expression")
    return fold(str(lookup.rhs))


class FoldedContains(Contains):
    """`column LIKE '%text%'`, both folded: `replace(...upper(column)...) LIKE '%ONEAL%'`."""

    lookup_name = "folded_contains"
    prepare_rhs = False

    def get_prep_lookup(self):
        return _folded_rhs(self)

    def get_rhs_op(self, connection, rhs):
        return connection.operators["contains"] % rhs  # LIKE %s

    def process_lhs(self, compiler, connection, lhs=None):
        sql, params = super().process_lhs(compiler, connection, lhs)
        return FOLD_SQL.format(sql), params


class FoldedStartsWord(Lookup):
    """`column ~ '(^|[ ...])TEXT'`, both folded: a word of the column starts with the text.

    For text of one or two letters, which has no trigram of its own inside "%QZ%" (its start
    and end are unknown), so that LIKE has the trigram index hand back every row to recheck;
    at a word's start it has trigrams the index looks up."""

    lookup_name = "folded_starts_word"
    prepare_rhs = False

    def get_prep_lookup(self):
        return WORD_START + _regex_literal(_folded_rhs(self))

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{FOLD_SQL.format(lhs)} ~ {rhs}", [*lhs_params, *rhs_params]


def _regex_literal(text: str) -> str:
    """`text` matched as it is: every character but a letter or digit escaped (in PostgreSQL's
    regular expressions a backslash before one of those is that character)."""
    return "".join(c if c.isalnum() else "\\" + c for c in text)


def register() -> None:
    for lookup in (FoldedContains, FoldedStartsWord):
        CharField.register_lookup(lookup)
        TextField.register_lookup(lookup)


def folded_search(field: str) -> str:
    """An admin `search_fields` entry that compares `field` folded: `folded_search("name")`."""
    return f"{field}__{FoldedContains.lookup_name}"
