"""What every command does with a running profile: one k6 run, or a capacity search."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from . import capacity, k6, machine
from .model import Run
from .profiles import Backend, Profile
from .progress import Progress, note
from .resources import prometheus
from .settings import Settings

# After an overloaded step the replicas' queues drain before the next rate starts. nginx
# benches no replica (upstream.conf: max_fails=0); a server line without it would bench
# one that failed for fail_timeout, and tests/test_rules.py then asks for a longer pause.
COOL_DOWN_S = 6
STARTUP_S = 25   # rough cost of bringing a profile up and down, for the time-left estimate


def results_dir(settings: Settings) -> tuple[Path, str]:
    started = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = settings.results_dir / started
    out.mkdir(parents=True, exist_ok=False)
    return out, started


@dataclass
class Runner:
    settings: Settings
    backend: Backend
    out: Path
    progress: Progress

    def __post_init__(self) -> None:
        self.cores = machine.cores()

    def run(self, url: str, profile: Profile, replicas: int, rate: float, *, name: str,
            duration: str | None = None, vus: int | None = None, path: str = "/api",
            p95_ms: float | None = None, html: bool = True, script: Path = k6.SCRIPT) -> Run:
        s = self.settings
        load = k6.Load(url, rate, duration or s.duration, vus or s.vus, p95_ms or s.p95_ms, s.p99_ms, path, script)
        context = k6.Context(profile.name, self.backend.name, replicas, self.cores)
        meter, prometheus_url = self.backend.meter(profile, replicas), self.backend.prometheus_url()
        testid = f"{self.out.name}-{name}"
        output = prometheus.k6_remote_write(prometheus_url, testid) if prometheus_url else None
        if meter:
            meter.start()
        started = time.time()
        try:
            run = k6.run(s.k6, load, context, self.out, name, self.progress, html, output)
        except BaseException:
            if meter:
                meter.stop(0)  # its sampling threads end with the run
            raise
        ended = time.time()
        resources = meter.stop(run.completed) if meter else None
        # Only the reported runs: a capacity search's steps (run without the HTML report)
        # are in Prometheus under their testid, but no table shows them.
        watched = prometheus.collect(prometheus_url, testid, started, ended) if prometheus_url and html else None
        return replace(run, resources=resources, monitoring=watched)

    def capacity(self, url: str, profile: Profile, replicas: int, start: float, *, tag: str,
                 duration: str, p95_ms: float, path: str = "/api", vus: int | None = None,
                 script: Path = k6.SCRIPT) -> capacity.Result:
        """The highest rate this profile sustains (Run.sustained), by fixed-rate k6 runs. With
        `vus`, every step runs exactly that many VUs (one concurrency for every profile);
        without, enough VUs for each rate (capacity.vus_for)."""
        def measure(rate: float) -> Run:
            step_vus = vus or capacity.vus_for(rate, p95_ms, self.settings.vus)
            run = self.run(url, profile, replicas, rate, name=f"{tag}-{rate:g}", duration=duration,
                           vus=step_vus, path=path, p95_ms=p95_ms, html=False, script=script)
            ok = run.sustained(p95_ms)
            note(f"{tag}: {rate:g} req/s {'sustained' if ok else 'NOT sustained'} (failed {run.failed}, "
                 f"dropped {run.dropped}, p95 {run.p95_ms:.0f} ms)")
            if not ok:
                self.progress.say(f"cooling down {COOL_DOWN_S} s so the overloaded step's queues drain")
                time.sleep(COOL_DOWN_S)
            return run
        return capacity.search(measure, start, p95_ms, self.settings.sweep_runs)
