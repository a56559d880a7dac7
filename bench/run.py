"""`python -m bench compare`: the same open-model load against each profile, side by side."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import ModuleType

from . import chart, docker_stack, host, k6, machine, probe, report
from .progress import Progress, note
from .results import flatten
from .settings import BenchError, Settings

STARTUP_S = 25   # rough cost of bringing a profile up and down, for the time-left estimate
BACKENDS = {"docker": docker_stack, "host": host}


def backend(name: str) -> tuple[str, ModuleType]:
    if name == "auto":
        name = "docker" if docker_stack.available() else "host"
        note(f"backend: {name} ({'Docker answers' if name == 'docker' else 'no Docker engine: host processes'})")
    elif name == "docker" and not docker_stack.available():
        raise BenchError("Docker does not answer (`docker info` fails): run `make setup`, "
                         "or benchmark without Docker: `make bench-host`")
    return name, BACKENDS[name]


def replicas_of(profile: str, settings: Settings) -> int:
    return 1 if profile == "one" else settings.scale


def results_dir(settings: Settings) -> tuple[Path, str]:
    started = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = settings.results_dir / started
    out.mkdir(parents=True, exist_ok=False)
    return out, started


def load_env(settings: Settings, url: str, rate: float) -> dict[str, str]:
    return {"BASE_URL": url, "SCENARIO": "load", "RATE": f"{rate:g}", "DURATION": settings.duration,
            "VUS": str(settings.vus), "P95_MS": str(settings.p95_ms), "P99_MS": str(settings.p99_ms)}


def compare(settings: Settings, backend_name: str, profiles: list[str]) -> Path:
    name, stacks = backend(backend_name)
    out, started = results_dir(settings)
    info = machine.describe()
    per_run = STARTUP_S + settings.duration_s + 5
    progress = Progress(len(profiles) * per_run)
    rate, why = settings.rate, "RATE was set."
    runs = []
    for i, profile in enumerate(profiles):
        replicas = replicas_of(profile, settings)
        progress.label = f"{i + 1}/{len(profiles)} {profile} x{replicas}"
        with stacks.stack(settings, profile, replicas, progress) as url:
            if rate is None:
                progress.say("probing: timing one /api job to choose the offered rate")
                most = max(replicas_of(p, settings) for p in profiles)
                rate, why = probe.choose_rate(probe.job_ms(url), most, info["cores"])
                note(why)
            progress.replan((len(profiles) - i) * per_run - STARTUP_S + 5)
            result = k6.run(settings.k6, load_env(settings, url, rate), out, profile, progress)
        print(result["text"], flush=True)
        runs.append(flatten(profile, replicas, info["cores"], name, result))
    summary = {"kind": "compare", "started": started, "backend": name, "machine": info,
               "rate": {"offered": rate, "why": why}, "duration": settings.duration, "vus": settings.vus,
               "p95_bound_ms": settings.p95_ms, "p99_bound_ms": settings.p99_ms, "runs": runs}
    report.write_compare(out, summary)
    chart.compare(out, summary)
    print(f"\nSide by side ({rate:g} req/s offered for {settings.duration}, {settings.vus} VUs, "
          f"{info['cores']} cores, {info['cpu_model']}):\n")
    print(report.text_table(runs))
    print(f"\n{why}\nResults: {out}/ (summary.json, report.md, chart.png, chart.svg, k6-*.log)", flush=True)
    return out

