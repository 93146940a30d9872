"""Django's development server with and without Nagle's algorithm, one kept-alive client.

    .venv/bin/python bench/devserver_nagle.py [--requests 200]

Serves the app in this process with Django's own server (what `clt serve` and the tests' live
servers run), once as Django ships it and once after `clt.devserver.answer_without_delay()`,
and times the same small request (a demo tile, and /healthz) over one kept-alive connection, as
a browser or GIS client sends them. The reference is the same server without the change, in the
same run; the database is the project's (demo data, as `./dev up` loads it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from clt import devserver  # noqa: E402

PATHS = ("/tiles/trust-land/16/16766/26722.pbf", "/healthz")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # no access log on the console
        pass


def serve() -> ThreadedWSGIServer:
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def median_ms(port: int, path: str, requests_n: int) -> float:
    session = requests.Session()  # one kept-alive connection
    url = f"http://127.0.0.1:{port}{path}"
    for _ in range(5):
        session.get(url)
    times = []
    for _ in range(requests_n):
        start = time.perf_counter()
        session.get(url).raise_for_status()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    results = {}
    for label in ("as Django ships it", "answer_without_delay()"):
        if label != "as Django ships it":
            devserver.answer_without_delay()
        server = serve()
        results[label] = {p: median_ms(server.server_port, p, args.requests) for p in PATHS}
        server.shutdown()
    print(f"| request (kept-alive, p50 of {args.requests}) | " + " | ".join(results) + " | ratio |")
    print("|---|---|---|---|")
    for path in PATHS:
        before, after = (results[label][path] for label in results)
        print(f"| GET {path} | {before:.1f} ms | {after:.1f} ms | {after / before:.2f}× |")


if __name__ == "__main__":
    main()
