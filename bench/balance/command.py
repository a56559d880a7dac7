"""`python -m bench balance`: how each balancing method serves mixed job sizes.

1. methods: SCALE replicas, each variant of bench/balance/variants.py. The round-robin
   stack's capacity on the mix (a capacity search) sets the offered rates: BALANCE_LOADS
   shares of it, the same rates for every stack.
2. workers: the same rates against one container running `uvicorn --workers SCALE`, and
   against the article's Node cluster of SCALE workers (reference/node-cluster/).
3. slowed: 4 replicas, round-robin and the shipped method, at the middle load: all
   healthy, then one of them slowed by `docker update --cpus SLOW_CPUS`.
4. oversubscribed: the capacity of 8 replicas against `uvicorn --workers 8` on the mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from .. import backends, capacity, machine
from ..backends.docker_stack import DockerBackend
from ..profiles import MANY, NODE, WORKERS, Profile
from ..progress import Progress, note
from ..report import publish
from ..runner import STARTUP_S, Runner, results_dir
from ..settings import ROOT, BenchError, Settings, duration_s
from . import report
from .variants import ROUND_ROBIN, SHIPPED, VARIANTS, Variant, slug

SCRIPT = ROOT / "k6" / "balance.js"
SLOWED_REPLICAS = 4
OVERSUBSCRIBED = 8


class Balance:
    def __init__(self, settings: Settings, runner: Runner, backend: DockerBackend) -> None:
        self.settings, self.runner, self.backend = settings, runner, backend
        # k6/balance.js reads JOB_MIX from the environment k6 inherits, and holds its default.
        self.mix = os.environ.get("JOB_MIX", "").strip() or "k6/balance.js's default"
        self.entries: list[dict[str, object]] = []

    @contextlib.contextmanager
    def stack(self, variant: Variant, profile: Profile, replicas: int) -> Iterator[str]:
        """The profile's stack as the variant changes it; the backend is plain again after."""
        self.backend.variant = (variant.files(self.runner.out), variant.env())
        try:
            with self.backend.stack(profile, replicas) as url:
                yield url
        finally:
            self.backend.variant = ([], {})

    def capacity(self, url: str, profile: Profile, replicas: int, tag: str) -> float:
        s = self.settings
        # A low start (the 2-core run found ~114 per core): the search climbs in 1.3x steps.
        start = 40.0 * min(replicas, self.runner.cores)
        found = self.runner.capacity(url, profile, replicas, start, tag=tag, duration=s.probe_duration,
                                     p95_ms=s.p95_ms, script=SCRIPT)
        if found.capacity <= 0:
            raise BenchError(f"{tag}: no rate was sustained on the mix ({self.mix}); see its k6-*.log")
        return found.capacity

    def measure(self, url: str, case: str, stack: str, profile: Profile, replicas: int, rate: float,
                load: float | None, slowed: bool = False) -> None:
        s = self.settings
        name = slug(f"{case}-{stack}-{replicas}-{rate:g}{'-slowed' if slowed else ''}")
        run = self.runner.run(url, profile, replicas, rate, name=name,
                              vus=capacity.vus_for(rate, s.p95_ms, 100), script=SCRIPT)
        k6_summary = json.loads((self.runner.out / f"k6-{name}.json").read_text())
        self.mix = k6_summary["job_mix"]
        entry = {"case": case, "stack": stack, "replicas": replicas, "load": load, "rate": rate, "slowed": slowed,
                 "shed_503": k6_summary.get("shed_503", 0), "jobs": k6_summary["jobs"], "run": run.to_dict()}
        self.entries.append(entry)
        small, large = k6_summary["jobs"][0], k6_summary["jobs"][-1]
        note(f"{case}: {stack}, {replicas} replicas, {rate:g} req/s{' (one slowed)' if slowed else ''}: small p95 "
             f"{small['p95_ms']:.0f} ms, p99 {small['p99_ms']:.0f} ms; large p99 {large['p99_ms']:.0f} ms; "
             f"{run.failed} failed, {run.dropped} dropped")

    def methods(self) -> tuple[float, list[float]]:
        """The round-robin stack's capacity on the mix (VARIANTS[0] measures it), and the rates
        every stack was offered."""
        n, found, rates = self.settings.scale, 0.0, list[float]()
        for variant in VARIANTS:
            self.runner.progress.label = f"methods: {variant.label}"
            with self.stack(variant, MANY, n) as url:
                if not rates:
                    found = self.capacity(url, MANY, n, f"capacity-{variant.slug}")
                    rates = [float(max(round(share * found), 1)) for share in self.settings.balance_loads]
                    note(f"{variant.label} sustains {found:g} req/s of the mix ({self.mix}); "
                         f"offered: {', '.join(f'{r:g}' for r in rates)} req/s")
                for share, rate in zip(self.settings.balance_loads, rates, strict=True):
                    self.measure(url, "methods", variant.label, MANY, n, rate, share)
        return found, rates

    def without_nginx(self, profile: Profile, label: str, rates: list[float]) -> None:
        """The same rates on one container of N processes: uvicorn --workers N, or the
        article's own Node cluster, whose primary deals connections to its workers."""
        n = self.settings.scale
        self.runner.progress.label = label
        with self.stack(SHIPPED, profile, n) as url:
            for share, rate in zip(self.settings.balance_loads, rates, strict=True):
                self.measure(url, "methods", label, profile, n, rate, share)

    def slowed(self, rate: float, share: float) -> None:
        for variant in (ROUND_ROBIN, SHIPPED):
            self.runner.progress.label = f"slowed: {variant.label}"
            with self.stack(variant, MANY, SLOWED_REPLICAS) as url:
                self.measure(url, "slowed", variant.label, MANY, SLOWED_REPLICAS, rate, share)
                victim = self.backend.container(MANY, SLOWED_REPLICAS, "api")
                subprocess.run(["docker", "update", "--cpus", f"{self.settings.slow_cpus:g}", victim],
                               check=True, capture_output=True)
                self.measure(url, "slowed", variant.label, MANY, SLOWED_REPLICAS, rate, share, slowed=True)

    def oversubscribed(self) -> None:
        for profile in (MANY, WORKERS):
            self.runner.progress.label = f"oversubscribed: {profile.title(OVERSUBSCRIBED)}"
            with self.stack(SHIPPED, profile, OVERSUBSCRIBED) as url:
                found = self.capacity(url, profile, OVERSUBSCRIBED, f"capacity-{profile.name}{OVERSUBSCRIBED}")
            stack = SHIPPED.label if profile.behind_nginx else f"uvicorn --workers {OVERSUBSCRIBED}"
            self.entries.append({"case": "oversubscribed", "stack": stack, "replicas": OVERSUBSCRIBED,
                                 "capacity": found})
            note(f"oversubscribed: {stack}, {OVERSUBSCRIBED} on {self.runner.cores} cores: {found:g} req/s")


