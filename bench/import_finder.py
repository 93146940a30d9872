"""Import and finder benchmark (issue 4) on a synthetic city.

    .venv/bin/python bench/import_finder.py                        # 1,000,000 parcels
    .venv/bin/python bench/import_finder.py --parcels 50000 --runs 20   # a quick look

1. `clt synth` writes the city once (bench/out/city-<N>-seed<S>.gpkg, EPSG:2255, kept).
2. A fresh database `clt_bench_import` on the project's PostGIS (or --db), migrated.
3. In the same run, one after the other on the same file:
   - ogr2ogr -f PostgreSQL -t_srs EPSG:4326 with PG_USE_COPY=YES into a bare table (GDAL's
     defaults: a GiST index, no validation, no history);
   - `clt import-parcels` into the empty registry (validation, repair, upsert, history, all
     indexes), then the same file again, three times (every row unchanged; the median counts);
   peak resident memory of the import process from getrusage.
4. One parcel in 200 becomes trust land (holdings written by SQL), then ANALYZE.
5. Finder: the nearest 100 vacant lots within 2 km of a point, at least 300 m²:
   - HTTP: GET /api/vacant-lots through gunicorn (1 worker) with a staff session cookie;
   - in-process: parcels.finder.vacant_lots_json (ORM + the GeoJSON-building SQL);
   - bare SQL: the KNN query alone by psycopg (what the index design buys).
6. Adjacency to holdings and assemblages in square windows of 0.25 to 64 km² and the whole
   city (tolerance 2 m), p50 over random windows centred on trust land.

Prints Markdown and writes bench/out/import_finder.json. Bounded to minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable
CLT = [PYTHON, "-m", "clt.cli"]
DB_NAME = "clt_bench_import"


def main() -> None:
    args = _arguments()
    OUT.mkdir(parents=True, exist_ok=True)
    city = OUT / f"city-{args.parcels}-seed{args.seed}.gpkg"
    if not city.exists():
        _run([*CLT, "synth", "--parcels", str(args.parcels), "--seed", str(args.seed),
              "-o", str(city), "--quiet"])  # fmt: skip
    url = args.db or _fresh_database()
    env = {**os.environ, "DATABASE_URL": url}
    _run([*CLT, "migrate"], env=env)
    results: dict = {"parcels": args.parcels, "file_mb": round(city.stat().st_size / 1e6, 1),
                     "load_average_at_start": os.getloadavg()[0]}  # fmt: skip
    results["ogr2ogr_s"] = _ogr2ogr(city, url)
    results["import_s"], results["import_peak_mb"], first = _import(city, env)
    # The same file again, a few times: a re-import takes seconds, so noise weighs on one run.
    again = [_import(city, env) for _ in range(args.reimports)]
    results["reimport_runs_s"] = [round(seconds, 2) for seconds, _, _ in again]
    results["reimport_s"] = statistics.median(results["reimport_runs_s"])
    results["reimport_peak_mb"] = max(peak for _, peak, _ in again)
    results["import_summary"], results["reimport_summary"] = first, again[-1][2]
    results["import_ratio"] = results["import_s"] / results["ogr2ogr_s"]
    results["reimport_ratio"] = results["reimport_s"] / results["ogr2ogr_s"]
    print(json.dumps(results, indent=2), flush=True)  # the slow half, kept if a later step fails

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")
    import django

    django.setup()
    _make_holdings()
    results["finder"] = _finder(env, args.runs)
    results["windows"] = _windows(args.runs)
    results["load_average_at_end"] = os.getloadavg()[0]
    (OUT / "import_finder.json").write_text(json.dumps(results, indent=2))
    print(_markdown(results))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=50, help="queries per measurement")
    parser.add_argument("--reimports", type=int, default=3,
                        help="re-imports of the same file (the median is reported)")
    parser.add_argument("--db", help="DATABASE_URL of an empty database to use instead")
    return parser.parse_args()


def _run(command: list[str], env: dict | None = None) -> str:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stderr


def _fresh_database() -> str:
    sys.path.insert(0, str(ROOT))
    from clt import localdb

    localdb.start(log=lambda m: None)
    base = localdb.connection()
    admin = base.url.replace("postgis://", "postgresql://", 1)
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    bench = admin.rsplit("/", 1)[0] + f"/{DB_NAME}"
    with psycopg.connect(bench, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return bench.replace("postgresql://", "postgis://", 1)


def _ogr2ogr(city: Path, url: str) -> float:
    u = urlparse(url)
    pg = (f"PG:host={u.hostname} port={u.port} dbname={u.path.lstrip('/')} "
          f"user={u.username} password={u.password}")  # fmt: skip
    command = ["ogr2ogr", "-f", "PostgreSQL", pg, str(city), "parcels", "-nln", "ogr_parcels",
               "-t_srs", "EPSG:4326", "-overwrite"]  # fmt: skip
    started = time.perf_counter()
    _run(command, env={**os.environ, "PG_USE_COPY": "YES"})
    return time.perf_counter() - started


def _import(city: Path, env: dict) -> tuple[float, float, str]:
    """Wall time, peak resident memory (MB) of the import process, and its summary line."""
    log_path = OUT / "import.log"
    command = [*CLT, "import-parcels", str(city), "--quiet", "--rejects-dir", str(OUT)]
    with log_path.open("w") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    text = log_path.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"import failed:\n{text}")
    summary = next(line for line in text.splitlines() if "imported" in line)
    return elapsed, round(usage.ru_maxrss / 1024), summary.removeprefix("clt: ")


def _make_holdings() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM parcels_holdingparcel; DELETE FROM parcels_holding;")
        cursor.execute(
            """WITH chosen AS (
                   SELECT id FROM parcels_parcel WHERE id % 200 = 0 AND retired_at IS NULL),
               made AS (
                   INSERT INTO parcels_holding (name, current_use, acquired_via, acquired_on,
                       price, deed_reference, available, notes)
                   SELECT 'Holding ' || id, 'held_vacant', 'tax_forfeit_patent', '2020-01-01',
                          0, '', false, 'bench:' || id FROM chosen
                   RETURNING id, notes)
               INSERT INTO parcels_holdingparcel (holding_id, parcel_id, began_on)
               SELECT made.id, substr(made.notes, 7)::bigint, '2020-01-01' FROM made"""
        )
        cursor.execute("ANALYZE")


def _sample_points(count: int) -> list[tuple[float, float]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT ST_X(p), ST_Y(p) FROM (
                   SELECT ST_PointOnSurface(geom) AS p FROM parcels_parcel
                   WHERE id %% 997 = 0 AND geom IS NOT NULL ORDER BY id LIMIT %s) s""",
            [count],
        )
        return cursor.fetchall()


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
        "runs": len(ordered),
    }


