"""Benchmark: whole-layer GeoJSON export over HTTP vs bare PostGIS COPY vs ogr2ogr; app memory;
OGC API items pages (first, keyset-deep, offset-deep).

    .venv/bin/python bench/export_bench.py --sizes 250000,1000000

For each size (ascending) it imports `clt synth --seed 1` cities with `clt import-parcels` into
a scratch database `clt_bench_export` on the project's own cluster (a smaller city is the first
features of a larger one, so the second import adds the rest), serves the app with gunicorn (one
sync worker, as in the Docker image), and in the same run measures:

* HTTP: GET /export/<layer>.geojson read to the end by a client in this process, while the
  worker's resident memory is sampled every 50 ms (and its VmHWM read at the end);
* COPY: `COPY (SELECT ST_AsGeoJSON(t.*) FROM (<the layer's columns>) t) TO STDOUT`, read to the end
  by psycopg (the bare PostGIS stream, nothing else);
* ogr2ogr: `ogr2ogr -f GeoJSON` from the same SELECT to a file;
* items: /ogcapi/collections/<layer>/items?limit=1000 (first page, keyset pages at random
  depths, and the page at 90% of the layer by `after=` and by `offset=`).

Results print as Markdown (paste into BENCHMARKS.md) and JSON (`--json FILE`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLT = [str(ROOT / ".venv" / "bin" / "clt")]
CACHE = Path(os.environ.get("CLT_BENCH_CACHE", "/tmp/clt-bench-export"))
DB_NAME = "clt_bench_export"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="250000,1000000")
    parser.add_argument("--layer", default="parcels", help="a public layer over parcels")
    parser.add_argument("--pages", type=int, default=25, help="random keyset pages per size")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    admin_url = _local_admin_url()
    bench_url = admin_url.rsplit("/", 1)[0] + "/" + DB_NAME
    _recreate_database(admin_url)
    env = {**os.environ, "DATABASE_URL": bench_url, "CLT_LOG_LEVEL": "ERROR"}
    _run([*CLT, "migrate"], env)

    results = []
    for size in sizes:
        city = _city(size)
        started = time.perf_counter()
        _run([*CLT, "import-parcels", str(city), "--quiet"], env)
        import_s = time.perf_counter() - started
        with psycopg.connect(_libpq(bench_url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE parcels_parcel")
        result = {"size": size, "import_s": round(import_s, 1)}
        result.update(_measure(args.layer, bench_url, env, args.pages))
        results.append(result)
        print(json.dumps(result), flush=True)
    print(_markdown(results, args.layer))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


# --- the measurements ------------------------------------------------------------------


def _measure(layer: str, bench_url: str, env: dict, pages: int) -> dict:
    port = _free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "clt.wsgi",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "600",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base + "/healthz")
        worker = _worker_pid(server.pid)
        http = _http_export(f"{base}/export/{layer}.geojson", worker)
        layer_select = _layer_select(layer)
        copy = _bare_copy(bench_url, layer_select)
        copy_table = _bare_copy(bench_url, "SELECT * FROM parcels_parcel")
        ogr = _ogr2ogr(bench_url, layer_select)
        items = _items(base, layer, pages)
        rss_after_mb = _status_kb(worker, "VmRSS") / 1024
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    features = http["features"]
    return {
        "features": features,
        "http_s": http["seconds"],
        "http_fps": round(features / http["seconds"]),
        "http_mb": round(http["bytes"] / 1e6),
        "copy_s": copy["seconds"],
        "copy_fps": round(copy["rows"] / copy["seconds"]),
        "copy_table_fps": round(copy_table["rows"] / copy_table["seconds"]),
        "ogr2ogr_s": ogr,
        "ogr2ogr_fps": round(features / ogr),
        "http_vs_copy": round(http["seconds"] / copy["seconds"], 2),
        "ogr2ogr_vs_http": round(ogr / http["seconds"], 2),
        "rss_before_mb": http["rss_before_mb"],
        "rss_peak_sampled_mb": http["rss_peak_mb"],
        "vmhwm_mb": http["vmhwm_mb"],
        "rss_after_mb": round(rss_after_mb),
        **items,
    }


def _http_export(url: str, worker: int) -> dict:
    rss = {"peak": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss["peak"] = max(rss["peak"], _status_kb(worker, "VmRSS"))
            time.sleep(0.05)

    before = _status_kb(worker, "VmRSS")
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    size = newlines = 0
    # Uncompressed, as COPY's stream is: requests asks for gzip by default, which the app now
    # sends (clt/compression.py) and which would add its compression to the comparison.
    identity = {"Accept-Encoding": "identity"}
    with requests.get(url, stream=True, timeout=600, headers=identity) as response:
        response.raise_for_status()
        for chunk in response.iter_content(1 << 20):
            size += len(chunk)
            newlines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    # One line for the head, one per feature, one for the closing "]}".
    return {
        "seconds": round(seconds, 2),
        "bytes": size,
        "features": newlines - 2,
        "rss_before_mb": round(before / 1024),
        "rss_peak_mb": round(rss["peak"] / 1024),
        "vmhwm_mb": round(_status_kb(worker, "VmHWM") / 1024),
    }


def _bare_copy(bench_url: str, select: str) -> dict:
    rows = 0
    started = time.perf_counter()
    statement = f"COPY (SELECT ST_AsGeoJSON(t.*) FROM ({select}) AS t) TO STDOUT"
    with psycopg.connect(_libpq(bench_url)) as conn:
        cursor = conn.cursor()
        with cursor.copy(statement) as copy:
            for _ in copy:
                rows += 1
    return {"seconds": round(time.perf_counter() - started, 2), "rows": rows}


def _ogr2ogr(bench_url: str, select: str) -> float:
    out = CACHE / "ogr2ogr-out.geojson"
    out.unlink(missing_ok=True)
    user, password, host, port, name = _parts(bench_url)
    started = time.perf_counter()
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "GeoJSON",
            str(out),
            f"PG:dbname='{name}' host='{host}' port='{port}' user='{user}'",
            "-sql",
            select,
        ],
        check=True,
        env={**os.environ, "PGPASSWORD": password},
    )
    seconds = time.perf_counter() - started
    out.unlink(missing_ok=True)
    return round(seconds, 2)


def _items(base: str, layer: str, pages: int) -> dict:
    session = requests.Session()
    url = f"{base}/ogcapi/collections/{layer}/items"

    def timed(params: dict) -> tuple[float, dict]:
        started = time.perf_counter()
        response = session.get(url, params={"limit": 1000, **params}, timeout=600)
        response.raise_for_status()
        return time.perf_counter() - started, response.json()

    firsts = [timed({}) for _ in range(5)]
    first_s, first = statistics.median(t for t, _ in firsts), firsts[0][1]
    matched = first["numberMatched"]
    ids = _ids_at(base, layer, matched)
    rng = random.Random(1)
    keyset = [timed({"after": ids[rng.randrange(len(ids))]})[0] for _ in range(pages)]
    deep_after_s, deep = timed({"after": ids[-1]})
    deep_offset_s, by_offset = timed({"offset": int(matched * 0.9)})
    assert [f["id"] for f in deep["features"]] == [f["id"] for f in by_offset["features"]]
    return {
        "items_first_ms": round(first_s * 1000),
        "items_p50_ms": round(statistics.median(keyset) * 1000),
        "items_max_ms": round(max(keyset) * 1000),
        "deep_after_ms": round(deep_after_s * 1000),
        "deep_offset_ms": round(deep_offset_s * 1000),
        "deep_position": int(matched * 0.9),
    }


def _ids_at(base: str, layer: str, matched: int) -> list[int]:
    """Feature ids at random depths, and last the id just before 90% of the layer.

    Valid for a layer of all active parcels (`parcels`), which is what the benchmark serves.
    """
    with psycopg.connect(_libpq(os.environ["BENCH_URL"])) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM parcels_parcel WHERE retired_at IS NULL AND geom IS NOT NULL "
                "ORDER BY random() LIMIT 200"
            ).fetchall()
        ]
        position = int(matched * 0.9)
        before = conn.execute(
            "SELECT id FROM parcels_parcel WHERE retired_at IS NULL AND geom IS NOT NULL "
            "ORDER BY id OFFSET %s LIMIT 1",
            [position - 1],
        ).fetchone()[0]
    return [*ids, before]


# --- plumbing --------------------------------------------------------------------------


def _layer_select(layer: str) -> str:
    """The layer's SELECT (its whitelisted columns) as plain SQL, for COPY and ogr2ogr."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")
    import django

    django.setup()
    from django.db import connection

    from maps.layers import get_layer
    from maps.ogcapi.params import FeatureFilter
    from maps.ogcapi.query import layer_sql

    sql, params = layer_sql(get_layer(layer), FeatureFilter())
    return connection.ops.compose_sql(sql, params)