def balance(settings: Settings, backend_name: str) -> Path:
    loads = len(settings.balance_loads)
    runs = (len(VARIANTS) + 2) * loads + 4
    stacks = len(VARIANTS) + 2 + 2 + 2  # the variants, --workers and Node, slowed (2), oversubscribed (2)
    progress = Progress(stacks * STARTUP_S + runs * (duration_s(settings.duration) + 5) + 3 * 60)
    out, started = results_dir(settings)
    backend = backends.pick("docker" if backend_name == "auto" else backend_name, settings, progress)
    if not isinstance(backend, DockerBackend):
        raise BenchError("bench balance swaps nginx's method and slows a container: it runs on Docker only")
    runner = Runner(settings, backend, out, progress)
    bench = Balance(settings, runner, backend)
    found, rates = bench.methods()
    bench.without_nginx(WORKERS, f"uvicorn --workers {settings.scale}", rates)
    bench.without_nginx(NODE, NODE.label(settings.scale), rates)
    middle = len(rates) // 2
    bench.slowed(rates[middle], settings.balance_loads[middle])
    bench.oversubscribed()
    summary = {"kind": "balance", "started": started, "machine": machine.describe(), "job_mix": bench.mix,
               "duration": settings.duration, "capacity": found, "scale": settings.scale,
               "slow_cpus": settings.slow_cpus, "entries": bench.entries}
    publish(out, "summary.json", summary, report.markdown(summary), report.chart, more=("k6-*.json", "k6-*.log"))
    return out
