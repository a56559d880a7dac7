"""The capacity search: the highest offered rate a profile sustains, by fixed-rate steps.

A rate that is sustained (Run.sustained: 0 failed, 0 dropped, p95 under the bound) moves
the search up by 30%, one that is not moves it down by 30%; once both sides are known the
gap is halved until it is within 5%. Fixed-rate runs measure each rate in steady state,
which one continuous ramp does not. This module does no I/O: `measure` runs k6.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .model import Run

UP, DOWN, CLOSE_ENOUGH = 1.3, 0.7, 0.05


@dataclass(frozen=True)
class Result:
    capacity: float      # 0: not even the lowest rate tried was sustained
    runs: list[Run]

    def best(self, p95_bound_ms: float) -> Run | None:
        ok = [r for r in self.runs if r.sustained(p95_bound_ms)]
        return max(ok, key=lambda r: r.offered_rate, default=None)


def next_rate(low: float, high: float, rate: float) -> float | None:
    """The next rate to try, knowing `low` was sustained (0: none yet) and `high` was not
    (inf: none yet); None when the search is done."""
    if high == math.inf:
        step = round(rate * UP)
        return float(max(step, rate + 1))
    if low == 0:
        step = round(rate * DOWN)
        return float(step) if step >= 1 and step < rate else None
    if high - low <= max(1.0, CLOSE_ENOUGH * low):
        return None
    mid = float(round((low + high) / 2))
    return None if mid in (low, high) else mid


def search(measure: Callable[[float], Run], start: float, p95_bound_ms: float, max_runs: int) -> Result:
    low, high, rate = 0.0, math.inf, float(max(round(start), 1))
    runs: list[Run] = []
    for _ in range(max_runs):
        run = measure(rate)
        runs.append(run)
        if run.sustained(p95_bound_ms):
            low = max(low, rate)
        else:
            high = min(high, rate)
        following = next_rate(low, high, rate)
        if following is None:
            break
        rate = following
    return Result(low, runs)


def vus_for(rate: float, p95_bound_ms: float, floor: int) -> int:
    """Enough VUs to keep `rate` going while each request waits up to the p95 bound, so a
    slow server shows as latency first, not as dropped iterations."""
    return max(floor, math.ceil(rate * p95_bound_ms / 1000))
