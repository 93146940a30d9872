"""Vector-tile benchmark (issue 5) on a synthetic city of 1M parcels.

    .venv/bin/python bench/tiles.py                       # 1,000,000 parcels, 15 runs each
    .venv/bin/python bench/tiles.py --parcels 20000 --runs 5   # a quick look

1. Prepare, once (skipped when the database already holds the city): `clt synth` writes the
   city (bench/out/city-<N>.gpkg), `clt import-parcels` loads it into a database of its own
   (`clt_bench_tiles` on the project's PostGIS, or --db), and one parcel in 100 becomes trust
   land (holdings written by SQL), then ANALYZE.
2. Serve that database with gunicorn (one process, four threads) on 127.0.0.1, twice: as
   configured, and with the tile cache replaced by Django's DummyCache (a settings module
   written to bench/out/). Both also answer bench/tile_floor.py's `/floor/` path.
3. At the dense centre (32.30 N, 90.21 W), for tiles at z8, z10, z12, z14 and z16 of each layer
   (from its min_zoom: below it a tile is empty and costs no query), each
   run after bumping the layer's data version (as an edit does):
   - bare: the exact SQL the endpoint runs, by psycopg, no Django, no HTTP;
   - HTTP floor: the same SQL over HTTP through the same gunicorn, with no Django (the least
     any web answer costs: bench/tile_floor.py);
   - cold: GET the endpoint with no tile cache, so PostGIS builds the tile (a tile this
     process has not served yet);
   - after an edit: GET the endpoint that has the tile cached, at versions now stale (it reads
     the versions, finds them changed, builds);
   - cached: GET again (served from the tile cache); 304: GET with If-None-Match;
   - size and features of the tile; and the issue's reference query (raw parcels, no layer).
   The kinds alternate within each run, so all see the same database and buffer cache; the
   HTTP client keeps its connection open, as a browser does.
4. Headless Chromium (Debian's, via Playwright): open /map/ at the centre (z16, z14) and as a
   phone first meets it (360x740, fitted to the trust's land); time until the first parcel
   shapes are drawn, and the tiles (count, bytes) the first view loads.

Prints a Markdown table and writes bench/out/tiles.json. Bounded: a few minutes on 2 cores
once the city is loaded (the first load of 1M parcels takes longer, see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
CLT = str(ROOT / ".venv" / "bin" / "clt")
CENTRE = (32.30, -90.21)  # lat, lon: the synthetic city's centre
ZOOMS = (8, 10, 12, 14, 16)  # below a layer's min_zoom a tile is empty without a query: skipped
LAYERS = ("trust-land", "vacant-lots", "parcels")
REFERENCE_SQL = """
SELECT ST_AsMVT(t, 'parcels', 4096, 'geom') FROM (
    SELECT id, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s)) AS geom
    FROM parcels_parcel WHERE geom && ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326)
) AS t
"""


def database_url(name: str) -> str:
    from clt import localdb

    if os.environ.get("DATABASE_URL"):
        base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        return f"{base}/{name}"
    localdb.start(log=lambda m: None)
    localdb.ensure_database(name)
    c = localdb.connection()
    return f"postgis://{c.user}:{c.password}@{c.host}:{c.port}/{name}"


def psql_connect(url: str):
    """A plain psycopg connection that binds parameters client-side, as Django does, so the
    bare query is planned exactly as the endpoint's is."""
    import psycopg

    return psycopg.connect(
        url.replace("postgis://", "postgresql://"),
        autocommit=True,
        cursor_factory=psycopg.ClientCursor,
    )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- 1. the city ----------------------------------------------------------------------------


def prepare(url: str, parcels: int) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([CLT, "migrate"], env=env, check=True, capture_output=True)
    with psql_connect(url) as db:
        have = db.execute("SELECT count(*) FROM parcels_parcel").fetchone()[0]
    if have >= parcels * 0.99:
        say(f"bench: the database already holds {have:,} parcels")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    city = OUT / f"city-{parcels}.gpkg"
    if not city.exists():
        say(f"bench: clt synth --parcels {parcels} -> {city}")
        subprocess.run(
            [CLT, "synth", "--parcels", str(parcels), "--seed", "1", "-o", str(city)], check=True
        )
    say("bench: clt import-parcels (the first load of 1M parcels takes several minutes)")
    started = time.perf_counter()
    subprocess.run([CLT, "import-parcels", "--quiet", str(city)], env=env, check=True)
    say(f"bench: imported in {time.perf_counter() - started:.0f} s")


def ensure_trust_land(url: str) -> None:
    """One parcel in 100 becomes trust land, with a use and an acquisition date (once)."""
    with psql_connect(url) as db:
        if db.execute("SELECT count(*) FROM parcels_holding").fetchone()[0]:
            return
        say("bench: making one parcel in 100 trust land")
        db.execute("""
            INSERT INTO parcels_holding (name, current_use, acquired_via, acquired_on, price,
                                         deed_reference, available, notes)
            SELECT 'Bench holding ' || id,
                   (ARRAY['single_family_home', 'urban_farm', 'community_garden',
                          'coop_housing', 'held_vacant'])[1 + id % 5],
                   'purchase', date '2015-06-01' + (id % 3000)::int, 0, '', id % 700 = 0, ''
            FROM parcels_parcel WHERE id % 100 = 0
        """)
        db.execute("""
            INSERT INTO parcels_holdingparcel (holding_id, parcel_id, began_on)
            SELECT h.id, substring(h.name from 15)::bigint, h.acquired_on
            FROM parcels_holding h WHERE h.name LIKE 'Bench holding %'
        """)
        db.execute("VACUUM ANALYZE")


