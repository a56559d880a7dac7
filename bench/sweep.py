"""`python -m bench sweep`: the capacity of 1, 2, 4, 8 replicas against ideal linear scaling.

Each point is a capacity search (bench/capacity.py) on a freshly started profile.
"""

from __future__ import annotations

from pathlib import Path

from . import backends, chart, machine, report
from .backends import probe
from .model import Point, Sweep, with_efficiency
from .profiles import MANY, WORKERS, Profile
from .progress import Progress
from .runner import STARTUP_S, Runner, results_dir
from .settings import Settings, duration_s


def first_guess(previous: Point | None, replicas: int, one_estimate: float, cores: int) -> float:
    """Where a point's search starts: the last capacity scaled linearly, else the job time."""
    if previous and previous.capacity:
        return previous.capacity * replicas / previous.replicas
    return one_estimate * min(replicas, cores)


def sweep(settings: Settings, backend_name: str, with_workers: bool) -> Path:
    profiles: list[Profile] = [MANY, WORKERS] if with_workers else [MANY]
    per_point = STARTUP_S + settings.sweep_runs * (duration_s(settings.sweep_duration) + 4)
    progress = Progress(len(profiles) * len(settings.sweep_scales) * per_point)
    out, started = results_dir(settings)
    runner = Runner(settings, backends.pick(backend_name, settings, progress), out, progress)
    curves: dict[str, list[Point]] = {p.curve: [] for p in profiles}
    one_estimate = None
    for profile in profiles:
        previous = None
        for n in settings.sweep_scales:
            progress.label = f"sweep {profile.title(n)}"
            with runner.backend.stack(profile, n) as url:
                if one_estimate is None:
                    progress.say("probing: timing one /api job to choose the first rate")
                    one_estimate = 1000 / probe.job_ms(url)
                start = 0.8 * first_guess(previous, n, one_estimate, runner.cores)
                found = runner.capacity(url, profile, n, start, tag=f"{profile.name}{n}",
                                        duration=settings.sweep_duration, p95_ms=settings.p95_ms)
            best = found.best(settings.p95_ms)
            previous = Point(n, found.capacity, best.p95_ms if best else None, found.runs)
            curves[profile.curve].append(previous)
    summary = Sweep(started=started, backend=runner.backend.name, machine=machine.describe(),
                    scales=settings.sweep_scales, duration=settings.sweep_duration,
                    p95_bound_ms=settings.p95_ms, curves=with_efficiency(curves))
    report.write_sweep(out, summary)
    chart.sweep(out, summary)
    print(f"\nCapacity sweep ({summary.machine['cores']} cores, {summary.machine['cpu_model']}):\n")
    print(report.text(report.sweep_table(summary.curves, summary.p95_bound_ms)))
    print(f"\nResults: {out}/ (summary.json, report.md, chart.png, chart.svg, k6-*.html, k6-*.log)", flush=True)
    return out
