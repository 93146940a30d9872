"""Data versions: which writes happened under a layer, so cached tiles are never stale.

Every table a declared layer reads carries a statement-level trigger (`maps_data_version`) that
sets the table's row in `maps_data_version` to a fresh number from one sequence, in the writing
transaction (migration maps/0001). A reader that takes the versions in the same statement as the
data sees both before or both after any commit, so a tile cached under an ETag built from the
versions always matches them. One statement bumps once, whatever the number of rows (a 1M-parcel
import pays once per statement, not per row).

Some layers also change with no write at all: what the trust holds and which leases are in force
are dated, so at midnight in the trust's time zone a holding whose end was dated for today leaves
the map. Such a layer is built for a day (`Layer.as_of`), and that day is one more input beside
its tables: a pseudo-table named by the date (`day_input`), whose version is always 0. Versions
taken for yesterday's layer and for today's then differ in their keys, so nothing cached by
versions (tiles, their ETags, the OGC API's extents) is served across midnight; and the day
recorded is the one the layer's SQL was built for, not the clock's when the answer came back.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable

from django.apps import apps
from django.db import connection

TRIGGER = "maps_data_version"
DAY_PREFIX = "clt:day:"  # no table's name: tables_in() finds only [A-Za-z0-9_] names

_watched: set[str] = set()  # tables known to carry the trigger, in this process


def model_tables() -> frozenset[str]:
    """Every table of an installed model, many-to-many tables included."""
    return frozenset(model._meta.db_table for model in apps.get_models(include_auto_created=True))


def tables_in(sql: str) -> frozenset[str]:
    """The model tables a SQL statement reads (Django quotes every table name it writes)."""
    quoted = set(re.findall(r'"([A-Za-z0-9_]+)"', sql))
    return frozenset(quoted & model_tables())


def day_input(on: dt.date | None) -> frozenset[str]:
    """The trust's day `on` as an input of a layer built for it (none for a layer that does
    not depend on the day): a pseudo-table, to put beside the tables a layer reads."""
    return frozenset({f"{DAY_PREFIX}{on.isoformat()}"}) if on else frozenset()


def layer_tables(layer) -> frozenset[str]:
    """What `layer`'s features are computed from, as keys of `versions()`: the tables it reads
    (a write to any of them may change it) and, for a layer built for a day, that day."""
    sql, _ = layer.select_sql()
    return tables_in(sql) | day_input(layer.as_of)


def watch(tables: Iterable[str]) -> None:
    """Make sure each table bumps its data version on every write (idempotent); a day, which
    no write changes, needs no trigger."""
    missing = {table for table in tables if not table.startswith(DAY_PREFIX)} - _watched
    if not missing:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s AND c.relname = ANY(%s)",
            [TRIGGER, sorted(missing)],
        )
        have = {row[0] for row in cursor.fetchall()}
        for table in sorted(missing - have):
            name = connection.ops.quote_name(table)  # a model's table, never request input
            cursor.execute(
                f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {name} FOR EACH STATEMENT EXECUTE FUNCTION maps_bump_data_version()"
            )
    _watched.update(missing)


def watch_all_layers(**kwargs) -> None:
    """After `migrate`: install the trigger on every table any declared layer reads, and on
    those a download's provenance reads (its import runs), so that no request has to: a
    CREATE TRIGGER waits for every open transaction that wrote the table (an import)."""
    from maps.exporting import provenance_tables
    from maps.layers import all_layers

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('maps_bump_data_version()') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return  # maps' own migration has not run yet
    _watched.clear()
    layers = all_layers().values()
    read = set().union(*(layer_tables(layer) | provenance_tables(layer) for layer in layers))
    # Only the tables there are: a migrate back to an older state (a table not yet created)
    # ended in a traceback here, after the rollback itself had gone through.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND relname = ANY(%s) "
            "AND pg_table_is_visible(oid)", [sorted(read)]
        )  # fmt: skip
        present = {row[0] for row in cursor.fetchall()}
    watch(table for table in read if table in present or table.startswith(DAY_PREFIX))


def versions(tables: Iterable[str]) -> dict[str, int]:
    """The current data version of each table (0 for a table never written since it was
    watched, and for a day: its name is what tells one day's answer from the next)."""
    tables = sorted(tables)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, version FROM maps_data_version WHERE table_name = ANY(%s)",
            [tables],
        )
        found = dict(cursor.fetchall())
    return {table: found.get(table, 0) for table in tables}


# The current versions of the tables bound to its one parameter (a list), as one JSON object: a
# subquery to put in the statement that reads the data, so both come from the same snapshot.
IN_STATEMENT_SQL = (
    "SELECT json_object_agg(table_name, version) FROM maps_data_version WHERE table_name = ANY(%s)"
)


def read_in_statement(found, tables: Iterable[str]) -> dict[str, int]:
    """The versions `IN_STATEMENT_SQL` returned (a dict, or JSON text, or NULL when no table was
    written yet), for each of `tables` as `versions()` gives them."""
    found = found if isinstance(found, dict) else json.loads(found or "{}")
    return {table: found.get(table, 0) for table in sorted(tables)}
