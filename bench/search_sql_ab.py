"""The map search's candidate SQL of this checkout against another revision's, interleaved.

    .venv/bin/python bench/search_sql_ab.py --against HEAD~1 --runs 15

For a change to `maps/search.py`: each version's `candidate_ids` is run once through Django to
capture the statements it sends for a query (one, or two when the words together find nothing
and it looks for them apart), then both versions' statements are timed alternately through one
psycopg connection on the city of bench/tiles.py (`clt_bench_tiles`). Only `maps/search.py` is
taken from the other revision. The queries are the short and the ordinary kinds a search box
gets, rare and common, and the worst ones a sweep of random short queries found.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.revision import ab_arguments, module_at  # noqa: E402
from bench.tiles import psql_connect  # noqa: E402

QUERIES = ("QZ", "Q7", "Pe", "St", "12", "W M", "E P", "1 A", "ST ST", "Pearl Cir",
           "4093 E Pearl Cir", "1 CIR", "Z AVE", "LN CIR N", "Pearl Cir 4093",
           "4093 E Pearl Circle.", "zzzz no such street")  # fmt: skip


def statements(module, query: str) -> str:
    """The candidate statements `module.candidate_ids` sends for `query`, as one SQL text."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        module.candidate_ids(query, limit=30)
    return ";\n".join(q["sql"] for q in captured.captured_queries if "MATERIALIZED" in q["sql"])


def timed(db, sql: str) -> float:
    started = time.perf_counter()
    cursor = db.execute(sql)
    while cursor.nextset():  # two statements: read both
        pass
    return (time.perf_counter() - started) * 1000


def main() -> None:
    args = ab_arguments(__doc__.split("\n")[0], runs=15)
    from maps import search as this

    other = module_at(args.against, "maps/search.py")
    print(f"| query | {args.against} ms | this checkout ms |")
    print("|---|---:|---:|")
    with psql_connect(args.url) as db:
        for query in QUERIES:
            sql = {"this": statements(this, query), "other": statements(other, query)}
            times: dict[str, list[float]] = {"this": [], "other": []}
            for run in range(args.runs):
                for label in ("this", "other") if run % 2 else ("other", "this"):
                    times[label].append(timed(db, sql[label]))
            before, after = statistics.median(times["other"]), statistics.median(times["this"])
            print(f"| `{query}` | {before:.2f} | {after:.2f} |", flush=True)


if __name__ == "__main__":
    main()
