"""This checkout's layers against another revision's, as tiles, interleaved, in bare SQL.

    .venv/bin/python bench/layer_sql_ab.py --against HEAD~1 --runs 20

For a change to `maps/layers.py` (what a layer selects: which parcels the trust holds, the
lease in force): the same tiles built by this checkout's `maps.tiles.tile_sql` from both
revisions' layers, run alternately through one psycopg connection with JIT off, as the endpoint
runs them, on the city of bench/tiles.py (`clt_bench_tiles`, which that script makes). Only
`maps/layers.py` is taken from the other revision; the models and `maps/tiles.py` are this
checkout's (its sibling, bench/tile_sql_ab.py, swaps `maps/tiles.py` instead).
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
    ("trust-land", (14, 4086, 6637)),
    ("trust-land", (16, 16345, 26549)),
    ("available", (12, 1021, 1659)),
    ("vacant-lots", (12, 1021, 1659)),
    ("vacant-lots", (14, 4086, 6637)),
    ("vacant-lots", (16, 16345, 26549)),
    ("leases", (12, 1021, 1659)),
    ("leases", (14, 4086, 6637)),
)


def compiled(tiles, layer):
    """`layer` compiled as `maps.tiles.compiled_layer` compiles it (no day or versions: the
    ETag is not timed here), with its parts when it is made of parcels (the leases, since
    they are one feature per lease; a revision before that has no `parts_sql`)."""
    sql, params = tiles.unordered(layer).select_sql()
    parts = layer.parts_sql() if hasattr(layer, "parts_sql") else None
    return tiles.CompiledLayer(layer, sql, tuple(params), frozenset(), parts)


def main() -> None:
    args = ab_arguments(__doc__.split("\n")[0], runs=20)
    from django.db import connection

    from maps import layers as this
    from maps import tiles

    other = module_at(args.against, "maps/layers.py")
    print(f"| layer | tile | bytes | {args.against} ms | this checkout ms | ratio |")
    print("|---|---|---:|---:|---:|---:|")
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        for name, (z, x, y) in TILES:
            both = {"this": this.get_layer(name), "other": other.get_layer(name)}
            if None in both.values():
                continue
            address = tiles.TileAddress(z, x, y)
            queries = {
                label: tiles.tile_sql(compiled(tiles, layer), address)
                for label, layer in both.items()
            }
            timed = medians_alternating(cursor, args.runs, queries)
            (before, old_tile), (after, tile) = timed["other"], timed["this"]
            sizes = {"other": len(old_tile or b""), "this": len(tile or b"")}
            was = sizes["other"]
            same = "" if sizes["this"] == was else f" (was {was:,} B)"
            print(
                f"| {name} | {z}/{x}/{y} | {sizes['this']:,} B{same} | {before:.1f} | "
                f"{after:.1f} | {after / before:.2f} |"
            )


if __name__ == "__main__":
    main()
