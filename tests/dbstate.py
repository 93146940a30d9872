"""The whole database as numbers to compare: before and after something that must change
nothing (a refused import, a hostile request), or must change everything back (a restore)."""

from __future__ import annotations

from django.db import connection


def database_state() -> dict[str, tuple[int, str]]:
    """Every table in the public schema: its row count and an md5 of all its rows."""
    state = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(
                "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                f' FROM "{table}" t'  # a name from the catalogue, not user input
            )
            state[table] = cursor.fetchone()
    return state


def changed_tables(before: dict, after: dict, *, allowed=frozenset()) -> dict:
    """The tables whose rows differ (or that appeared or went), but for `allowed`."""
    return {t: (before.get(t), after.get(t)) for t in before.keys() | after.keys()
            if before.get(t) != after.get(t) and t not in allowed}  # fmt: skip


def data_versions() -> dict[str, int]:
    """Each watched table's data version (maps/versions.py): a write to a table bumps its own."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, version FROM maps_data_version")
        return dict(cursor.fetchall())


def bumped(before: dict[str, int], after: dict[str, int]) -> set[str]:
    """The tables whose data version moved between two `data_versions()`."""
    return {t for t in before.keys() | after.keys() if before.get(t) != after.get(t)}


def database_url() -> str:
    """The test database as a DATABASE_URL, for a `clt` or gunicorn child process."""
    s = connection.settings_dict
    return f"postgis://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
