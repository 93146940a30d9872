"""Timing shared by the benchmarks: the median of repeated runs, which a noisy machine's
outliers move least."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def p50_ms(run: Callable[[], object], runs: int) -> float:
    """The median wall time of `runs` calls of `run`, in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)
