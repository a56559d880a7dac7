"""`python -m bench breakdown`: where one request's CPU goes, on CPython and on PyPy.

One replica behind nginx per runtime (the Docker backend). k6 offers each path a steady
rate below capacity, and the CPU that the replica's and nginx's containers used meanwhile
(bench/resources/cpu.py) is divided by the requests served. Each path adds one layer:

    GET /healthz      uvicorn's HTTP path and FastAPI's routing
    GET /api?n=0      + query validation, admission and the job's call, with no work in it
    GET /api          + the article's loop

Each path gets an unmeasured run first, so PyPy's JIT has compiled it. The loop alone is
also timed inside the replica's container, warm, so what wraps the job is the difference.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .. import machine, report
from ..backends.docker_stack import DockerBackend
from ..profiles import ONE, RUNTIME_TITLES
from ..progress import Progress, note
from ..resources.cpu import container_cpu_s
from ..runner import Runner, results_dir
from ..settings import BenchError, Settings, duration_s

# Offered req/s per runtime and path: well below one replica's capacity on 2 cores, so that
# CPU per request is measured without queueing or shedding.
RATES = {"cpython": {"/healthz": 200.0, "/api?n=0": 200.0, "/api": 15.0},
         "pypy": {"/healthz": 200.0, "/api?n=0": 200.0, "/api": 150.0}}
LOOP = ("import time\nfrom app.work import sum_down\n"
        "def calls(s):\n n, end = 0, time.perf_counter() + s\n"
        " while time.perf_counter() < end:\n  sum_down(); n += 1\n return n\n"
        "calls(1.0); t = time.perf_counter(); n = calls(2.0)\n"
        "print((time.perf_counter() - t) / n * 1e6)\n")


@dataclass(frozen=True)
class Step:
    path: str
    offered: float
    served_rps: float
    completed: int
    failed: int
    p50_ms: float
    replica_us: float  # replica CPU per request served
    nginx_us: float


@dataclass(frozen=True)
class RuntimeCost:
    runtime: str
    version: str
    loop_us: float  # the article's loop alone, warm, inside the container
    steps: list[Step]

    def us(self, path: str) -> float:
        return next(s.replica_us for s in self.steps if s.path == path)


def measure(runner: Runner, backend: DockerBackend, runtime: str) -> RuntimeCost:
    profile = ONE.on(runtime)
    with backend.stack(profile, 1) as url:
        version = backend.runtime_version(profile, url)
        api, nginx = backend.container(profile, 1, "api"), backend.container(profile, 1, "nginx")
        runner.progress.say(f"{version}: timing the loop alone in the replica's container")
        loop_us = float(backend.exec(profile, 1, "api", "python", "-c", LOOP))
        steps = []
        for path, rate in RATES[runtime].items():
            name = f"{runtime}{path.replace('/', '-').replace('?', '-')}"
            # A first, unmeasured run: PyPy's JIT compiles a path it has not seen yet (the
            # warm-up only sends /, /api and /api?n=1000), and that is not a request's cost.
            runner.run(url, profile, 1, rate, name=f"{name}-warm", duration=runner.settings.sweep_duration,
                       path=path, html=False)
            before = container_cpu_s(api), container_cpu_s(nginx)
            run = runner.run(url, profile, 1, rate, name=name, duration=runner.settings.sweep_duration,
                             path=path, html=False)
            after = container_cpu_s(api), container_cpu_s(nginx)
            if run.completed == 0:
                raise BenchError(f"{version}: k6 completed no request on {path}: see the k6-*.log in {runner.out}")
            per = [(a - b) / run.completed * 1e6 for a, b in zip(after, before, strict=True)]
            steps.append(Step(path, rate, run.achieved_rps, run.completed, run.failed, run.p50_ms, *per))
            note(f"{version} {path}: {run.achieved_rps:.0f} req/s, replica {per[0]:.0f} us, nginx {per[1]:.0f} us "
                 "of CPU per request")
    return RuntimeCost(runtime, version, loop_us, steps)


def table(costs: list[RuntimeCost]) -> list[list[str]]:
    def row(label: str, value: object) -> list[str]:
        return [label, *(f"{value(c):.0f} us" if callable(value) else str(value) for c in costs)]
    steps = [[f"replica CPU, {s.path} ({s.served_rps:.0f} req/s)", *(f"{c.us(s.path):.0f} us" for c in costs)]
             for s in costs[0].steps]
    return [["CPU per request", *(c.version for c in costs)], *steps,
            row("  HTTP + routing (= /healthz)", lambda c: c.us("/healthz")),
            row("  + validation, admission, job call (/api?n=0 - /healthz)",
                lambda c: c.us("/api?n=0") - c.us("/healthz")),
            row("  + the job inside a request (/api - /api?n=0)", lambda c: c.us("/api") - c.us("/api?n=0")),
            row("the article's loop alone, warm", lambda c: c.loop_us),
            row("nginx CPU per request (mean of the paths)",
                lambda c: sum(s.nginx_us for s in c.steps) / len(c.steps))]


def breakdown(settings: Settings) -> None:
    progress = Progress(2 * (40 + 6 * (duration_s(settings.sweep_duration) + 5)))
    out, started = results_dir(settings)
    backend = DockerBackend(settings, progress)
    runner = Runner(settings, backend, out, progress)
    costs = []
    for runtime in ("cpython", "pypy"):
        progress.label = RUNTIME_TITLES[runtime]
        costs.append(measure(runner, backend, runtime))
    rows = table(costs)
    described = machine.describe()
    summary = {"started": started, "machine": described, "duration": settings.sweep_duration,
               "runtimes": [asdict(c) for c in costs]}
    (out / "breakdown.json").write_text(json.dumps(summary, indent=2) + "\n")
    md = [f"# Where a request's CPU goes {started}", "", *report.machine_lines(described), "",
          f"One replica behind nginx per runtime; k6 offers each path a steady rate for {settings.sweep_duration}; "
          "CPU of the replica's and nginx's containers divided by the requests served.", "",
          report.markdown(rows), ""]
    (out / "report.md").write_text("\n".join(md))
    print("\n" + report.text(rows) + f"\n\nResults: {out}/ (breakdown.json, report.md, k6-*.log)", flush=True)
