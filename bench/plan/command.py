"""`python -m bench plan`: the replicas each balancing method needs to meet a p95 target at
a rate, and the percentiles it would give, from a simulation calibrated by a result file.

Each method is searched in a process of its own (one per core): on 2 cores the default
five take well under a minute. Writes plan.json, report.md and chart.png/.svg.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import machine
from ..progress import note
from ..report import publish
from ..settings import BenchError, Settings
from . import calibrate, prometheus, report
from .search import Needed, Target, replicas_needed
from .settings import PlanSettings
from .sim import Traffic
from .workload import Stack, parse_mix


def plan(bench: Settings, settings: PlanSettings | None = None) -> Path:
    s = settings or PlanSettings.from_env(bench)
    source = calibrate.from_file(s.result, s.fixed_s, parse_mix(s.job_mix) if s.job_mix else None)
    if s.prometheus:
        source = prometheus.calibration(s.prometheus, s.window, source)
    rate = s.rate or source.rate
    if rate <= 0:
        raise BenchError(f"{source.source} records no rate: set RATE to the requests per second to plan for")
    traffic = Traffic(rate, source.mix, source.cost)
    target = Target(s.p95_ms, s.max_shed)
    template = Stack(1, s.methods[0], nginx=s.nginx, cores_per_host=s.cores_per_host, long_job_s=s.long_job_s,
                     max_wait_s=s.max_wait_s)
    note(f"plan: {rate:g} req/s of {source.mix.text()} at {source.cost.per_unit_s * 1e9:.2f} ns a unit + "
         f"{source.cost.fixed_s * 1000:.2f} ms a request ({source.cost.source}); target p95 <= {s.p95_ms:g} ms, "
         f"503s <= {s.max_shed:.2%}; methods: {', '.join(s.methods)}")
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=min(len(s.methods), machine.cores())) as pool:
        futures = [pool.submit(search_method, replace(template, method=m), s.replicas_per_host, traffic, target,
                               s.max_replicas, s.jobs) for m in s.methods]
        for done in as_completed(futures):
            needed = done.result()
            note(f"plan: {needed.method}: {needed.replicas or 'not met with up to ' + str(s.max_replicas)} replicas "
                 f"({len(needed.trials)} simulated, {time.monotonic() - started:.0f} s)")
        found = [f.result() for f in futures]
    took = time.monotonic() - started
    out = bench.results_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-plan"
    summary = {"kind": "plan", "machine": machine.describe(), "took_s": round(took, 1),
               "inputs": inputs(s, rate, source), "methods": [needed_dict(n, template, s) for n in found]}
    publish(out, "plan.json", summary, report.markdown(summary), report.chart)
    return out


def search_method(template: Stack, replicas_per_host: int, traffic: Traffic, target: Target, ceiling: int,
                  jobs: int) -> Needed:
    return replicas_needed(lambda n: shape(template, n, replicas_per_host), traffic, target, ceiling, jobs)


def shape(template: Stack, replicas: int, replicas_per_host: int) -> Stack:
    """n replicas spread over as many hosts as they need: replicas_per_host each (default:
    one per core; with no cores per host given, a core for each replica)."""
    per_host = replicas_per_host or template.cores_per_host or replicas
    return replace(template, replicas=replicas, hosts=math.ceil(replicas / per_host))


def inputs(s: PlanSettings, rate: float, source: calibrate.Calibration) -> dict[str, Any]:
    return {"rate": rate, "job_mix": source.mix.text(), "p95_target_ms": s.p95_ms, "max_shed": s.max_shed,
            "per_unit_ns": round(source.cost.per_unit_s * 1e9, 3), "fixed_ms": source.cost.fixed_s * 1000,
            "cost_source": source.cost.source, "measured_on_cores": source.cores, "nginx": s.nginx,
            "cores_per_host": s.cores_per_host, "replicas_per_host": s.replicas_per_host,
            "long_job_s": s.long_job_s, "max_wait_s": s.max_wait_s, "jobs_per_trial": s.jobs,
            "result": calibrate.shown(s.result),
            "prometheus": s.prometheus or None}


def needed_dict(needed: Needed, template: Stack, s: PlanSettings) -> dict[str, Any]:
    best = needed.best()
    hosts = shape(template, needed.replicas, s.replicas_per_host).hosts if needed.replicas else None
    return {"method": needed.method, "replicas": needed.replicas, "hosts": hosts,
            "at": best.to_dict() if best else None, "trials": [t.to_dict() for t in needed.trials]}
