"""`python -m bench plan`'s inputs, from the environment as every bench command reads them.

RATE, JOB_MIX and P95_MS mean what they mean to the benchmarks; the PLAN_* ones are the
planner's own, and API_LONG_JOB_S / API_MAX_WAIT_S are the replicas' (app/settings.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app.settings import Settings as ReplicaDefaults

from ..settings import ROOT, BenchError, Settings
from .calibrate import FIXED_S
from .search import JOBS, Target
from .workload import METHODS, QUEUE, method_name

# What `make plan` reads on a fresh clone, before any bench of your own ran: the committed
# 2-core run of `make bench-balance`.
COMMITTED = ROOT / "docs" / "benchmarks" / "2core-balance" / "summary.json"


@dataclass(frozen=True)
class PlanSettings:
    result: Path
    rate: float | None            # None: the rate the result file measured
    job_mix: str                  # "": the result file's
    p95_ms: float
    methods: tuple[str, ...]
    nginx: int
    cores_per_host: int           # 0: a core for each replica
    replicas_per_host: int        # 0: as many as the host has cores
    long_job_s: float
    max_wait_s: float
    fixed_s: float
    prometheus: str               # a Prometheus URL: the mix and cost from the replicas' job histogram
    window: str
    max_shed: float
    max_replicas: int
    jobs: int

    @classmethod
    def from_env(cls, bench: Settings, env: Mapping[str, str] | None = None) -> PlanSettings:
        """RATE, P95_MS and where results go (for the newest run) as the benches read them."""
        env = os.environ if env is None else env

        def whole(name: str, default: int, low: int = 0) -> int:
            value = number(name, default, low)
            if value != int(value):
                raise BenchError(f"{env[name].strip()!r} for {name} is not a whole number")
            return int(value)

        def number(name: str, default: float, low: float = 0.0) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise BenchError(f"{name}={raw!r} is not a number") from None
            if not low <= value < float("inf"):
                raise BenchError(f"{name}={raw} must be at least {low:g}")
            return value
        methods = env.get("PLAN_METHODS", "").strip()
        nginx = whole("PLAN_NGINX", 1, 1)
        return cls(
            result=Path(env.get("PLAN_RESULT", "").strip() or newest_result(bench.results_dir)),
            rate=bench.rate,
            job_mix=env.get("JOB_MIX", "").strip(),
            p95_ms=float(bench.p95_ms),
            methods=tuple(method_name(m) for m in methods.split(",")) if methods else default_methods(nginx),
            nginx=nginx,
            cores_per_host=whole("PLAN_CORES_PER_HOST", 0),
            replicas_per_host=whole("PLAN_REPLICAS_PER_HOST", 0),
            long_job_s=number("API_LONG_JOB_S", ReplicaDefaults.long_job_s),
            max_wait_s=number("API_MAX_WAIT_S", ReplicaDefaults.max_wait_s),
            fixed_s=number("PLAN_FIXED_MS", FIXED_S * 1000) / 1000,
            prometheus=env.get("PLAN_PROMETHEUS", "").strip(),
            window=env.get("PLAN_WINDOW", "").strip() or "15m",
            max_shed=shed_share(number("PLAN_MAX_SHED", Target.max_shed)),
            max_replicas=whole("PLAN_MAX_REPLICAS", 4096, 1),
            jobs=whole("PLAN_JOBS", JOBS, 1000),
        )


def shed_share(value: float) -> float:
    if value >= 1:
        raise BenchError(f"PLAN_MAX_SHED={value:g} is not a share of the requests: set it below 1, e.g. 0.001")
    return value


def default_methods(nginx: int) -> tuple[str, ...]:
    """Every nginx method, and the central queue where there is one nginx (it is one queue)."""
    return (*METHODS, QUEUE) if nginx == 1 else METHODS


def newest_result(results: Path) -> Path:
    """The newest summary.json under results/ that the planner can read, else the committed one."""
    found = sorted((p for p in results.glob("*/summary.json") if _kind(p) in ("compare", "balance")),
                   key=lambda p: p.parent.name)
    return found[-1] if found else COMMITTED


def _kind(path: Path) -> str:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return ""  # a run cut short: not one to plan from
    return str(data.get("kind", "")) if isinstance(data, dict) else ""
