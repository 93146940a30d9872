"""The tile SQL of this checkout against that of another revision, interleaved, in bare SQL.

    .venv/bin/python bench/tile_sql_ab.py --against HEAD~1 --runs 20

For a change to `maps/tiles.py`: both versions' `tile_sql` for the same tiles of the city of
bench/tiles.py (`clt_bench_tiles`, which that script makes), run alternately through one
psycopg connection with JIT off, as the endpoint runs them. Alternating in one process is what
makes a 5% difference visible on a machine whose load moves absolute times by 30%.
Only `maps/tiles.py` is taken from the other revision; the layers are this checkout's.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.revision import ab_arguments, medians_alternating, module_at  # noqa: E402

TILES = (
    ("trust-land", (8, 63, 103)),
    ("trust-land", (10, 255, 414)),
    ("trust-land", (12, 1021, 1659)),
    ("parcels", (12, 1021, 1659)),
    ("vacant-lots", (12, 1021, 1659)),
    ("parcels", (14, 4086, 6637)),
    ("parcels", (16, 16345, 26549)),
)


def main() -> None:
    args = ab_arguments(__doc__.split("\n")[0], runs=20)
    from django.db import connection

    from maps import tiles as this

    other = module_at(args.against, "maps/tiles.py")
    print(f"| layer | tile | {args.against} ms | this checkout ms | ratio |")
    print("|---|---|---:|---:|---:|")
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        for name, (z, x, y) in TILES:
            queries = {
                label: module.tile_sql(module.compiled_layer(name), module.TileAddress(z, x, y))
                for label, module in (("this", this), ("other", other))
            }
            timed = medians_alternating(cursor, args.runs, queries)
            (before, _), (after, _) = timed["other"], timed["this"]
            print(f"| {name} | {z}/{x}/{y} | {before:.1f} | {after:.1f} | {after / before:.2f} |")

if __name__ == "__main__":
    main()
