"""`python -m bench plan-scale`: the planner's answers at sizes no machine here reaches, for
docs/capacity.md. All simulated, calibrated by the committed 2-core bench-balance run.

1. methods: traffic that keeps C cores 80% busy (C = 16, 64, 256, 16-core hosts), the
   article's job and the mix: each method's p95 with C replicas, and the replicas it needs
   for p95 <= TARGET_MS.
2. nginx: the mix at 64 cores through 1, 2 and 4 nginx instances.
3. sweep: what `make bench-sweep` would find on a 16-core box (k6 and nginx on the same
   cores, as the 2-core runs): capacity at 1..16 replicas against one, the ratios the
   device would confirm or refute.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.work import DEFAULT_N

from .. import machine
from ..report import publish
from ..settings import ROOT, Settings, duration_s
from . import calibrate, scale_report, search
from .command import shape
from .search import Target, capacity, replicas_needed, trial
from .settings import COMMITTED
from .sim import Traffic
from .validate import measured_other_cpu
from .workload import METHODS, QUEUE, Stack, parse_mix

OUT = ROOT / "docs" / "benchmarks" / "plan-scale"
CORES = (16, 64, 256)
HOST_CORES = 16
LOAD = 0.8
TARGET_MS = 50.0
NGINX = (1, 2, 4)
NGINX_METHODS = ("round-robin", "least_conn", "random two least_conn")
SWEEP = (1, 2, 4, 8, 16)
# Twice the planner's jobs a trial: where p95 barely falls with more replicas (round-robin,
# random), 30,000 jobs' noise moves the count needed by ~10%.
JOBS = 2 * search.JOBS
ARTICLE = f"1:{DEFAULT_N}"
# The replica search's ceiling, in replicas per core of load.
CEILING = 4


def workloads(source: calibrate.Calibration) -> dict[str, Traffic]:
    return {"article's job": Traffic(1.0, parse_mix(ARTICLE), source.cost),
            "the mix": Traffic(1.0, source.mix, source.cost)}


def method_row(workload: str, traffic: Traffic, cores: int, method: str, nginx: int = 1,
               jobs: int = JOBS) -> dict[str, Any]:
    traffic = replace(traffic, rate=LOAD * cores / search.mean_demand_s(traffic))
    template = Stack(1, method, cores_per_host=HOST_CORES, nginx=nginx)
    at_cores = trial(shape(template, cores, 0), traffic, Target(TARGET_MS), jobs)
    needed = replicas_needed(lambda n: shape(template, n, 0), traffic, Target(TARGET_MS), CEILING * cores, jobs)
    return {"workload": workload, "cores": cores, "method": method, "nginx": nginx, "rate": round(traffic.rate),
            "at_cores": at_cores.to_dict(), "needed": needed.replicas, "ceiling": CEILING * cores}


def sweep_point(traffic: Traffic, replicas: int, other_cpu_s: float, p95_ms: float, step_s: float) -> dict[str, Any]:
    stack = Stack(replicas, "least_conn", cores_per_host=HOST_CORES, host_cpu_per_request_s=other_cpu_s)
    found = capacity(stack, replace(traffic, arrivals="even"), p95_bound_ms=p95_ms, duration_s=step_s)
    return {"replicas": replicas, "capacity": round(found, 1)}


def plan_scale(settings: Settings, out: Path = OUT) -> Path:
    """The sweep's bound and steps are the bench's own (P95_MS, SWEEP_DURATION)."""
    p95_ms, step_s = float(settings.p95_ms), duration_s(settings.sweep_duration, "SWEEP_DURATION")
    source = calibrate.from_file(COMMITTED)
    loads = workloads(source)
    other = measured_other_cpu()  # k6, nginx, Docker's proxy, the kernel, as on the 2-core runs
    with ProcessPoolExecutor(max_workers=machine.cores()) as pool:
        methods = [pool.submit(method_row, w, t, c, m) for w, t in loads.items() for c in CORES
                   for m in (*METHODS, QUEUE)]
        nginx = [pool.submit(method_row, "the mix", loads["the mix"], 64, m, n) for m in NGINX_METHODS for n in NGINX]
        sweep = [pool.submit(sweep_point, loads["article's job"], n, other, p95_ms, step_s) for n in SWEEP]
        result = {"kind": "plan-scale", "cost_source": source.cost.source, "per_unit_ns": source.cost.per_unit_s * 1e9,
                  "fixed_ms": source.cost.fixed_s * 1000, "mix": source.mix.text(), "load": LOAD,
                  "target_ms": TARGET_MS, "max_shed": Target.max_shed, "host_cores": HOST_CORES,
                  "other_cpu_ms": round(other * 1000, 3), "sweep_p95_ms": p95_ms, "sweep_step_s": step_s,
                  "methods": [f.result() for f in methods], "nginx": [f.result() for f in nginx],
                  "sweep": [f.result() for f in sweep]}
    publish(out, "scale.json", result, scale_report.markdown(result))
    return out
