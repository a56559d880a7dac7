"""What a job costs, and which jobs come, read from a measured result file.

The cost per unit of work is the replicas' own CPU (cgroup seconds, bench/resources) per
request served, less the fixed cost of a request, over the units the requests asked for:
a measurement of CPU, never fitted to the latencies the planner then predicts.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.work import DEFAULT_N

from ..settings import ROOT, BenchError
from .workload import Cost, Mix, parse_mix

# The replicas' CPU per request of /api?n=1000 (1001 units, ~0.02 ms of them), and the
# latency of that request outside the replica (k6 -> nginx -> replica and back, on one
# host): p50 less the replica's CPU. Both from the HTTP/1.1 row of `make bench-tls`
# (docs/benchmarks/2core-tls/tls.json; tests/bench/plan/test_calibrate.py holds them to it).
FIXED_S = 0.0002
OUTSIDE_S = 0.00015


@dataclass(frozen=True)
class Calibration:
    mix: Mix
    cost: Cost
    cores: int                    # of the machine that measured it
    rate: float                   # the rate the file measured at most (a default for RATE)
    p95_bound_ms: float | None    # the file's own latency bound, if it had one
    source: str


def from_file(path: Path, fixed_s: float = FIXED_S, mix: Mix | None = None) -> Calibration:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read the result file {path}: {exc}") from None
    return from_summary(data, path, fixed_s, mix)


def from_summary(data: dict[str, Any], path: Path, fixed_s: float = FIXED_S, mix: Mix | None = None) -> Calibration:
    """A summary already read (path: where it came from, for the messages)."""
    kind = data.get("kind")
    if kind == "balance":
        return _balance(data, path, fixed_s, mix)
    if kind == "compare":
        return _compare(data, path, fixed_s, mix)
    raise BenchError(f"{path} is a {kind!r} summary; the planner reads a `make bench` (compare) or "
                     "`make bench-balance` (balance) summary.json, which record the replicas' CPU per request")


def per_unit(cpu_per_request_s: list[float], fixed_s: float, mean_units: float, where: str) -> float:
    if not cpu_per_request_s:
        raise BenchError(f"{where} holds no run with the replicas' CPU (resources): run the bench again "
                         "on Docker or the host backend, which measure it")
    cpu = statistics.median(cpu_per_request_s)
    if cpu <= fixed_s:
        raise BenchError(f"{where}: {cpu * 1000:.3f} ms of CPU per request is below the fixed cost "
                         f"{fixed_s * 1000:.3f} ms (PLAN_FIXED_MS): the job is too cheap to size replicas by")
    return (cpu - fixed_s) / mean_units


def _balance(data: dict[str, Any], path: Path, fixed_s: float, mix: Mix | None) -> Calibration:
    measured_mix = parse_mix(data["job_mix"])
    # Replicas behind nginx only: a --workers container or the Node cluster runs other code.
    runs = [e["run"] for e in data["entries"] if e["case"] == "methods" and "rate" in e
            and not e["stack"].startswith(("uvicorn", "Node"))]
    cpu = [r["resources"]["cpu_ms_per_request"] / 1000 for r in runs
           if (r.get("resources") or {}).get("cpu_ms_per_request") is not None]
    unit = per_unit(cpu, fixed_s, measured_mix.mean_units, str(path))
    return Calibration(mix or measured_mix, Cost(fixed_s, unit, f"{shown(path)} ({len(cpu)} runs)", OUTSIDE_S),
                       data["machine"]["cores"], float(data["capacity"]), None, shown(path))


def _compare(data: dict[str, Any], path: Path, fixed_s: float, mix: Mix | None) -> Calibration:
    runs = [r for r in data["runs"] if (r.get("resources") or {}).get("replicas_cpu_s") is not None]
    sizes = {job_size(r["target_url"]) for r in runs}
    if len(sizes) > 1:
        raise BenchError(f"{path} measured several job sizes {sorted(sizes)}: the planner needs one per file")
    n = sizes.pop() if sizes else DEFAULT_N
    served = [(r["resources"]["replicas_cpu_s"], r["completed"] - r["failed"]) for r in runs]
    cpu = [seconds / count for seconds, count in served if count > 0]
    unit = per_unit(cpu, fixed_s, n + 1, str(path))
    rate = max((r["achieved_rps"] for r in data["runs"]), default=0.0)
    return Calibration(mix or parse_mix(f"1:{n}"), Cost(fixed_s, unit, f"{shown(path)} ({len(cpu)} runs)", OUTSIDE_S),
                       data["machine"]["cores"], float(rate), float(data["p95_bound_ms"]), shown(path))


def shown(path: Path) -> str:
    """A path as the reports print it: from the repository's root when it is inside."""
    return str(path.relative_to(ROOT)) if path.is_absolute() and path.is_relative_to(ROOT) else str(path)


def job_size(url: str) -> int:
    """n of /api?n=..., the article's 7**7 when the URL names none."""
    values = parse_qs(urlsplit(url).query).get("n")
    return int(values[0]) if values else DEFAULT_N
