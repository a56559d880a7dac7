"""A first guess for a capacity search: the time of one /api job, nothing else running."""

from __future__ import annotations

import statistics
import time
import urllib.request


def job_ms(base_url: str, path: str = "/api", warmup: int = 5, samples: int = 20) -> float:
    """Median wall time of one request, in ms, sent one after another."""
    times = []
    for i in range(warmup + samples):
        started = time.perf_counter()
        with urllib.request.urlopen(f"{base_url}{path}", timeout=10) as response:
            response.read()
        if i >= warmup:
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)
