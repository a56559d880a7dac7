"""`python -m bench runtimes`: CPython, PyPy and the article's Node cluster, side by side.

Each profile (bench/profiles.py RUNTIME_PROFILES: CPython and PyPy with one replica and with
SCALE replicas behind nginx, then the Node reference with SCALE cluster workers) is brought
up once and gets, in turn:

1. the article's test (RATE, default 150 req/s, for DURATION with VUS), as `make bench` runs it;
2. its capacity on /api: the step search of bench/capacity.py from a start rate that
   bench/backends/probe.py measures, every step with the same RUNTIMES_VUS VUs for every profile, so
   that capacities are measured at one concurrency, each with 0 errors (Run.sustained).

The summary (summary.Runtimes) puts the article's published rows beside ours, and the ratios
of capacities (summary.RATIO_RULES) say what PyPy, scaling out and Node bring.
"""

from __future__ import annotations

import time
from pathlib import Path

from .. import backends, machine
from ..backends import probe
from ..model import ARTICLE_RATE
from ..profiles import PYTHON_RUNTIMES, RUNTIME_PROFILES, Profile
from ..progress import Progress, note
from ..report import machine_lines, text
from ..runner import COOL_DOWN_S, STARTUP_S, Runner, results_dir
from ..settings import BenchError, Settings, duration_s
from . import chart, report
from .summary import RuntimeResult, Runtimes

START_SHARE = 0.8   # the search starts at 80% of what the probed job time allows on min(N, cores)


def parse(names: str) -> list[Profile]:
    """A comma-separated subset of RUNTIME_PROFILES, in the order given; empty: all five."""
    known = {p.name: p for p in RUNTIME_PROFILES}
    wanted = [n.strip() for n in names.split(",") if n.strip()] or list(known)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"unknown runtime profile(s) {unknown}; choose from {', '.join(known)}")
    return [known[n] for n in wanted]


def check_image(settings: Settings, profiles: list[Profile]) -> None:
    """One API_IMAGE name for two runtimes would have the second build overwrite the first."""
    runtimes = {p.runtime for p in profiles if p.runtime in PYTHON_RUNTIMES}
    if settings.api_image and "{runtime}" not in settings.api_image and len(runtimes) > 1:
        raise BenchError(f"API_IMAGE={settings.api_image} would name both the CPython and the PyPy build: "
                         "put {runtime} in it (API_IMAGE=pycluster-api:bench-{runtime}) or unset it")


def start_rate(job_ms: float, replicas: int, cores: int) -> float:
    return START_SHARE * 1000 / job_ms * min(replicas, cores)


def planned_s(settings: Settings, profiles: int) -> float:
    search = settings.sweep_runs * (duration_s(settings.sweep_duration) + 4)
    return profiles * (STARTUP_S + duration_s(settings.duration) + 5 + search)


def runtimes(settings: Settings, backend_name: str, profiles: list[Profile]) -> Path:
    check_image(settings, profiles)
    rate = settings.rate or ARTICLE_RATE
    progress = Progress(planned_s(settings, len(profiles)))
    out, started = results_dir(settings)
    runner = Runner(settings, backends.pick(backend_name, settings, progress), out, progress)
    results: list[RuntimeResult] = []
    for i, profile in enumerate(profiles):
        replicas = profile.replicas(settings.scale)
        label = profile.label(replicas)
        progress.label = f"{i + 1}/{len(profiles)} {label}"
        with runner.backend.stack(profile, replicas) as url:
            version = runner.backend.runtime_version(profile, url)
            note(f"{label}: {version}")
            progress.say(f"the article's test: {rate:g} req/s for {settings.duration} with {settings.vus} VUs")
            article = runner.run(url, profile, replicas, rate, name=profile.name)
            note(f"{label}, the article's test: {article.achieved_rps:.1f} req/s, {article.completed} completed, "
                 f"{article.failed} errors, {article.dropped} dropped, mean {article.mean_ms:.1f} ms, "
                 f"longest {article.max_ms:.0f} ms")
            if not article.thresholds_passed:
                time.sleep(COOL_DOWN_S)  # let nginx take back replicas it marked failed
            progress.say(f"capacity at {settings.runtimes_vus} VUs: timing one /api job for the first rate")
            start = start_rate(probe.job_ms(url), replicas, runner.cores)
            found = runner.capacity(url, profile, replicas, start, tag=f"capacity-{profile.name}",
                                    duration=settings.sweep_duration, p95_ms=settings.p95_ms,
                                    vus=settings.runtimes_vus)
        results.append(RuntimeResult(profile=profile.name, runtime=profile.runtime or "cpython",
                                     version=version, replicas=replicas, article=article,
                                     capacity=found.capacity, capacity_runs=found.runs))
        note(f"{label}: capacity {found.capacity:g} req/s at {settings.runtimes_vus} VUs")
    summary = Runtimes(started=started, backend=runner.backend.name, machine=machine.describe(), rate=rate,
                       duration=settings.duration, vus=settings.vus, capacity_vus=settings.runtimes_vus,
                       capacity_duration=settings.sweep_duration, p95_bound_ms=settings.p95_ms,
                       p99_bound_ms=settings.p99_ms, results=results)
    report.write_runtimes(out, summary)
    chart.runtimes(out, summary)
    print_summary(out, summary)
    return out


def print_summary(out: Path, summary: Runtimes) -> None:
    print(f"\nThe article's test: its published rows, then ours on this machine ({summary.machine['cores']} "
          f"cores, {summary.machine['cpu_model']}):\n")
    print(text(report.runtimes_table(summary)))
    print(f"\n{report.runtimes_intro(summary)}\n\nCapacity at {summary.capacity_vus} VUs:\n")
    print(text(report.capacity_table(summary)))
    print()
    print(text(report.ratios_table(summary)))
    print(f"\n{report.capacity_intro(summary)}\n\nMachine:\n" + "\n".join(machine_lines(summary.machine)))
    print(f"\nResults: {out}/ (summary.json, report.md, chart.png, chart.svg, k6-*.html, k6-*.log)", flush=True)
