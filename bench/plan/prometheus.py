"""PLAN_PROMETHEUS: the job mix and its cost from a running stack, over PLAN_WINDOW.

The replicas' `api_job_run_seconds` histogram says how long the jobs of real traffic ran:
each bucket with jobs in it becomes a job class, its share the bucket's share of the jobs,
its demand the geometric middle of the bucket's bounds, all scaled so that the mean is the
histogram's own (sum / count): the load the replicas carried stays exact. The rate is
jobs run plus the 503s nginx answered. Run times are wall-clock, so a job that shared its replica's core
with the other lane counts longer than its CPU: the planner leans to more replicas.
"""

from __future__ import annotations

import math
import time

from ..resources.prometheus import query, values
from ..settings import BenchError
from .calibrate import Calibration
from .workload import Cost, JobClass, Mix

BUCKETS = "sum by (le) (increase(api_job_run_seconds_bucket[{window}]))"
RUN_SUM = "sum(increase(api_job_run_seconds_sum[{window}]))"
RUN_COUNT = "sum(increase(api_job_run_seconds_count[{window}]))"
# Requests: the jobs that ran, and the 503s clients got from nginx (a replica's shed that
# nginx retried elsewhere is one request: api_shed_total would count it twice).
JOB_RATE = ('sum(rate(api_job_run_seconds_count[{window}])) '
            '+ (sum(rate(nginx_log_requests_total{{status="503"}}[{window}])) or vector(0))')
# A class's demand as n + 1 "units" of 1 us, plus the request's fixed cost: the histogram
# times the job's function alone.
UNIT_S = 1e-6


def calibration(prometheus: str, window: str, measured: Calibration) -> Calibration:
    now = time.time()

    def ask(template: str, label: str = "") -> dict[str, float]:
        try:
            return values(query(prometheus.rstrip("/"), template.format(window=window), now), label)
        except (OSError, ValueError) as exc:
            raise BenchError(f"cannot read the job histogram from Prometheus at {prometheus}: {exc}. "
                             "Start it with `make monitor`, or unset PLAN_PROMETHEUS") from None
    buckets = ask(BUCKETS, "le")
    total, count = ask(RUN_SUM).get("", 0.0), ask(RUN_COUNT).get("", 0.0)
    if count < 1:
        raise BenchError(f"no /api job ran in the last {window} ({prometheus}): send traffic first, or widen "
                         "PLAN_WINDOW")
    mix = histogram_mix(buckets, total / count)
    rate = ask(JOB_RATE).get("", 0.0)
    return Calibration(mix, Cost(measured.cost.fixed_s, UNIT_S, f"{prometheus}, api_job_run_seconds over {window}",
                                 measured.cost.outside_s),
                       measured.cores, rate or measured.rate, measured.p95_bound_ms, prometheus)


def histogram_mix(cumulative: dict[str, float], mean_s: float) -> Mix:
    """Cumulative bucket counts keyed by `le` -> job classes, scaled to the measured mean."""
    bounds = sorted((float(le), n) for le, n in cumulative.items())
    classes, below, lower = [], 0.0, 0.0
    for upper, seen in bounds:
        jobs = seen - below
        if jobs > 0:
            middle = math.sqrt(lower * upper) if lower else upper / 2
            if math.isinf(upper):
                middle = lower * 1.5  # past the last bound: nothing says how far
            classes.append((jobs, middle, upper))
        below, lower = max(seen, below), upper
    total = sum(jobs for jobs, _, _ in classes)
    if not total:
        raise BenchError("the job histogram is empty")
    scale = mean_s / (sum(jobs * middle for jobs, middle, _ in classes) / total)
    return Mix(tuple(JobClass(f"<= {_ms(upper)}", jobs / total, max(round(middle * scale / UNIT_S) - 1, 0))
                     for jobs, middle, upper in classes))


def _ms(seconds: float) -> str:
    return "inf" if math.isinf(seconds) else f"{seconds * 1000:g} ms"
