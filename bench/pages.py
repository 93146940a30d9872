"""Pages at 1M parcels: the map's search box, the staff's parcel list, the OGC API collections.

    .venv/bin/python bench/pages.py               # the city of bench/tiles.py, 30 runs each

Uses the city bench/tiles.py prepares (`clt_bench_tiles`, made the first time if missing) and
serves it the same way (gunicorn, one process, four threads, a kept-alive client). For each
query: GET /map/search.json?q=... (p50 of the runs), and the candidate query alone in SQL as
`maps.search.candidate_ids` sends it (the index work; the rest of an answer is each layer's
fields for at most 30 ids). The queries are the kinds a search box gets: an exact APN, the start
of one, a whole address, a street, a common fragment, two letters, and typos that match nothing
(the case a table scan makes slow).

Then the staff's parcel list in the admin (`/admin/parcels/parcel/`), unfiltered, searched and
filtered, and the history events list (`/admin/pghistory/events/`), through Django's test client
in this process (a logged-in superuser made in the bench database): the whole request, and its
slowest SQL statement.

Then `/ogcapi/collections`, `/ogcapi/collections/parcels` and a first page of its items,
in-process too (anonymous, as a GIS client connects): the first request after a write to the
parcels table (extents and counts are computed again), then the p50 of the requests after
(served from those kept).

Prints Markdown tables and writes bench/out/pages.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.tiles import OUT, database_url, ensure_trust_land, get, prepare, psql_connect, serve  # noqa: E402

QUERIES = (
    ("exact APN", "133-281-007"),
    ("start of an APN", "133-281"),
    ("whole address", "4093 E Pearl Cir"),
    ("address written out", "4093 E Pearl Circle."),
    ("words in another order", "Pearl Cir 4093"),
    ("street", "Pearl Cir"),
    ("common fragment", "W M"),
    ("one letter and more", "St"),
    ("two letters, no word starts so", "QZ"),
    ("matches nothing", "zzzz no such street"),
    ("an apostrophe, folded", "1418 O'Neal St"),
)


def bare_sql(query: str) -> tuple[str, list]:
    """The SQL `candidate_ids` runs for `query` (one statement, or two when the words together
    find nothing and it looks for them apart), captured from Django, to time without it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from maps import search

    with CaptureQueriesContext(connection) as captured:
        search.find(query, [], limit=10)
    statements = [q["sql"] for q in captured.captured_queries if "MATERIALIZED" in q["sql"]]
    return ";\n".join(statements or [captured.captured_queries[-1]["sql"]]), []


