"""What the finder's overlay filters cost, now that a lot is in an overlay only when it overlaps
it by more than TOUCHING_M (`Overlay.core_m`, the outline shrunk by 0.5 m, stored), against
plain "intersects" and the unfiltered page in the same run (BENCHMARKS.md, "Overlay filters").

    DATABASE_URL=... .venv/bin/python bench/finder_overlays.py [--streams 6] [--runs 15]

On a registry with a `clt synth` county imported and no overlay yet. The script writes two
layers as a county would publish them, EPSG:4326 GeoJSON, into bench/out/:

- flood zones: `--streams` meandering streams across the county, each buffered 80-250 m with
  ragged edges (a few thousand vertices each) and cut into FEMA-like panels 2 km wide;
- neighbourhoods: 40 Voronoi cells over the county, whose lines cut lots anywhere.

It then measures:
1. `clt import-layer` of the flood zones (made valid, transformed, `geom_m` and `core_m`
   stored), against ogr2ogr loading the same file into a bare table (PG_USE_COPY);
2. the rule itself over every vacant lot, in bare SQL: lots outside flood zones by the shrunk
   outline, and by plain ST_Intersects (the rule before), with how many lots they disagree on;
3. the finder's pages in process (HTTP adds its own floor: BENCHMARKS.md, issue 4): the first
   page by score, and the nearest 100 lots within 2 km of sample points, each with
   `outside_flood` and without; the first page of one neighbourhood;
4. what a parcel's popup asks on the public map (`/map/areas.json`: its flood zone and
   neighbourhood), through the Django test client, against one bare SQL statement answering
   the same, for sample parcels. `--popups-only` measures only the import and this.

The overlays it imports are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")

import django  # noqa: E402
import numpy as np  # noqa: E402

django.setup()

import shapely  # noqa: E402
from django.db import connection  # noqa: E402
from pyproj import Transformer  # noqa: E402

from bench.timing import p50_ms  # noqa: E402
from parcels import finder  # noqa: E402
from parcels.metric import metric_srid  # noqa: E402
from parcels.models import Overlay  # noqa: E402

OUT = ROOT / "bench" / "out"
CLT = ROOT / ".venv" / "bin" / "clt"
FLOOD_FILE, HOODS_FILE = "bench-flood-zones.geojson", "bench-neighbourhoods.geojson"
PANEL_M = 2000

VACANT = "vacancy_status = 'vacant' AND retired_at IS NULL"
OUTSIDE = f"""
SELECT count(*) FROM parcels_parcel p WHERE {VACANT} AND NOT EXISTS (
    SELECT 1 FROM parcels_overlay o WHERE o.kind = 'flood-zone'
      AND ST_Intersects(o.{{column}}, p.geom_m))
"""


def county_extent_m() -> tuple[float, float, float, float]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom_m) AS e FROM parcels_parcel WHERE retired_at IS NULL) s"
        )
        return cursor.fetchone()


def stream(extent, rng: random.Random) -> shapely.Polygon:
    """A stream crossing the county west to east, meandering, buffered to a ragged floodplain."""
    west, south, east, north = extent
    y = rng.uniform(south, north)
    points, x = [], west
    heading = 0.0
    while x < east:
        heading = max(-1.0, min(1.0, heading + rng.gauss(0, 0.25)))
        x += 40
        y = min(north, max(south, y + 40 * heading))
        points.append((x, y))
    plain = shapely.LineString(points).buffer(rng.uniform(80, 250), quad_segs=4)
    ragged = [(px + rng.gauss(0, 4), py + rng.gauss(0, 4)) for px, py in plain.exterior.coords]
    ragged[-1] = ragged[0]
    return shapely.make_valid(shapely.Polygon(ragged))


def panels(zone, extent) -> list:
    """`zone` cut into PANEL_M-wide strips, as FEMA's flood maps come in panels."""
    west, south, east, north = extent
    pieces = []
    x = west
    while x < east:
        piece = zone.intersection(shapely.box(x, south - 1000, x + PANEL_M, north + 1000))
        pieces += [g for g in getattr(piece, "geoms", [piece]) if g.geom_type == "Polygon"]
        x += PANEL_M
    return [p for p in pieces if p.area > 1]


def neighbourhoods(extent, rng: random.Random, count: int = 40) -> list:
    west, south, east, north = extent
    seeds = shapely.MultiPoint(
        [(rng.uniform(west, east), rng.uniform(south, north)) for _ in range(count)]
    )
    frame = shapely.box(west, south, east, north)
    cells = shapely.voronoi_polygons(seeds, extend_to=frame)
    return [cell.intersection(frame) for cell in cells.geoms]


