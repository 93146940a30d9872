"""Load benchmark (issue 7): the public map's tiles and the OGC API items under concurrent load.

    .venv/bin/python bench/load.py                        # 100,000 parcels, 15 s per run
    .venv/bin/python bench/load.py --parcels 20000 --seconds 5   # a quick look

1. The city: as bench/tiles.py (`clt synth`, `clt import-parcels`, one parcel in 100 made trust
   land), in a database of its own (`clt_bench_load`).
2. The app as in production: gunicorn (gthread workers) with `clt.production` settings and a
   psycopg pool per worker (CLT_DB_POOL = threads), plain HTTP on 127.0.0.1.
3. wrk (a second process; `apt-get install wrk`) at 16 and 64 connections, each connection
   walking its own way through the URL list (bench/load.lua): every tile of three public
   layers over a 6×6 block of z16 tiles, 3×3 at z15 and 2×2 at z14 around the city's centre;
   then items pages (limit 100, plain and in bboxes). Reports requests/s, p50/p90/p99, and
   errors (non-2xx/3xx answers and socket errors).
4. The physical reference, in the same run: the same tile SQL the endpoint runs, straight to
   PostGIS from 16 threads with no Django and no HTTP (queries/s). The ratio app ÷ bare says
   what the web stack costs, whatever the machine's mood.

wrk, gunicorn and PostgreSQL share the machine's cores: the figures are for the whole system.
The tile cache is per process (CACHES["tiles"]); most tile requests after the first round are
cache hits, as on a live map. Prints a Markdown table and writes bench/out/load.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import tiles as tilebench  # noqa: E402  (bench/tiles.py: the city and its helpers)

OUT = ROOT / "bench" / "out"
LUA = ROOT / "bench" / "load.lua"
LAYERS = ("trust-land", "vacant-lots", "parcels")
CENTRE = tilebench.CENTRE
WORKERS, THREADS = 3, 4


def tile_paths() -> list[str]:
    paths = []
    for z, side in ((16, 6), (15, 3), (14, 2)):
        _, x0, y0 = tilebench.tile_at(*CENTRE, z)
        for dx in range(-(side // 2), side - side // 2):
            for dy in range(-(side // 2), side - side // 2):
                paths += [f"/tiles/{layer}/{z}/{x0 + dx}/{y0 + dy}.pbf" for layer in LAYERS]
    return paths


def items_paths() -> list[str]:
    lat, lon = CENTRE
    paths = ["/ogcapi/collections/trust-land/items?f=json&limit=100",
             "/ogcapi/collections/vacant-lots/items?f=json&limit=100"]  # fmt: skip
    for i in range(8):
        d = 0.002 * (i + 1)
        bbox = f"{lon - d:.4f},{lat - d:.4f},{lon + d:.4f},{lat + d:.4f}"
        paths.append(f"/ogcapi/collections/vacant-lots/items?f=json&limit=100&bbox={bbox}")
    return paths


def serve(url: str) -> tuple[subprocess.Popen, int]:
    port = tilebench.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "clt.production",
        "CLT_SECRET_KEY": secrets.token_urlsafe(50),
        "CLT_ALLOWED_HOSTS": "127.0.0.1",
        "CLT_SSL_REDIRECT": "0",  # plain HTTP on loopback
        "CLT_DB_POOL": str(THREADS),
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "clt.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(WORKERS), "--threads", str(THREADS), "--worker-class", "gthread",
         "--backlog", "2048", "--error-logfile", str(OUT / "load-gunicorn.log")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return server, port
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError(f"gunicorn did not start: see {OUT / 'load-gunicorn.log'}")


def warm(port: int, paths: list[str]) -> None:
    """Every URL once per worker, so the first measured seconds are not cold starts."""
    for _ in range(WORKERS):
        for path in paths:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30).read()


def wrk(port: int, paths: list[str], connections: int, seconds: int) -> dict:
    """One wrk run; its latency percentiles, requests/s and errors."""
    url_file = OUT / "load-urls.txt"
    url_file.write_text("\n".join(paths) + "\n")
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
               "--timeout", "10s", "-s", str(LUA), f"http://127.0.0.1:{port}"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=True,
                            env={**os.environ, "CLT_URLS": str(url_file)})  # fmt: skip
    (OUT / f"load-wrk-{connections}-{len(paths)}.txt").write_text(result.stdout)
    return parse_wrk(result.stdout)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output: str) -> dict:
    latency = {p: _ms(v) for p, v in re.findall(r"^\s+(50|90|99)\.?0*%\s+(\S+)\s*$", output, re.M)}
    requests = int(re.search(r"(\d+) requests in", output)[1])
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "p50_ms": latency["50"],
        "p90_ms": latency["90"],
        "p99_ms": latency["99"],
        "errors": (int(non_2xx[1]) if non_2xx else 0)
        + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0),
    }


def bare_tiles(url: str, paths: list[str], threads: int, seconds: float) -> float:
    """Queries/s of the endpoint's own tile SQL, from `threads` connections, no Django."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from maps import tiles

    statements = []
    for path in paths:
        _, _, layer, z, x, y = path.removesuffix(".pbf").split("/")
        compiled = tiles.compiled_layer(layer)
        statements.append(tiles.tile_sql(compiled, tiles.TileAddress(int(z), int(x), int(y))))
    done = [0] * threads
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        with tilebench.psql_connect(url) as db:
            db.execute("SET jit = off")
            n = i
            while time.monotonic() < stop:
                sql, params = statements[n % len(statements)]
                db.execute(sql, params).fetchone()
                n += threads
                done[i] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is not installed; on Debian: apt-get install wrk")
    OUT.mkdir(parents=True, exist_ok=True)
    url = tilebench.database_url("clt_bench_load")
    tilebench.prepare(url, args.parcels)
    tilebench.ensure_trust_land(url)

    tiles_list, items_list = tile_paths(), items_paths()
    bare = bare_tiles(url, tiles_list, 16, args.seconds)
    server, port = serve(url)
    rows = []
    try:
        warm(port, tiles_list + items_list)
        for name, paths in (("tiles", tiles_list), ("items", items_list)):
            for connections in (16, 64):
                tilebench.say(f"bench: wrk {name} at {connections} connections")
                rows.append({"endpoint": name, "connections": connections,
                             **wrk(port, paths, connections, args.seconds)})  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(rows, bare, args)


def report(rows: list[dict], bare: float, args: argparse.Namespace) -> None:
    (OUT / "load.json").write_text(json.dumps({"rows": rows, "bare_tile_qps": bare}, indent=1))
    print(f"`.venv/bin/python bench/load.py --parcels {args.parcels} --seconds {args.seconds}`; "
          f"gunicorn {WORKERS} gthread workers × {THREADS} threads, clt.production, "
          f"psycopg pool of {THREADS} per worker\n")  # fmt: skip
    print("| endpoint | clients | requests/s | p50 ms | p90 ms | p99 ms | errors | ÷ bare |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ratio = f"{r['rps'] / bare:.2f}" if r["endpoint"] == "tiles" else "–"
        print(f"| {r['endpoint']} | {r['connections']} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | "
              f"{r['p90_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | {ratio} |")  # fmt: skip
    print(f"\nBare tile SQL, 16 threads straight to PostGIS: {bare:,.0f} queries/s.")


if __name__ == "__main__":
    main()
