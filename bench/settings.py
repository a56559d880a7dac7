"""Benchmark settings from the environment (the Makefile passes RATE, DURATION, ...)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import machine

ROOT = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """Something the user can fix: the message says what happened and what to do."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise BenchError(f"{name}={raw!r} is not a positive whole number; set it like {name}={default} or unset it")
    return int(raw)


def _positive(name: str, example: str) -> float | None:
    """A positive number from the environment; None when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise BenchError(f"{name}={raw!r} is not a positive number{example}")
    return value


def _rate(name: str) -> float | None:
    return _positive(name, f" of requests per second; e.g. {name}=40")


def duration_s(text: str, name: str = "DURATION") -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", text.strip())
    if not match:
        raise BenchError(f"{name}={text!r} is not like 20s, 1m or 500ms")
    return float(match[1]) * {"ms": 0.001, "s": 1, "m": 60}[match[2] or "s"]


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw not in ("", "0", "1", "yes", "no", "true", "false", "on", "off"):
        raise BenchError(f"{name}={raw!r} is not 1 or 0")
    return raw in ("1", "yes", "true", "on")


def _duration(name: str, default: str) -> str:
    text = os.environ.get(name, "").strip() or default
    duration_s(text, name)
    return text


def _shares(raw: str) -> tuple[float, ...]:
    if not raw:
        return ()
    try:
        shares = tuple(float(x) for x in raw.replace(" ", "").split(",") if x)
    except ValueError:
        shares = ()
    if not shares or not all(0 < x <= 1.5 for x in shares):
        raise BenchError(f"BALANCE_LOADS={raw!r} must list shares of the capacity like 0.5,0.7,0.9")
    return shares


def _scales(raw: str) -> list[int]:
    try:
        scales = sorted({int(x) for x in raw.replace(" ", "").split(",") if x})
    except ValueError:
        scales = []
    if not scales or scales[0] <= 0:
        raise BenchError(f"SWEEP_SCALES={raw!r} must list replica counts like 1,2,4,8")
    return scales


@dataclass(frozen=True)
class Settings:
    rate: float | None          # None: derived from one replica's measured capacity
    duration: str
    vus: int
    scale: int                  # replicas (or workers) of the many profile: one per core
    repeat: int                 # k6 runs per profile; the report shows median and spread
    probe_duration: str         # each step of the capacity search before a compare
    http_port: int
    workers_port: int
    project: str
    p95_ms: int
    p99_ms: int
    sweep_scales: list[int]
    sweep_duration: str
    sweep_runs: int
    rate_p95_ms: int            # `rate`: the latency bound at high request rates
    results_dir: Path
    k6: str
    node_port: int              # `runtimes`: where the Node reference (reference/node-cluster) publishes
    runtimes_vus: int           # `runtimes`: the one fixed concurrency of every profile's capacity search
    api_image: str | None       # API_IMAGE for the Docker backend; "{runtime}" in it becomes cpython or pypy
    nginx: str                  # the host backend's nginx binary; empty: searched for (backends/host.py)
    host_replica_port: int      # the host backend's first replica port, then one up per replica
    cost_requests: int          # `cost`: requests of the article's job (both parts)
    cost_cheap_requests: int    # `cost`, metrics on vs off: requests of the cheap job
    cost_port: int              # `cost`, metrics on vs off: the first of the two replicas' ports
    balance_loads: tuple[float, ...] = (0.5, 0.7, 0.9)  # `balance`: offered rates, as shares of the capacity
    slow_cpus: float = 0.2      # `balance`: `docker update --cpus` of the one slowed replica of 4
    monitor: bool = False       # MONITOR=1: compose's monitoring profile, k6 remote write, PromQL per run
    prometheus_port: int = 9090

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        http_port = _int("HTTP_PORT", 8080)
        duration = _duration("DURATION", "20s")
        venv_k6 = ROOT / ".venv" / "bin" / "k6"
        return cls(
            rate=_rate("RATE"),
            duration=duration,
            vus=_int("VUS", 10),
            scale=_int("SCALE", machine.cores()),
            repeat=_int("REPEAT", 1),
            probe_duration=_duration("PROBE_DURATION", "5s"),
            http_port=http_port,
            workers_port=_int("WORKERS_PORT", http_port + 10),
            project=env.get("BENCH_PROJECT", "").strip() or "pycluster-bench",
            p95_ms=_int("P95_MS", 500),
            p99_ms=_int("P99_MS", 1000),
            sweep_scales=_scales(env.get("SWEEP_SCALES", "1,2,4,8")),
            sweep_duration=_duration("SWEEP_DURATION", "10s"),
            sweep_runs=_int("SWEEP_RUNS", 6),
            rate_p95_ms=_int("RATE_P95_MS", 100),
            results_dir=Path(env.get("RESULTS_DIR", "").strip() or ROOT / "results"),
            k6=env.get("K6", "").strip() or (str(venv_k6) if venv_k6.exists() else "k6"),
            node_port=_int("NODE_PORT", 3000),
            runtimes_vus=_int("RUNTIMES_VUS", 32),
            api_image=env.get("API_IMAGE", "").strip() or None,
            balance_loads=_shares(env.get("BALANCE_LOADS", "").strip()) or cls.balance_loads,
            slow_cpus=_positive("SLOW_CPUS", f"; e.g. SLOW_CPUS={cls.slow_cpus}") or cls.slow_cpus,
            monitor=_flag("MONITOR"),
            prometheus_port=_int("PROMETHEUS_PORT", 9090),
            nginx=env.get("NGINX", "").strip(),
            host_replica_port=_int("HOST_REPLICA_PORT", 18001),
            cost_requests=_int("COST_REQUESTS", 300),
            cost_cheap_requests=_int("COST_CHEAP_REQUESTS", 12000),
            cost_port=_int("COST_PORT", 18701),
        )
