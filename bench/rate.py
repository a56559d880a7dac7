"""`python -m bench rate`: nginx + N replicas against `uvicorn --workers N` at high request rates.

With the article's job a replica serves ~30 req/s per core, and nginx is idle. With cheap
requests (`GET /`, `/api?n=1000`) the proxy hop and the HTTP path are the load, which is
where a proxy in front could cost more than it brings. Capacity of both, per path, and the ratio.
"""

from __future__ import annotations

from pathlib import Path

from . import backends, machine, report
from .backends import probe
from .model import Point, Sweep
from .profiles import MANY, WORKERS
from .progress import Progress
from .runner import STARTUP_S, Runner, results_dir
from .settings import Settings, duration_s

PATHS = ("/", "/api?n=1000")


def rate(settings: Settings, backend_name: str) -> Path:
    n = settings.scale
    per_path = settings.sweep_runs * (duration_s(settings.sweep_duration) + 4)
    progress = Progress(2 * (STARTUP_S + len(PATHS) * per_path))
    out, started = results_dir(settings)
    runner = Runner(settings, backends.pick(backend_name, settings, progress), out, progress)
    curves: dict[str, list[Point]] = {}
    guesses: dict[str, float] = {}
    for profile in (MANY, WORKERS):
        progress.label = f"rate {profile.title(n)}"
        with runner.backend.stack(profile, n) as url:
            for path in PATHS:
                # The first profile's capacity starts the second one's search.
                start = guesses.get(path) or 0.5 * 1000 / probe.job_ms(url, path) * min(n, runner.cores)
                tag = f"{profile.name}{n}-{'root' if path == '/' else 'api1000'}"
                found = runner.capacity(url, profile, n, start, tag=tag, duration=settings.sweep_duration,
                                        p95_ms=settings.rate_p95_ms, path=path)
                guesses.setdefault(path, found.capacity)
                best = found.best(settings.rate_p95_ms)
                curves[f"{profile.curve}: {path}"] = [Point(n, found.capacity, best.p95_ms if best else None,
                                                            found.runs)]
    summary = Sweep(started=started, backend=runner.backend.name, machine=machine.describe(), scales=[n],
                    duration=settings.sweep_duration, p95_bound_ms=settings.rate_p95_ms, curves=curves, kind="rate")
    report.write_rate(out, summary)
    print(f"\nHigh-rate comparison, N = {n} ({summary.machine['cores']} cores, {summary.machine['cpu_model']}):\n")
    print(report.text(report.rate_table(summary)))
    print(f"\nResults: {out}/ (summary.json, report.md, k6-*.html, k6-*.log)", flush=True)
    return out