def _city(size: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"city_{size}.gpkg"
    if not path.exists():
        _run(
            [*CLT, "synth", "--parcels", str(size), "--seed", "1", "--quiet", "-o", str(path)],
            os.environ.copy(),
        )
    return path


def _local_admin_url() -> str:
    from clt import localdb

    localdb.start(log=lambda m: None)
    return localdb.connection().url


def _recreate_database(admin_url: str) -> None:
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ["DATABASE_URL"] = admin_url.rsplit("/", 1)[0] + "/" + DB_NAME
    os.environ["BENCH_URL"] = os.environ["DATABASE_URL"]


def _libpq(url: str) -> str:
    return url.replace("postgis://", "postgresql://", 1)


def _parts(url: str) -> tuple[str, str, str, str, str]:
    rest = url.split("://", 1)[1]
    credentials, _, location = rest.rpartition("@")
    user, _, password = credentials.partition(":")
    hostport, _, name = location.partition("/")
    host, _, port = hostport.partition(":")
    return user, password, host, port, name


def _run(command: list[str], env: dict) -> None:
    subprocess.run(command, check=True, env=env, cwd=ROOT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str) -> None:
    for _ in range(100):
        try:
            if requests.get(url, timeout=10).ok:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def _worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _markdown(results: list[dict], layer: str) -> str:
    lines = [
        f"| parcels | layer `{layer}` features | HTTP export s (feat/s) | bare COPY s (feat/s) "
        "| HTTP ÷ COPY | ogr2ogr s (feat/s) | ogr2ogr ÷ HTTP | worker RSS before → peak "
        "(VmHWM) MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['size']:,} | {r['features']:,} | {r['http_s']} ({r['http_fps']:,}) "
            f"| {r['copy_s']} ({r['copy_fps']:,}) | {r['http_vs_copy']} "
            f"| {r['ogr2ogr_s']} ({r['ogr2ogr_fps']:,}) | {r['ogr2ogr_vs_http']} "
            f"| {r['rss_before_mb']} → {r['rss_peak_sampled_mb']} ({r['vmhwm_mb']}) |"
        )
    lines += [
        "",
        "| parcels | items?limit=1000 first page (with numberMatched) p50 ms "
        "| keyset pages p50 (max) ms "
        "| page at 90% by `after=` ms | same page by `offset=` ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['size']:,} | {r['items_first_ms']} | {r['items_p50_ms']} "
            f"({r['items_max_ms']}) | {r['deep_after_ms']} | {r['deep_offset_ms']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