# --- 2. the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The app as configured, but with no tile cache: every request builds its tile, as for a tile no
# one has asked this process for yet. Written to bench/out/ and imported from there.
NO_TILE_CACHE_SETTINGS = """from clt.settings import *  # noqa: F403

DUMMY = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
CACHES = {**CACHES, "tiles": DUMMY}  # noqa: F405
"""


def serve(url: str, settings: str = "clt.settings") -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": settings}
    if settings == "bench_no_tile_cache":
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{settings}.py").write_text(NO_TILE_CACHE_SETTINGS)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(OUT), env.get("PYTHONPATH")]))
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "bench.tile_floor:application",  # the app, plus /floor/ (bench/tile_floor.py)
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    for _ in range(100):
        try:
            get(port, "/healthz")
            return server, port
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


_clients: dict[int, http.client.HTTPConnection] = {}


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes, dict, float]:
    """GET over a kept-alive connection, as a browser asks for a map's tiles; the time from
    sending the request to the last byte of the answer."""
    for attempt in (1, 2):
        connection = _clients.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        _clients[port] = connection
        try:
            started = time.perf_counter()
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            body = response.read()
            elapsed_ms = (time.perf_counter() - started) * 1000
            return response.status, body, dict(response.getheaders()), elapsed_ms
        except (http.client.HTTPException, OSError):
            connection.close()
            del _clients[port]  # the server closed an idle connection: open another
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


# --- 3. tiles ---------------------------------------------------------------------------------