def write_layer(path: Path, polygons: list, prefix: str) -> None:
    to_degrees = Transformer.from_crs(metric_srid(), 4326, always_xy=True)

    def degrees(xy):
        return np.column_stack(to_degrees.transform(xy[:, 0], xy[:, 1]))

    features = [
        {"type": "Feature", "properties": {"name": f"{prefix} {n}"},
         "geometry": shapely.geometry.mapping(shapely.transform(polygon, degrees))}
        for n, polygon in enumerate(polygons, start=1)
    ]  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def timed(command: list[str], env: dict | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started


def ogr2ogr_s(path: Path) -> float:
    db = connection.settings_dict
    pg = (f"PG:host={db['HOST']} port={db['PORT']} dbname={db['NAME']} user={db['USER']} "
          f"password={db['PASSWORD']}")  # fmt: skip
    seconds = timed(["ogr2ogr", "-f", "PostgreSQL", pg, str(path), "-nln", "bench_bare_flood",
                     "-overwrite"], env={**os.environ, "PG_USE_COPY": "YES"})  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_bare_flood")
    return seconds


def startup_s() -> float:
    return timed([str(CLT), "import-layer", "--help"])


def bare(sql: str) -> tuple[int, float]:
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        started = time.perf_counter()
        cursor.execute(sql)
        (count,) = cursor.fetchone()
        return count, (time.perf_counter() - started) * 1000


def sample_points(count: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p
                FROM parcels_parcel WHERE {VACANT} AND id %% 997 = 0 ORDER BY id LIMIT %s) s""",
            [count],
        )
        return [f"{x},{y}" for x, y in cursor.fetchall()]


def pages(params: list[dict], runs: int) -> float:
    """p50 in ms of the finder's page for each of `params` in turn, `runs` rounds."""
    times = []
    for _ in range(runs):
        for p in params:
            started = time.perf_counter()
            finder.vacant_lots_json(p)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=6)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--popups-only", action="store_true")
    args = parser.parse_args()
    if Overlay.objects.exists():
        sys.exit("this registry has overlays already: run on one without (a synth county)")
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    extent = county_extent_m()
    zones = [piece for _ in range(args.streams) for piece in panels(stream(extent, rng), extent)]
    write_layer(OUT / FLOOD_FILE, zones, "AE")
    write_layer(OUT / HOODS_FILE, neighbourhoods(extent, rng), "Ward")
    vertices = sum(shapely.get_num_coordinates(z) for z in zones)

    reference_s = ogr2ogr_s(OUT / FLOOD_FILE)
    try:
        import_s = timed([str(CLT), "import-layer", str(OUT / FLOOD_FILE), "--kind",
                          "flood-zone", "--quiet"])  # fmt: skip
        hoods_s = timed([str(CLT), "import-layer", str(OUT / HOODS_FILE), "--kind",
                         "neighbourhood", "--quiet"])  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE parcels_overlay")
        report_import(len(zones), vertices, import_s, reference_s)
        print(f"clt import-layer of 40 neighbourhoods {hoods_s:7.2f} s (the command's start-up: "
              f"{startup_s():.2f} s for clt import-layer --help)")
        if not args.popups_only:
            report_rule()
            report_pages(args.runs)
        report_popup_areas(args.runs)
    finally:
        Overlay.objects.filter(source_file__in=(FLOOD_FILE, HOODS_FILE)).delete()


def report_import(zones: int, vertices: int, import_s: float, reference_s: float) -> None:
    print(f"flood zones: {zones} polygons, {vertices:,} vertices")
    print(f"clt import-layer --kind flood-zone   {import_s:7.2f} s  "
          f"(x{import_s / reference_s:.2f} ogr2ogr's {reference_s:.2f} s into a bare table)")


def report_rule(runs: int = 5) -> None:
    """Each rule `runs` times, alternating (the machine's drift falls on both), p50 in ms."""
    bare(OUTSIDE.format(column="core_m"))  # warm
    times: dict[str, list[float]] = {"core_m": [], "geom_m": []}
    counts = {}
    for _ in range(runs):
        for column, samples in times.items():
            counts[column], ms = bare(OUTSIDE.format(column=column))
            samples.append(ms)
    core_ms, touch_ms = (statistics.median(times[c]) for c in ("core_m", "geom_m"))
    vacant, _ = bare(f"SELECT count(*) FROM parcels_parcel WHERE {VACANT}")
    print(f"vacant lots: {vacant:,}; each rule {runs} times, alternating")
    core, touch = counts["core_m"], counts["geom_m"]
    print(f"outside flood zones, shrunk outline   {core:,} lots, p50 {core_ms:5.0f} ms")
    print(f"outside flood zones, plain intersects {touch:,} lots, p50 {touch_ms:5.0f} ms "
          f"(x{core_ms / touch_ms:.2f}; {core - touch:,} lots only touch or lap < 0.5 m)")


