"""Assemblages measured whole, and the finder ordered by score, each against its reference in
the same run (BENCHMARKS.md, "Whole groups and the score-ordered finder").

    DATABASE_URL=... .venv/bin/python bench/finder_whole_groups.py [--windows 15] [--runs 7]

On a registry with a `clt synth` county imported and some of it held. Two comparisons:

1. `parcels.queries.assemblages` in 1 km² windows centred on held parcels (it follows each group
   beyond the window) against the bare clustering of the window's own lots (ST_ClusterDBSCAN
   over them, grouped: the old query's core, which cut groups at the window's edge), with how
   many lots each answer counts.
2. The finder's first page ordered by score (`vacant_lots_json`, "adjoins trust land" asked
   once from the trust land) against the same page scored by a probe per lot, the old way.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")

import django  # noqa: E402

django.setup()

from django.contrib.gis.geos import Point  # noqa: E402
from django.db import connection  # noqa: E402

from parcels import finder, queries  # noqa: E402
from parcels.models import METRIC_SRID  # noqa: E402
from parcels.queries import TOUCHING_M, Window, assemblages, without_jit  # noqa: E402

BARE_CUT_CLUSTERS = f"""
    SELECT count(*), sum(lots) FROM (
        SELECT cluster, count(*) AS lots FROM (
            SELECT ST_ClusterDBSCAN(geom_m, eps := %s, minpoints := 1) OVER () AS cluster
            FROM parcels_parcel
            WHERE vacancy_status = 'vacant' AND retired_at IS NULL
              AND geom_m && ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, 4326), {METRIC_SRID})
        ) lots GROUP BY cluster HAVING count(*) >= 2
    ) groups
"""


def ms(run) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def windows(count: int) -> list[tuple[float, float, float, float]]:
    """1 km² boxes (EPSG:4326) centred on held parcels, spread over the registry."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(p.geom_m) c FROM "
            "parcels_holdingparcel hp JOIN parcels_parcel p ON p.id = hp.parcel_id "
            "WHERE hp.ended_on IS NULL ORDER BY md5(hp.id::text) LIMIT %s) s", [count]
        )  # fmt: skip
        centres = cursor.fetchall()
    boxes = []
    for x, y in centres:
        low = Point(x - 500, y - 500, srid=METRIC_SRID)
        high = Point(x + 500, y + 500, srid=METRIC_SRID)
        low.transform(4326), high.transform(4326)
        boxes.append((low.x, low.y, high.x, high.y))
    return boxes


def app_groups(box, found: list) -> None:
    found[:] = assemblages(TOUCHING_M, min_lots=2, window=Window(box))


def cut_groups(box, found: list) -> None:
    with without_jit(), connection.cursor() as cursor:
        cursor.execute(BARE_CUT_CLUSTERS, [TOUCHING_M, *box])
        found[:] = cursor.fetchone()


def compare_assemblages(boxes, runs: int) -> None:
    app, bare, lots_app, lots_bare = [], [], 0, 0
    for box in boxes:
        whole, cut = [], []
        for _ in range(runs):
            app.append(ms(functools.partial(app_groups, box, whole)))
            bare.append(ms(functools.partial(cut_groups, box, cut)))
        lots_app += sum(group["lots"] for group in whole)
        lots_bare += cut[1] or 0
    a, b = statistics.median(app), statistics.median(bare)
    print(f"assemblages, 1 km², {len(boxes)} windows x {runs}: app p50 {a:.1f} ms, bare cut "
          f"clustering p50 {b:.1f} ms, ratio {a / b:.2f}; lots in groups: {lots_app} whole, "
          f"{lots_bare} cut")  # fmt: skip


def compare_score_order(runs: int) -> None:
    set_way, probe_way = [], []
    original = queries.ParcelQuerySet.with_score
    probed = lambda self, on=None, every_lot=False: original(self, on)  # noqa: E731
    for _ in range(runs):
        set_way.append(ms(lambda: finder.vacant_lots_json({})))
        queries.ParcelQuerySet.with_score = probed
        try:
            probe_way.append(ms(lambda: finder.vacant_lots_json({})))
        finally:
            queries.ParcelQuerySet.with_score = original
    a, b = statistics.median(set_way), statistics.median(probe_way)
    print(f"finder first page by score, {runs} runs: from the trust land p50 {a:.0f} ms, a probe "
          f"per lot p50 {b:.0f} ms, ratio {a / b:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=15)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE vacancy_status = 'vacant') "
                       "FROM parcels_parcel WHERE retired_at IS NULL")  # fmt: skip
        parcels, vacant = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM parcels_holdingparcel WHERE ended_on IS NULL")
        held = cursor.fetchone()[0]
    print(f"{parcels:,} parcels, {vacant:,} vacant, {held:,} held")
    compare_assemblages(windows(args.windows), args.runs)
    compare_score_order(args.runs)


if __name__ == "__main__":
    main()
