"""The planner's two questions, each answered by a search over simulations:
how many replicas meet a latency target at a rate, and what rate a stack sustains."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..settings import BenchError
from .outcome import Outcome
from .sim import Traffic, simulate
from .workload import Mix, Stack

# A simulated run: jobs measured after a warm-up (WARMUP). 30,000 put a p99 of
# a class with 10% of the jobs on 3,000 samples, and take ~0.3 s on one core.
JOBS = 30_000
# The replica search's step up from the load's own bound (the replicas it keeps busy all
# the time: fewer never meet any target), before halving the gap.
GROW = 1.2
# Arrivals before the measured ones, as a share of them: the queues reach their steady state.
WARMUP = 0.2
# How much longer the run that confirms an answer is.
CONFIRM = 4


@dataclass(frozen=True)
class Target:
    p95_ms: float
    max_shed: float = 0.001   # the share of requests that may get a 503


def percentiles(outcome: Outcome, mix: Mix) -> dict[str, dict[str, float]]:
    """p50/p95/p99 (ms) of all requests and of each job class."""
    labels: list[str | None] = [None, *(c.label for c in mix.classes)] if len(mix.classes) > 1 else [None]
    qs = (50, 95, 99)
    return {label or "all": dict(zip((f"p{q}_ms" for q in qs), (round(v, 2) for v in outcome.percentiles_ms(qs, label)),
                                     strict=True))
            for label in labels}


@dataclass(frozen=True)
class Trial:
    replicas: int
    rate: float
    percentiles: dict[str, dict[str, float]]
    shed_share: float
    utilization: float
    met: bool

    def to_dict(self) -> dict[str, Any]:
        return {"replicas": self.replicas, "rate": self.rate, "percentiles": self.percentiles,
                "shed_share": self.shed_share, "utilization": round(self.utilization, 3), "met": self.met}


def mean_demand_s(traffic: Traffic) -> float:
    return sum(c.share * traffic.cost.demand_s(c) for c in traffic.mix.classes)


def trial(stack: Stack, traffic: Traffic, target: Target, jobs: int = JOBS) -> Trial:
    duration = jobs / traffic.rate
    outcome = simulate(stack, traffic, duration, warmup_s=duration * WARMUP)
    found = percentiles(outcome, traffic.mix)
    # The offered load on the cores: at 1 or more no queue is stable, however short a
    # trial hides it (30,000 jobs at 20,000 req/s are 1.5 s).
    utilization = traffic.rate * mean_demand_s(traffic) / max(stack.usable_cores(traffic.rate), 1e-9)
    met = found["all"]["p95_ms"] <= target.p95_ms and outcome.shed_share <= target.max_shed and utilization < 1
    return Trial(stack.replicas, traffic.rate, found, outcome.shed_share, utilization, met)


@dataclass
class Needed:
    method: str
    replicas: int | None   # None: not met up to the ceiling
    trials: list[Trial] = field(default_factory=list)

    def best(self) -> Trial | None:
        return next((t for t in self.trials if t.replicas == self.replicas), None)


def replicas_needed(shape: Callable[[int], Stack], traffic: Traffic, target: Target, ceiling: int,
                    jobs: int = JOBS) -> Needed:
    """The fewest replicas whose simulated p95 and 503 share meet the target: up in GROW
    steps from the load's own lower bound, then halving the gap. Every trial runs the
    same seed, so two replica counts differ by the stack alone (common random numbers).
    The answer is then simulated again CONFIRM times as long: near full load a short trial
    can hide a queue still growing. If it fails, the search goes on above it, long."""
    tried: dict[int, Trial] = {}
    count = min(max(1, math.ceil(traffic.rate * mean_demand_s(traffic))), ceiling)
    found = search_up(shape, traffic, target, ceiling, jobs, count, tried)
    if found is not None:
        tried[found] = trial(shape(found), traffic, target, CONFIRM * jobs)
        if not tried[found].met:  # on from there with long trials: their answer needs no check
            found = None if found >= ceiling else search_up(shape, traffic, target, ceiling, CONFIRM * jobs,
                                                            found + 1, tried)
    return Needed(shape(1).method, found, [tried[n] for n in sorted(tried)])


def search_up(shape: Callable[[int], Stack], traffic: Traffic, target: Target, ceiling: int, jobs: int,
              count: int, tried: dict[int, Trial]) -> int | None:
    """From count up in GROW steps to the first count met, then halving the gap down to the
    last one not met; None when not even the ceiling is met."""
    low, high = count - 1, None
    while True:
        tried[count] = trial(shape(count), traffic, target, jobs)
        if tried[count].met:
            high = count
            break
        low = count
        if count >= ceiling:
            return None
        count = min(max(count + 1, math.ceil(count * GROW)), ceiling)
    while high - low > 1:
        middle = (low + high) // 2
        tried[middle] = trial(shape(middle), traffic, target, jobs)
        if tried[middle].met:
            high = middle
        else:
            low = middle
    return high


def capacity(stack: Stack, traffic: Traffic, p95_bound_ms: float, duration_s: float, seeds: int = 3) -> float:
    """The highest rate a stack sustains as `bench/capacity.py` defines it (no 503, p95
    under the bound), by halving the gap, within 1%. A short step sustains a little more
    than the cores can run: its queue has no time to pass the admission bound."""
    def sustained(rate: float) -> bool:
        try:
            outcome = simulate(stack, replace(traffic, rate=rate), duration_s, seeds=seeds)
        except BenchError:
            return False  # the rest of the machine alone would take every core at this rate
        return outcome.shed_share == 0 and outcome.percentile_ms(95) < p95_bound_ms
    cores = stack.hosts * (stack.cores_per_host or stack.replicas)
    low, high = 0.0, min(stack.replicas, cores) / mean_demand_s(traffic)
    while sustained(high):
        low, high = high, high * 1.5
    while high - low > 0.01 * high:
        middle = (low + high) / 2
        low, high = (middle, high) if sustained(middle) else (low, middle)
    return low
