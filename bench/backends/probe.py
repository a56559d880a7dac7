"""A first guess for a capacity search: the time of one /api job, nothing else running;
and the interpreter a replica says it runs."""

from __future__ import annotations

import json
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


def runtime(base_url: str) -> str | None:
    """The interpreter a Python replica names in GET / ("runtime"), or None when the answer
    has none (the Node reference answers `Hello World!`)."""
    with urllib.request.urlopen(f"{base_url}/", timeout=10) as response:
        body = response.read()
    try:
        data = json.loads(body)
    except ValueError:
        return None
    name = data.get("runtime") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else None
