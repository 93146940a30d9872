"""What the searches' fold costs PostgreSQL: a scan of every address, and a trigram index build.

    .venv/bin/python bench/fold_sql.py --runs 7

On the city of bench/tiles.py (`clt_bench_tiles`, which that script makes): each expression
folds the million addresses in one scan with no index (`LIKE` a word that is nowhere, so every
row is folded and none kept), alternating, p50 of the runs; then each builds a trigram GIN
index on the addresses and on the owners, alternating, with the memory a first import gives
its index builds (parcels.importing), and drops it. The expressions are
migration 0010's (upper case, apostrophes dropped), an accent fold applied to every row, and
`parcels.folding.FOLD_SQL` (the accent fold only where a value is not plain ASCII).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.tiles import database_url, psql_connect  # noqa: E402
from parcels.folding import FOLD_SQL  # noqa: E402

EVERY_ROW = (
    "upper(regexp_replace(normalize({0}, NFKD), "
    r"'[''\u2019\u2018\u02bc\u0300-\u036f]', '', 'g'))"
)


def expressions() -> dict[str, str]:
    before = importlib.import_module("parcels.migrations.0010_folded_search_indexes").FOLD_SQL
    return {
        "0010: upper(), four replace()s": before,
        "accents folded on every row": EVERY_ROW,
        "FOLD_SQL: accents folded where not ASCII": FOLD_SQL,
    }


def scan_ms(db, expression: str) -> float:
    started = time.perf_counter()
    db.execute(f"SELECT count(*) FROM parcels_parcel WHERE {expression.format('address')} "
               "LIKE '%ZZZQXJ%'").fetchone()  # fmt: skip
    return (time.perf_counter() - started) * 1000


def build_s(db, expression: str, column: str) -> float:
    started = time.perf_counter()
    db.execute(f"CREATE INDEX bench_fold_trgm ON parcels_parcel USING gin "
               f"(({expression.format(column)}) gin_trgm_ops)")  # fmt: skip
    elapsed = time.perf_counter() - started
    db.execute("DROP INDEX bench_fold_trgm")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--builds", type=int, default=2)
    parser.add_argument("--db", default="clt_bench_tiles")
    args = parser.parse_args()
    folds = expressions()
    with psql_connect(database_url(args.db)) as db:
        # One backend, no parallel workers and no JIT: the cost of the expression itself.
        db.execute("SET max_parallel_workers_per_gather = 0")
        db.execute("SET jit = off")
        db.execute("SET enable_bitmapscan = off")
        db.execute("SET enable_indexscan = off")
        scans: dict[str, list[float]] = {name: [] for name in folds}
        for run in range(args.runs):
            for name in list(folds)[:: 1 if run % 2 else -1]:
                scans[name].append(scan_ms(db, folds[name]))
        print("| expression | scan of 1M addresses, p50 ms |\n|---|---:|")
        for name, times in scans.items():
            print(f"| {name} | {statistics.median(times):.0f} |", flush=True)
        db.execute("SET maintenance_work_mem = '512MB'")  # as a first import builds them
        print("\n| expression | column | index build s |\n|---|---|---:|")
        for run in range(args.builds):
            for name in list(folds)[:: 1 if run % 2 else -1]:
                for column in ("address", "owner_of_record"):
                    seconds = build_s(db, folds[name], column)
                    print(f"| {name} | {column} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