def measure(url: str, port: int, runs: int) -> list[dict]:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")
    import django

    django.setup()
    rows = []
    with psql_connect(url) as db:
        for kind, query in QUERIES:
            sql, _ = bare_sql(query)
            http, bare, found = [], [], None
            for _ in range(runs):
                started = time.perf_counter()
                cursor = db.execute(sql)
                while cursor.nextset():  # two statements: read both
                    pass
                bare.append((time.perf_counter() - started) * 1000)
                path = "/map/search.json?q=" + urllib.parse.quote(query)
                status, body, _, elapsed = get(port, path)
                assert status == 200, (status, body[:200])
                http.append(elapsed)
                found = len(json.loads(body)["results"])
            rows.append({
                "kind": kind, "query": query, "results": found,
                "http_p50_ms": round(statistics.median(http), 2),
                "http_max_ms": round(max(http), 2),
                "candidates_sql_p50_ms": round(statistics.median(bare), 2),
            })  # fmt: skip
            print(f"bench: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


LIST = "/admin/parcels/parcel/"
STAFF_LIST = (
    ("the list", LIST),
    ("search: whole address", LIST + "?q=4093+E+Pearl"),
    ("search: an APN", LIST + "?q=133-281-007"),
    ("search: an owner", LIST + "?q=delta+properties"),
    ("search: a common word", LIST + "?q=pearl"),
    ("search: nothing matches", LIST + "?q=zzzq"),
    ("search: an apostrophe, folded", LIST + "?q=O%27Neal"),
    ("search: two letters, rare", LIST + "?q=QZ"),
    ("search: two letters, common", LIST + "?q=Pe"),
    ("filter: one land-use code", LIST + "?land_use=V"),
    ("history: the events list", "/admin/pghistory/events/"),
    ("history: updates only", "/admin/pghistory/events/?label=update"),
)


def measure_staff_list(runs: int) -> list[dict]:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    staff, _ = User.objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(staff)
    rows = []
    for kind, path in STAFF_LIST:
        times, slowest = [], []
        for _ in range(runs):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
            slowest.append(max(float(q["time"]) for q in captured.captured_queries) * 1000)
        rows.append({
            "kind": kind, "path": path, "p50_ms": round(statistics.median(times), 1),
            "slowest_sql_p50_ms": round(statistics.median(slowest), 1),
        })  # fmt: skip
        print(f"bench: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def measure_collections(url: str, runs: int) -> list[dict]:
    from django.test import Client

    rows = []
    for path in (
        "/ogcapi/collections",
        "/ogcapi/collections/parcels",
        "/ogcapi/collections/parcels/items?limit=100",  # a first page: counted (numberMatched)
    ):
        client = Client()
        client.get(path)  # Django's own first-request costs, paid apart
        with psql_connect(url) as db:  # a write to the parcels table, as an edit makes
            db.execute("UPDATE parcels_parcel SET address = address WHERE id = 1")
        started = time.perf_counter()
        assert client.get(path).status_code == 200
        after_write = (time.perf_counter() - started) * 1000
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        rows.append({"path": path, "after_a_write_ms": round(after_write, 1),
                     "p50_ms": round(statistics.median(times), 1)})  # fmt: skip
        print(f"bench: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def markdown_collections(rows: list[dict]) -> str:
    lines = ["| OGC API | after a write, ms | then p50 ms |", "|---|---:|---:|"]
    lines += [f"| `{r['path']}` | {r['after_a_write_ms']} | {r['p50_ms']} |" for r in rows]
    return "\n".join(lines)


def markdown_staff(rows: list[dict]) -> str:
    lines = ["| staff list | path | p50 ms | slowest statement p50 ms |", "|---|---|---:|---:|"]
    lines += [f"| {r['kind']} | `{r['path']}` | {r['p50_ms']} | {r['slowest_sql_p50_ms']} |"
              for r in rows]  # fmt: skip
    return "\n".join(lines)


def markdown(rows: list[dict]) -> str:
    lines = [
        "| what is typed | query | results | HTTP p50 ms | HTTP max ms | candidate SQL p50 ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['kind']} | `{r['query']}` | {r['results']} | {r['http_p50_ms']} | "
                     f"{r['http_max_ms']} | {r['candidates_sql_p50_ms']} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--db", default="clt_bench_tiles")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--staff-runs", type=int, default=10)
    args = parser.parse_args()
    url = database_url(args.db)
    prepare(url, args.parcels)  # also migrates: the search indexes come from migrations
    ensure_trust_land(url)
    server, port = serve(url)
    try:
        rows = measure(url, port, args.runs)
        staff = measure_staff_list(args.staff_runs)
        collections = measure_collections(url, args.staff_runs)
    finally:
        server.terminate()
        server.wait(timeout=30)
    load = [round(x, 2) for x in os.getloadavg()]
    OUT.mkdir(parents=True, exist_ok=True)
    result = {"search": rows, "staff_list": staff, "collections": collections, "load_average": load}
    (OUT / "pages.json").write_text(json.dumps(result, indent=2))
    print(markdown(rows))
    print()
    print(markdown_staff(staff))
    print()
    print(markdown_collections(collections))
    print(f"\nload average at the end (1, 5, 15 min): {load}")


if __name__ == "__main__":
    main()
