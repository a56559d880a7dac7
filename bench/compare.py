"""`python -m bench compare`: the same open-model load against each profile, side by side.

The offered rate (unless RATE is set) follows from a measurement, not a guess: a short
capacity search on the first profile's stack finds what one replica sustains.
"""

from __future__ import annotations

import time
from pathlib import Path

from . import backends, chart, machine, report
from .backends import probe
from .model import ARTICLE_RATE, Compare, Rate, Run
from .profiles import ONE, Profile
from .progress import Progress, note
from .runner import COOL_DOWN_S, STARTUP_S, Runner, results_dir
from .settings import BenchError, Settings, duration_s

OVERLOAD = 1.3      # one replica gets 30% more than it sustains: its queue grows
MANY_SHARE = 0.7    # of the ideal min(N, cores) x one replica, what the many profile surely sustains
EQUAL_LOAD = 0.8    # profiles compared at equal load (no single replica): 80% of the first one's capacity


def choose_rate(capacity_one: float, replicas: int, cores: int) -> Rate:
    """The article's 150 req/s when it overloads one replica and the many profile surely
    serves it; else 1.3 x one replica's capacity."""
    if capacity_one <= 0:
        raise BenchError("one replica sustained no rate at all in the capacity search: see its k6-*.log; "
                         "set RATE= to force a rate")
    parallel = min(replicas, cores)
    safe = MANY_SHARE * parallel * capacity_one
    head = (f"one replica sustains {capacity_one:g} req/s here (capacity search: 0 errors, 0 dropped, "
            f"p95 under the bound); {replicas} replicas on {cores} core(s) run {parallel} jobs at once")
    if OVERLOAD * capacity_one <= ARTICLE_RATE <= safe:
        return Rate(ARTICLE_RATE, f"{head}, so the article's {ARTICLE_RATE:g} req/s overloads one replica "
                                  f"({ARTICLE_RATE / capacity_one:.1f}x) and fits the many profile.")
    rate = float(round(OVERLOAD * capacity_one))
    fits = ("and should fit the many profile" if rate <= safe else
            f"but this machine has too few cores for the many profile to serve it surely (~{safe:.0f} req/s)")
    return Rate(rate, f"{head}. Offering {OVERLOAD}x that, {rate:g} req/s, overloads one replica {fits} "
                      f"(the article's {ARTICLE_RATE:g} req/s would not separate them here; set RATE= to choose).")


def _find_rate(runner: Runner, url: str, profile: Profile, replicas: int, scale: int) -> tuple[Rate, list[Run]]:
    s = runner.settings
    runner.progress.say("probing: a capacity search on this profile chooses the offered rate")
    start = 1000 / probe.job_ms(url) * min(replicas, runner.cores)
    found = runner.capacity(url, profile, replicas, 0.8 * start, tag=f"probe-{profile.name}",
                            duration=s.probe_duration, p95_ms=s.p95_ms)
    if profile is ONE:
        return choose_rate(found.capacity, scale, runner.cores), found.runs
    rate = float(max(round(EQUAL_LOAD * found.capacity), 1))
    return Rate(rate, f"{profile.title(replicas)} sustains {found.capacity:g} req/s here (capacity search); "
                      f"every profile gets {EQUAL_LOAD:.0%} of that, {rate:g} req/s."), found.runs


def compare(settings: Settings, backend_name: str, profiles: list[Profile]) -> Path:
    progress = Progress(len(profiles) * (STARTUP_S + settings.repeat * (duration_s(settings.duration) + 5)))
    out, started = results_dir(settings)
    runner = Runner(settings, backends.pick(backend_name, settings, progress), out, progress)
    rate = Rate(settings.rate, "RATE was set.") if settings.rate else None
    runs: list[Run] = []
    probes: list[Run] = []
    for i, profile in enumerate(profiles):
        replicas = profile.replicas(settings.scale)
        progress.label = f"{i + 1}/{len(profiles)} {profile.title(replicas)}"
        with runner.backend.stack(profile, replicas) as url:
            if rate is None:
                rate, probes = _find_rate(runner, url, profile, replicas, settings.scale)
                note(rate.why)
            for k in range(settings.repeat):
                name = profile.name if settings.repeat == 1 else f"{profile.name}-{k + 1}"
                run = runner.run(url, profile, replicas, rate.offered, name=name)
                note(f"{profile.title(replicas)} run {k + 1}/{settings.repeat}: {run.achieved_rps:.1f} req/s, "
                     f"{run.failed} failed, {run.dropped} dropped, mean {run.mean_ms:.1f} ms")
                runs.append(run)
                if not run.thresholds_passed and k + 1 < settings.repeat:
                    time.sleep(COOL_DOWN_S)  # let nginx take back replicas it marked failed
    if rate is None:
        raise BenchError("no profile was run: pass at least one to --profiles")
    summary = Compare(started=started, backend=runner.backend.name, machine=machine.describe(), rate=rate,
                      duration=settings.duration, vus=settings.vus, p95_bound_ms=settings.p95_ms,
                      p99_bound_ms=settings.p99_ms, runs=runs, repeat=settings.repeat, capacity_search=probes)
    report.write_compare(out, summary)
    chart.compare(out, summary)
    print(f"\nSide by side ({rate.offered:g} req/s offered for {settings.duration}, {settings.vus} VUs, "
          f"{summary.machine['cores']} cores, {summary.machine['cpu_model']}"
          f"{f', median (min-max) of {settings.repeat} runs' if settings.repeat > 1 else ''}):\n")
    print(report.text(report.compare_table(summary)))
    print(f"\n{rate.why}\nResults: {out}/ (summary.json, report.md, chart.png, chart.svg, k6-*.html, k6-*.log)",
          flush=True)
    return out