def touching_rule(self, kind: str):
    """The rule before Overlay.core_m, for comparison: out when an overlay meets the lot."""
    from django.db.models import Exists, OuterRef

    overlays = Overlay.objects.filter(kind=kind, geom_m__intersects=OuterRef("geom_m"))
    return self.exclude(Exists(overlays))


def report_pages(runs: int) -> None:
    from parcels.queries import ParcelQuerySet

    hood = Overlay.objects.filter(kind="neighbourhood").order_by("name").first().name
    near = [{"near": point, "within_m": "2000", "limit": "100", "order": "distance"}
            for point in sample_points(20)]  # fmt: skip
    flooded = [{**p, "outside_flood": "1"} for p in near]
    for params in ({}, {"outside_flood": "1"}, {"neighbourhood": hood}, *near, *flooded):
        finder.vacant_lots_json(params)  # warm
    plain = p50_ms(lambda: finder.vacant_lots_json({}), runs)
    outside = p50_ms(lambda: finder.vacant_lots_json({"outside_flood": "1"}), runs)
    in_hood = p50_ms(lambda: finder.vacant_lots_json({"neighbourhood": hood}), runs)
    rounds = max(1, runs // 5)
    near_ms, near_outside_ms = pages(near, rounds), pages(flooded, rounds)
    shrunk_rule = ParcelQuerySet.outside_overlays
    ParcelQuerySet.outside_overlays = touching_rule
    try:
        near_touching_ms = pages(flooded, rounds)
        touching_ms = p50_ms(lambda: finder.vacant_lots_json({"outside_flood": "1"}), runs)
    finally:
        ParcelQuerySet.outside_overlays = shrunk_rule
    plain_after = p50_ms(lambda: finder.vacant_lots_json({}), runs)
    base = (plain + plain_after) / 2
    print(f"first page by score                  p50 {plain:7.1f} ms, {plain_after:.1f} after")
    print(f"  outside_flood                      p50 {outside:7.1f} ms (x{outside / base:.2f}; "
          f"the rule before: {touching_ms:.1f} ms)")
    print(f"  neighbourhood={hood!r:<12}          p50 {in_hood:7.1f} ms (x{in_hood / base:.2f})")
    print(f"nearest 100 within 2 km, {len(near)} points   p50 {near_ms:7.1f} ms")
    print(f"  outside_flood                      p50 {near_outside_ms:7.1f} ms "
          f"(x{near_outside_ms / near_ms:.2f}; the rule before: {near_touching_ms:.1f} ms, "
          f"x{near_touching_ms / near_ms:.2f})")


# The same question as maps.areas, in one statement: the overlays a parcel lies in.
POPUP_AREAS_SQL = """
    SELECT o.kind, o.name FROM parcels_parcel p
    JOIN parcels_overlay o ON o.core_m && p.geom_m AND ST_Intersects(o.core_m, p.geom_m)
    WHERE upper(p.apn) = upper(%s) AND p.apn = %s AND p.retired_at IS NULL"""


def report_popup_areas(runs: int, parcels: int = 50) -> None:
    """A popup's areas for `parcels` sample parcels, each `runs` times: p50 over all, in ms."""
    from django.test import Client

    with connection.cursor() as cursor:
        cursor.execute("SELECT apn FROM parcels_parcel TABLESAMPLE SYSTEM (1) REPEATABLE (7) "
                       "WHERE retired_at IS NULL LIMIT %s", [parcels])  # fmt: skip
        apns = [apn for (apn,) in cursor.fetchall()]
    client = Client(HTTP_HOST="127.0.0.1")

    def app(apn: str) -> None:
        response = client.get("/map/areas.json", {"apn": apn})
        assert response.status_code == 200, response.content

    def sql(apn: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(POPUP_AREAS_SQL, [apn, apn])
            cursor.fetchall()

    for apn in apns:
        app(apn), sql(apn)  # warm
    app_ms = statistics.median(p50_ms(lambda a=apn: app(a), runs) for apn in apns)
    sql_ms = statistics.median(p50_ms(lambda a=apn: sql(a), runs) for apn in apns)
    print(f"popup areas, {len(apns)} parcels: GET /map/areas.json p50 {app_ms:6.2f} ms, "
          f"one bare statement {sql_ms:6.2f} ms (x{app_ms / sql_ms:.1f})")


if __name__ == "__main__":
    main()