def _finder(env: dict, runs: int) -> dict:
    from django.db import connection

    from parcels import finder

    points = _sample_points(runs)
    params = [{"near": f"{x},{y}", "within_m": "2000", "min_area_m2": "300", "limit": "100",
               "order": "distance"} for x, y in points]  # fmt: skip
    in_process, bare, counts = [], [], []
    for p in params[:5]:
        finder.vacant_lots_json(p)  # warm the caches
    for p in params:
        started = time.perf_counter()
        body = finder.vacant_lots_json(p)
        in_process.append(time.perf_counter() - started)
        counts.append(len(json.loads(body)["features"]))
    point = "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 26995)"
    # What the finder runs: a KNN scan of the partial index, cut at the distance afterwards.
    knn = f"""SELECT * FROM (
                  SELECT id, apn, geom_m <-> {point} AS distance_m FROM parcels_parcel
                  WHERE vacancy_status = 'vacant' AND retired_at IS NULL AND area_m2 >= 300
                  ORDER BY geom_m <-> {point} LIMIT 100) nearest
              WHERE distance_m <= 2000"""
    # The obvious query: a distance filter on the same index, then sort what it found.
    dwithin = f"""SELECT id, apn, geom_m <-> {point} AS distance_m FROM parcels_parcel
                  WHERE vacancy_status = 'vacant' AND retired_at IS NULL AND area_m2 >= 300
                    AND ST_DWithin(geom_m, {point}, 2000)
                  ORDER BY distance_m LIMIT 100"""
    dwithin_times = []
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")  # as the finder does (parcels.queries.without_jit)
        for x, y in points:
            for sql, times in ((knn, bare), (dwithin, dwithin_times)):
                started = time.perf_counter()
                cursor.execute(sql, [x, y, x, y])
                cursor.fetchall()
                times.append(time.perf_counter() - started)
    http_times = _http(env, params)
    return {
        "http": _percentiles(http_times),
        "in_process": _percentiles(in_process),
        "bare_knn_sql": _percentiles(bare),
        "bare_dwithin_sql": _percentiles(dwithin_times),
        "lots_per_answer_p50": statistics.median(counts),
    }


def _staff_cookie() -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    user, _ = User.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"sessionid={session.session_key}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(env: dict, params: list[dict]) -> list[float]:
    cookie = _staff_cookie()
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "clt.wsgi", "-b", f"127.0.0.1:{port}", "-w",
         "1", "--log-level", "warning"],
        cwd=ROOT, env={**env, "CLT_ALLOWED_HOSTS": "127.0.0.1"},
    )  # fmt: skip
    try:
        conn = _connect(port)
        headers = {"Cookie": cookie, "Host": "127.0.0.1"}
        times = []
        for p in params[:5] + params:
            started = time.perf_counter()
            conn.request("GET", f"/api/vacant-lots?{urlencode(p)}", headers=headers)
            response = conn.getresponse()
            response.read()
            times.append(time.perf_counter() - started)
            if response.status != 200:
                sys.exit(f"HTTP {response.status} from /api/vacant-lots")
        return times[5:]
    finally:
        server.terminate()
        server.wait(timeout=10)


