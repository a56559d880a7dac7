"""`python -m bench sweep`: the capacity of 1, 2, 4, 8 replicas against ideal linear scaling.

Capacity is found by a step search: k6 runs at a fixed rate, a rate that passes (0 errors,
0 dropped, p95 under the bound) moves the search up, one that fails moves it down, then
the gap is halved until it is within 5%. Fixed-rate runs measure each rate in steady state,
which a continuous ramp does not.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from . import chart, k6, machine, probe, report
from .progress import Progress, note
from .results import flatten, sustained
from .run import STARTUP_S, backend, results_dir
from .settings import Settings, duration_s

COOL_DOWN_S = 6
CURVES = {"many": "nginx + replicas", "workers": "uvicorn --workers"}


def cool_down(progress: Progress, seconds: float = COOL_DOWN_S) -> None:
    # After overload nginx keeps each failing replica out for fail_timeout (5 s,
    # nginx/upstream.conf); the next rate must start with all of them back.
    progress.say(f"cooling down {seconds:.0f} s so nginx takes the replicas back before the next rate")
    time.sleep(seconds)


def search(settings: Settings, url: str, start: float, out: Path, tag: str, progress: Progress, meta: tuple) -> tuple[float, list[dict]]:
    """Return the highest sustained rate (0 when even 1 req/s fails) and every run made."""
    low, high, rate, runs = 0.0, math.inf, max(round(start), 1), []
    for attempt in range(settings.sweep_runs):
        # Enough VUs to keep the rate while each request waits up to the p95 bound.
        vus = max(settings.vus, math.ceil(rate * settings.p95_ms / 1000))
        env = {"BASE_URL": url, "SCENARIO": "load", "RATE": f"{rate:g}", "DURATION": settings.sweep_duration,
               "VUS": str(vus), "P95_MS": str(settings.p95_ms), "P99_MS": str(settings.p99_ms)}
        run = flatten(*meta, k6.run(settings.k6, env, out, f"{tag}-{rate:g}", progress))
        ok = sustained(run, settings.p95_ms)
        runs.append({**run, "sustained": ok})
        note(f"{tag}: {rate:g} req/s {'sustained' if ok else 'NOT sustained'} "
             f"(failed {run['failed']}, dropped {run['dropped']}, p95 {run['p95_ms']:.0f} ms)")
        low, high = (max(low, rate), high) if ok else (low, min(high, rate))
        if not ok:
            cool_down(progress)
        if high == math.inf:
            rate = round(rate * 1.3)
        elif low == 0:
            rate = max(round(rate * 0.7), 1)
        elif high - low <= max(1, 0.05 * low):
            break
        else:
            rate = round((low + high) / 2)
        if rate in (low, high):
            break
    return low, runs


def sweep(settings: Settings, backend_name: str, with_workers: bool) -> Path:
    name, stacks = backend(backend_name)
    out, started = results_dir(settings)
    info = machine.describe()
    profiles = ["many", "workers"] if with_workers else ["many"]
    per_point = STARTUP_S + settings.sweep_runs * (duration_s(settings.sweep_duration) + 4)
    progress = Progress(len(profiles) * len(settings.sweep_scales) * per_point)
    curves: dict[str, list[dict]] = {CURVES[p]: [] for p in profiles}
    one_estimate = None
    for profile in profiles:
        previous = None
        for n in settings.sweep_scales:
            progress.label = f"sweep {profile} x{n}"
            with stacks.stack(settings, profile, n, progress) as url:
                if one_estimate is None:
                    progress.say("probing: timing one /api job to choose the first rate")
                    one_estimate = 1000 / probe.job_ms(url)
                guess = previous["capacity"] * n / previous["replicas"] if previous and previous["capacity"] else one_estimate * min(n, info["cores"])
                capacity, runs = search(settings, url, 0.8 * guess, out, f"{profile}{n}", progress,
                                        (profile, n, info["cores"], name))
            best = max((r for r in runs if r["sustained"]), key=lambda r: r["offered_rate"], default=None)
            previous = {"replicas": n, "capacity": capacity, "p95_ms": best["p95_ms"] if best else None, "runs": runs}
            curves[CURVES[profile]].append(previous)
    _efficiency(curves)
    summary = {"kind": "sweep", "started": started, "backend": name, "machine": info, "scales": settings.sweep_scales,
               "duration": settings.sweep_duration, "p95_bound_ms": settings.p95_ms, "curves": curves}
    report.write_sweep(out, summary)
    chart.sweep(out, summary)
    print(f"\nCapacity sweep ({info['cores']} cores, {info['cpu_model']}):\n")
    print(report.sweep_text(curves))
    print(f"\nResults: {out}/ (summary.json, report.md, chart.png, chart.svg, k6-*.log)", flush=True)
    return out


def _efficiency(curves: dict[str, list[dict]]) -> None:
    """capacity(N) / (N x capacity(1)), against the nginx curve's one-replica capacity."""
    first = next(iter(curves.values()))
    one = next((p["capacity"] for p in first if p["replicas"] == 1), None)
    for points in curves.values():
        for p in points:
            p["ideal"] = one * p["replicas"] if one else None
            p["efficiency"] = p["capacity"] / p["ideal"] if one else None