def p50(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def measure_tiles(url: str, port: int, cold_port: int, runs: int) -> list[dict]:
    import mapbox_vector_tile

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")
    import django

    django.setup()
    from maps import tiles

    rows = []
    with psql_connect(url) as db:
        db.execute("SET jit = off")  # as the endpoint runs its tile queries (maps/tiles.py)
        for layer in LAYERS:
            compiled = tiles.compiled_layer(layer)
            bump = (
                "UPDATE maps_data_version SET version = nextval('maps_data_version_seq') "
                "WHERE table_name = ANY(%s)"
            )
            for z in ZOOMS:
                if z < compiled.layer.min_zoom:
                    continue
                address = tiles.TileAddress.containing(CENTRE[1], CENTRE[0], z)
                sql, params = tiles.tile_sql(compiled, address)
                path = f"/tiles/{layer}/{address}.pbf"
                floor_path = f"/floor/{layer}/{address}"
                bare, cold, floor, edited = [], [], [], []
                for _ in range(runs):
                    db.execute(bump, [sorted(compiled.tables)])  # as an edit does
                    started = time.perf_counter()
                    db.execute(sql, params).fetchone()
                    bare.append((time.perf_counter() - started) * 1000)
                    status, body, headers, elapsed = get(cold_port, path)
                    assert status in (200, 204), (path, status)
                    cold.append(elapsed)
                    floor_status, floor_body, _, elapsed = get(cold_port, floor_path)
                    assert (floor_status, floor_body) == (status, body), floor_path
                    floor.append(elapsed)
                    edited_status, edited_body, headers, elapsed = get(port, path)
                    assert (edited_status, edited_body) == (status, body), path
                    edited.append(elapsed)
                cached = [get(port, path)[3] for _ in range(runs)]
                etag = headers.get("ETag", "")
                revalidated = [get(port, path, {"If-None-Match": etag})[3] for _ in range(runs)]
                decoded = mapbox_vector_tile.decode(body) if body else {}
                features = sum(len(v["features"]) for v in decoded.values())
                kind = "cells" if z < compiled.layer.detail_zoom else "outlines"
                rows.append(
                    {
                        "layer": layer,
                        "tile": str(address),
                        "kind": kind,
                        "features": features,
                        "bytes": len(body),
                        "bare_p50_ms": p50(bare),
                        "cold_p50_ms": p50(cold),
                        "ratio": round(p50(cold) / p50(bare), 2) if p50(bare) else None,
                        "floor_p50_ms": p50(floor),
                        "floor_ratio": round(p50(floor) / p50(bare), 2) if p50(bare) else None,
                        "cold_over_floor": round(p50(cold) / p50(floor), 2) if p50(floor) else None,
                        "after_edit_p50_ms": p50(edited),
                        "cached_p50_ms": p50(cached),
                        "not_modified_p50_ms": p50(revalidated),
                    }
                )
                say(f"bench: {rows[-1]}")
        db.execute("RESET jit")  # the reference runs with the server's defaults
        for z in (12, 14, 16):  # the figures
            a = tiles.TileAddress.containing(CENTRE[1], CENTRE[0], z)
            address = (a.z, a.x, a.y)
            times = []
            for _ in range(max(3, runs // 3)):
                started = time.perf_counter()
                body = db.execute(REFERENCE_SQL, [*address, *address]).fetchone()[0]
                times.append((time.perf_counter() - started) * 1000)
            count = sum(len(v["features"]) for v in mapbox_vector_tile.decode(body).values())
            rows.append(
                {
                    "layer": "(issue's reference: raw parcels, id only)",
                    "tile": "/".join(map(str, address)),
                    "kind": "outlines",
                    "features": count,
                    "bytes": len(body),
                    "bare_p50_ms": p50(times),
                }
            )
            say(f"bench: {rows[-1]}")
    return rows


# --- 4. the browser ---------------------------------------------------------------------------


# What the browser benchmark opens: /map/ at the dense centre on a desktop screen, and as a
# resident's phone first meets it (no place in the URL: fitted to the trust's land).
DESKTOP = {"width": 1200, "height": 800}
PHONE = {"width": 360, "height": 740}
VISITS = (
    ("centre, z16, 1200×800", f"/map/?lat={CENTRE[0]}&lon={CENTRE[1]}&z=16", DESKTOP),
    ("centre, z14, 1200×800", f"/map/?lat={CENTRE[0]}&lon={CENTRE[1]}&z=14", DESKTOP),
    ("first visit on a phone (fitted to trust land), 360×740", "/map/", PHONE),
)


def measure_browser(port: int, runs: int) -> list[dict]:
    # Debian's Chromium, launched and watched as the browser tests do (tests/browser.py).
    from tests.browser import CHROMIUM, CHROMIUM_ARGS, PARCEL_PATHS, PARCELS_DRAWN

    if not runs or not Path(CHROMIUM).exists():
        return []
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, path, viewport in VISITS:
            times, tile_bytes, tile_count = [], [], []
            for _ in range(runs):
                context = browser.new_context(viewport=viewport)
                page = context.new_page()
                page.route("https://**", lambda route: route.abort())  # no base map here
                tiles_seen = []
                page.on(
                    "requestfinished",
                    lambda request, seen=tiles_seen: "/tiles/" in request.url
                    and seen.append(request.sizes()["responseBodySize"]),
                )
                page.goto(f"http://127.0.0.1:{port}{path}")
                page.wait_for_function(PARCELS_DRAWN, timeout=60_000, polling="raf")
                times.append(page.evaluate("() => performance.now()"))
                paths = page.evaluate(f"() => {PARCEL_PATHS}")
                page.wait_for_load_state("networkidle")  # every tile of the first view
                tile_bytes.append(sum(tiles_seen))
                tile_count.append(len(tiles_seen))
                context.close()
            results.append(
                {
                    "visit": name,
                    "first_ms": round(times[0]),
                    "p50_ms": p50(times),
                    "paths_when_first_drawn": paths,
                    "tiles": tile_count[-1],
                    "tile_kb": round(tile_bytes[-1] / 1000),
                    "runs": runs,
                }
            )
            say(f"bench: browser {results[-1]}")
        browser.close()
    return results


def markdown(rows: list[dict], browser: list[dict]) -> str:
    lines = [
        "| layer | tile | kind | features | bytes | bare p50 ms | HTTP floor p50 ms "
        "| floor/bare | cold p50 ms | cold/bare | cold/floor | after an edit p50 ms "
        "| cached p50 ms | 304 p50 ms |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['layer']} | {r['tile']} | {r['kind']} | {r['features']:,} | {r['bytes']:,} "
            f"| {r['bare_p50_ms']} | {r.get('floor_p50_ms', '')} | {r.get('floor_ratio', '')} "
            f"| {r.get('cold_p50_ms', '')} | {r.get('ratio', '')} "
            f"| {r.get('cold_over_floor', '')} | {r.get('after_edit_p50_ms', '')} "
            f"| {r.get('cached_p50_ms', '')} | {r.get('not_modified_p50_ms', '')} |"
        )
    if browser:
        lines += [
            "",
            "| /map/ | first visit ms | p50 ms | SVG paths when first drawn "
            "| tiles of the first view | their KB |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {b['visit']} | {b['first_ms']} | {b['p50_ms']} | {b['paths_when_first_drawn']:,} "
            f"| {b['tiles']} | {b['tile_kb']:,} |"
            for b in browser
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--db", default="clt_bench_tiles")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--browser-runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    url = database_url(args.db)
    prepare(url, args.parcels)
    ensure_trust_land(url)
    servers = [serve(url), serve(url, "bench_no_tile_cache")]
    (_, port), (_, cold_port) = servers
    try:
        rows = measure_tiles(url, port, cold_port, args.runs)
        browser = measure_browser(port, args.browser_runs)
    finally:
        for server, _ in servers:
            server.terminate()
            server.wait(timeout=30)
    load = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews figures
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tiles.json").write_text(
        json.dumps({"tiles": rows, "browser": browser, "load_average": load}, indent=2)
    )
    print(markdown(rows, browser))
    print(f"\nload average at the end (1, 5, 15 min): {load}")


if __name__ == "__main__":
    main()
