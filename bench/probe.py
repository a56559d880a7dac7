"""Pick an offered rate that makes the article's point on this machine.

150 req/s (the article's rate) overloads every profile on a small machine, which shows
nothing. So time one /api job (sequential requests, nothing else running), and offer a
rate above what one replica serves but below what the many-replica profile should serve.
"""

from __future__ import annotations

import statistics
import time
import urllib.request

ARTICLE_RATE = 150.0
OVERLOAD = 1.3        # one replica gets 30% more than it can serve: its queue grows
MANY_SHARE = 0.65     # of the ideal N x one replica, what the many profile reaches safely


def job_ms(base_url: str, warmup: int = 5, samples: int = 20) -> float:
    """Median wall time of one /api request, in ms."""
    times = []
    for i in range(warmup + samples):
        started = time.perf_counter()
        with urllib.request.urlopen(f"{base_url}/api", timeout=10) as response:
            response.read()
        if i >= warmup:
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def choose_rate(median_ms: float, replicas: int, cores: int) -> tuple[float, str]:
    one = 1000 / median_ms
    parallel = min(replicas, cores)
    rate = min(ARTICLE_RATE, max(OVERLOAD * one, MANY_SHARE * parallel * one))
    rate = max(round(rate), 1)
    why = (f"one /api job takes {median_ms:.1f} ms here, so one replica serves about {one:.0f} req/s; "
           f"{replicas} replicas on {cores} core(s) run at most {parallel} jobs at once. "
           f"Offering {rate} req/s overloads one replica ({rate / one:.1f}x its capacity) "
           f"and should not overload the many-replica profile "
           f"(capped at the article's {ARTICLE_RATE:.0f} req/s; set RATE= to choose).")
    return rate, why