def _connect(port: int) -> http.client.HTTPConnection:
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return conn
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _windows(runs: int) -> list[dict]:
    from django.db import connection

    from parcels.queries import Window, assemblages, touching_holdings

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT ST_X(c), ST_Y(c) FROM (
                   SELECT ST_Centroid(p.geom_m) AS c FROM parcels_holdingparcel hp
                   JOIN parcels_parcel p ON p.id = hp.parcel_id ORDER BY hp.id) s"""
        )
        centres = cursor.fetchall()
    random.Random(4).shuffle(centres)
    rows = []
    for side_km in (0.5, 1, 2, 4, 8, None):
        repeat = max(3, runs // 2) if side_km and side_km <= 2 else 3
        adjacency, clusters, found = [], [], []
        for x, y in centres[:repeat]:
            window = _window(x, y, side_km) if side_km else Window()
            started = time.perf_counter()
            lots = touching_holdings(2.0, window=window)
            adjacency.append(time.perf_counter() - started)
            started = time.perf_counter()
            groups = assemblages(2.0, min_lots=2, window=window)
            clusters.append(time.perf_counter() - started)
            found.append((len(lots), len(groups)))
        rows.append({
            "window_km2": side_km**2 if side_km else "whole city",
            "adjacency": _percentiles(adjacency),
            "assemblages": _percentiles(clusters),
            "adjacent_lots_p50": statistics.median(f[0] for f in found),
            "assemblages_p50": statistics.median(f[1] for f in found),
        })  # fmt: skip
    return rows


def _window(x: float, y: float, side_km: float):
    from django.contrib.gis.geos import Point

    from parcels.queries import Window

    half = side_km * 500
    corners = [Point(x - half, y - half, srid=26995), Point(x + half, y + half, srid=26995)]
    for corner in corners:
        corner.transform(4326)
    return Window((corners[0].x, corners[0].y, corners[1].x, corners[1].y))


def _markdown(r: dict) -> str:
    f = r["finder"]
    lines = [
        f"{r['parcels']:,} parcels ({r['file_mb']} MB GeoPackage, EPSG:2255); 1-minute load "
        f"average {r['load_average_at_start']:.1f} at start, {r['load_average_at_end']:.1f} at end",
        "",
        "| step | time | vs ogr2ogr |",
        "| --- | --- | --- |",
        f"| ogr2ogr -t_srs EPSG:4326, PG_USE_COPY=YES, bare table | {r['ogr2ogr_s']:.1f} s | 1 |",
        f"| clt import-parcels, empty registry | {r['import_s']:.1f} s "
        f"(peak {r['import_peak_mb']:.0f} MB) | {r['import_ratio']:.2f}× |",
        f"| clt import-parcels, same file again (median of "
        f"{', '.join(f'{s:.2f}' for s in r['reimport_runs_s'])} s; peak "
        f"{r['reimport_peak_mb']:.0f} MB) | {r['reimport_s']:.2f} s | "
        f"{r['reimport_ratio']:.2f}× |",
        "",
        f"first: {r['import_summary']}",
        f"again: {r['reimport_summary']}",
        "",
        "| finder: nearest 100 vacant lots ≥ 300 m² within 2 km | p50 | p95 |",
        "| --- | --- | --- |",
        f"| HTTP GET /api/vacant-lots (gunicorn, 1 worker) | {f['http']['p50_ms']} ms | "
        f"{f['http']['p95_ms']} ms |",
        f"| in-process (ORM + GeoJSON in SQL) | {f['in_process']['p50_ms']} ms | "
        f"{f['in_process']['p95_ms']} ms |",
        f"| bare SQL, KNN (`<->`) on the partial index, cut at 2 km | "
        f"{f['bare_knn_sql']['p50_ms']} ms | {f['bare_knn_sql']['p95_ms']} ms |",
        f"| bare SQL, ST_DWithin 2 km then sort (for contrast) | "
        f"{f['bare_dwithin_sql']['p50_ms']} ms | {f['bare_dwithin_sql']['p95_ms']} ms |",
        "",
        "| window | adjacency p50 | assemblages p50 | lots touching trust land | assemblages |",
        "| --- | --- | --- | --- | --- |",
    ]
    for w in r["windows"]:
        size = w["window_km2"] if isinstance(w["window_km2"], str) else f"{w['window_km2']:g} km²"
        lines.append(
            f"| {size} | {w['adjacency']['p50_ms']} ms | {w['assemblages']['p50_ms']} ms | "
            f"{w['adjacent_lots_p50']:g} | {w['assemblages_p50']:g} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
