"""The HTTP floor for bench/tiles.py: the tile endpoint's SQL served over HTTP with no Django.

    gunicorn bench.tile_floor:application      (bench/tiles.py starts it; DATABASE_URL as usual)

`/floor/{layer}/{z}/{x}/{y}` runs exactly the SQL `/tiles/{layer}/{z}/{x}/{y}.pbf` runs for a tile
it must build (`maps.tiles.tile_sql`, JIT off in the same round trip, client-side binding), on a
psycopg connection of its own per thread, and answers the bytes: no middleware, no URL routing,
no cache, no ETag. The SQL is made once per tile and kept, so a request costs only what no web
app can avoid: the HTTP exchange through gunicorn and the query. Every other path goes to the
real app (clt.wsgi), so both run in the same gunicorn process, threads and database.

The endpoint's cold time over this floor's is what Django and the app add; the floor's over the
bare query is what HTTP itself costs.
"""

from __future__ import annotations

import os
import threading

import psycopg

from bench.tiles import psql_connect
from clt.wsgi import application as clt_application  # sets Django up (the SQL comes from it)

_local = threading.local()
_statements: dict[str, tuple[str, tuple]] = {}


def _connection() -> psycopg.Connection:
    if getattr(_local, "db", None) is None:  # client-side binding, as Django's cursors bind
        _local.db = psql_connect(os.environ["DATABASE_URL"])
    return _local.db


def _statement(path: str) -> tuple[str, tuple] | None:
    found = _statements.get(path)
    if found is None:
        from maps import tiles

        _, _, layer, z, x, y = path.split("/")
        compiled = tiles.compiled_layer(layer)
        if compiled is None:
            return None
        sql, params = tiles.tile_sql(compiled, tiles.parse_tile_address(z, x, y))
        found = _statements[path] = ("SET LOCAL jit = off; " + sql, params)
    return found


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if not path.startswith("/floor/"):
        return clt_application(environ, start_response)
    statement = _statement(path)
    if statement is None:
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    cursor = _connection().cursor()
    cursor.execute(*statement)
    cursor.nextset()
    body = bytes(cursor.fetchone()[0] or b"")
    status = "200 OK" if body else "204 No Content"
    start_response(status, [("Content-Type", "application/vnd.mapbox-vector-tile"),
                            ("Content-Length", str(len(body)))])  # fmt: skip
    return [body]
