"""A statement run under planner settings of its own (`SET LOCAL`), in one round trip.

Some statements are planned well by PostgreSQL's defaults for a typical query and badly for
themselves: a tile query costs enough to be JIT-compiled, which takes longer than running it
(maps.tiles); the map search's candidate query is planned as if it read every match, when a
LIMIT outside stops it after 30 (maps.search). Each names the setting it needs here. Run in
autocommit, as requests run here (no ATOMIC_REQUESTS), the setting holds for that statement
alone; inside a caller's transaction, SET LOCAL holds until that transaction ends.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, transaction


def fetch_all_with(settings: Sequence[str], sql: str, params: Sequence) -> list[tuple]:
    """The rows of `sql`, run with each of `settings` ("jit = off") as SET LOCAL."""
    set_local = "".join(f"SET LOCAL {setting}; " for setting in settings)
    with connection.cursor() as cursor:
        if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
            with transaction.atomic():
                cursor.execute(set_local)
                cursor.execute(sql, params)
                return cursor.fetchall()
        # One round trip: statements sent in one query run in one implicit transaction (or in
        # the caller's), and SET LOCAL ends with it (client-side binding, Django's default).
        cursor.execute(set_local + sql, params)
        while cursor.description is None:  # past the SETs' results to the statement's
            cursor.nextset()
        return cursor.fetchall()
