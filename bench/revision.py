"""A module of this repository as it was at another revision, to time beside this checkout's."""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_at(revision: str, path: str):
    """The file `path` (e.g. "maps/tiles.py") at git `revision`, imported under another name;
    what it imports comes from this checkout."""
    source = subprocess.run(
        ["git", "show", f"{revision}:{path}"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    name = Path(path).stem + "_at_revision"
    file = Path(tempfile.mkdtemp()) / f"{name}.py"
    file.write_bytes(source)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def ab_arguments(description: str, *, runs: int) -> argparse.Namespace:
    """An A/B script's options (--against, --runs, --db), with Django set up on that database;
    its DATABASE_URL is `args.url`."""
    from bench.tiles import database_url

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--against", default="HEAD~1", help="the other revision (git)")
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--db", default="clt_bench_tiles")
    args = parser.parse_args()
    args.url = os.environ["DATABASE_URL"] = database_url(args.db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")
    import django

    django.setup()
    return args


def medians_alternating(cursor, runs: int, queries: dict[str, tuple[str, tuple]]) -> dict:
    """The median time in ms of each labelled (sql, params), run `runs` times in turn, the
    order reversed every other run, so that both see the same load and buffer cache; with the
    first column of each one's last row (a tile's bytes), as {label: (ms, value)}."""
    times: dict[str, list[float]] = {label: [] for label in queries}
    last: dict[str, object] = {}
    labels = list(queries)
    for run in range(runs):
        for label in labels if run % 2 else labels[::-1]:
            started = time.perf_counter()
            cursor.execute(*queries[label])
            last[label] = cursor.fetchone()[0]
            times[label].append((time.perf_counter() - started) * 1000)
    return {label: (statistics.median(times[label]), last[label]) for label in labels}
