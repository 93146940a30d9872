"""The map's search box at 1M parcels: what a resident types, through HTTP, beside bare SQL.

    .venv/bin/python bench/search.py              # the city of bench/tiles.py, 30 runs each

Uses the city bench/tiles.py prepares (`clt_bench_tiles`, made the first time if missing) and
serves it the same way (gunicorn, one process, four threads, a kept-alive client). For each
query: GET /map/search.json?q=... (p50 of the runs), and the candidate query alone in SQL as
`maps.search.candidate_ids` sends it (the index work; the rest of an answer is each layer's
fields for at most 30 ids). The queries are the kinds a search box gets: an exact APN, the start
of one, a whole address, a street, a common fragment, a single letter, and a typo that matches
nothing (the case a table scan makes slow).

Prints a Markdown table and writes bench/out/search.json.
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
    ("street", "Pearl Cir"),
    ("common fragment", "W M"),
    ("one letter and more", "St"),
    ("matches nothing", "zzzz no such street"),
)


def bare_sql(query: str) -> tuple[str, list]:
    """The SQL `candidate_ids` runs for `query`, captured from Django, to time without it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from maps import search

    with CaptureQueriesContext(connection) as captured:
        search.find(query, [], limit=10)
    return captured.captured_queries[-1]["sql"], []


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
                db.execute(sql).fetchall()
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
    args = parser.parse_args()
    url = database_url(args.db)
    prepare(url, args.parcels)  # also migrates: the search indexes come from migrations
    ensure_trust_land(url)
    server, port = serve(url)
    try:
        rows = measure(url, port, args.runs)
    finally:
        server.terminate()
        server.wait(timeout=30)
    load = [round(x, 2) for x in os.getloadavg()]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "search.json").write_text(json.dumps({"search": rows, "load_average": load}, indent=2))
    print(markdown(rows))
    print(f"\nload average at the end (1, 5, 15 min): {load}")


if __name__ == "__main__":
    main()
