"""`make bench-cost`, second part: a replica's CPU per request with its metrics on and off.

Two replicas (`python -m app`, API_METRICS=true and false) on the same core; one client
process sends them the same requests in turn, on one kept-alive connection each, as
nginx's upstream keepalive does. Each replica's CPU comes from /proc (all its threads).
Target: metrics on costs at most 1.05 x off, on the article's job. The cheap job shows
the fixed cost per request, which the article's job hides in its noise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from app.settings import RENAMED

from .. import machine
from ..backends.host import wait_healthy
from ..progress import note
from ..resources.meter import tree_usage
from ..settings import Settings

TARGET = 1.05
ROUNDS = 6
# One request to each replica in turn, the order swapped every pair: both see the same
# moments of a shared machine, which alternating whole blocks did not (rounds 0.95-1.26).
CLIENT = """
import http.client, sys
on, off, path, n, expect = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5].encode()
conns = [http.client.HTTPConnection("127.0.0.1", port) for port in (on, off)]
for i in range(n):
    for conn in (conns if i % 2 == 0 else conns[::-1]):
        conn.request("GET", path)
        body = conn.getresponse().read()
        assert expect in body, body
"""


def jobs(settings: Settings) -> tuple[tuple[str, str, int, bytes], ...]:
    """(label, path, requests per replica over all rounds, what each answer must say)"""
    return (("article's job", "/api", settings.cost_requests, b"339111948196"),
            ("cheap job", "/api?n=1000", settings.cost_cheap_requests, b"500500"))


@dataclass(frozen=True)
class MetricsCost:
    job: str
    path: str
    requests: int                 # per replica
    on_cpu_ms_per_request: float
    off_cpu_ms_per_request: float
    ratio: float                  # on / off
    round_ratios: list[float]     # each round's on / off: the noise between rounds

    @property
    def fixed_ms(self) -> float:
        """What metrics add to each request, whatever its job."""
        return self.on_cpu_ms_per_request - self.off_cpu_ms_per_request


def ratio_of(on_cpu_s: list[float], off_cpu_s: list[float]) -> tuple[float, list[float]]:
    """Total on / total off, and each round's own ratio."""
    rounds = [round(a / b, 3) if b else float("nan") for a, b in zip(on_cpu_s, off_cpu_s, strict=True)]
    total = round(sum(on_cpu_s) / sum(off_cpu_s), 3) if sum(off_cpu_s) else float("nan")
    return total, rounds


def _replica(port: int, metrics: bool) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in RENAMED}
    env |= {"API_PORT": str(port), "API_HOST": "127.0.0.1", "API_REPLICA_ID": f"cost-metrics-{metrics}".lower(),
            "API_METRICS": "true" if metrics else "false"}
    # Both on one core (the last), so neither gets a faster or idler core than the other.
    pin = ["taskset", "-c", str(machine.cores() - 1)] if machine.cores() > 1 else []
    return subprocess.Popen([*pin, sys.executable, "-m", "app"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)


def _round(ports: dict[bool, int], pids: dict[bool, int], path: str, n: int, expect: bytes) -> dict[bool, float]:
    """n requests to each replica, interleaved; the CPU each used meanwhile."""
    before = {m: tree_usage(pid)[0] for m, pid in pids.items()}
    subprocess.run([sys.executable, "-c", CLIENT, str(ports[True]), str(ports[False]), path, str(n), expect.decode()],
                   check=True)
    return {m: tree_usage(pid)[0] - before[m] for m, pid in pids.items()}


def _measure(ports: dict[bool, int], pids: dict[bool, int], job: tuple[str, str, int, bytes]) -> MetricsCost:
    label, path, requests, expect = job
    per_round = max(requests // ROUNDS, 1)
    _round(ports, pids, path, max(per_round // 5, 5), expect)  # warm-up, unmeasured
    rounds = [_round(ports, pids, path, per_round, expect) for _ in range(ROUNDS)]
    on, off = [r[True] for r in rounds], [r[False] for r in rounds]
    ratio, ratios = ratio_of(on, off)
    n = per_round * ROUNDS
    return MetricsCost(label, path, n, round(sum(on) / n * 1000, 4), round(sum(off) / n * 1000, 4), ratio, ratios)


def metrics_cost(settings: Settings) -> list[MetricsCost]:
    note(f"cost: metrics on against off, {ROUNDS} rounds of interleaved requests per job, two replicas on one core")
    ports = {True: settings.cost_port, False: settings.cost_port + 1}
    procs = {m: _replica(ports[m], m) for m in (True, False)}
    log = Path(os.devnull)
    try:
        wait_healthy(list(ports.values()), list(procs.values()), log)
        costs = [_measure(ports, {m: p.pid for m, p in procs.items()}, job) for job in jobs(settings)]
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(timeout=30)
    return costs


def implied_ratio(article: MetricsCost, cheap: MetricsCost) -> float:
    """The cheap job's fixed cost per request added to the article's job: the ratio its own
    measurement would show without the noise of 30 ms of CPU per request."""
    return round((article.off_cpu_ms_per_request + cheap.fixed_ms) / article.off_cpu_ms_per_request, 4)


def line(c: MetricsCost) -> str:
    target = f"; target <= {TARGET}" if c.path == "/api" else ""
    return (f"metrics on / off, {c.job} ({c.path}): {c.on_cpu_ms_per_request} / {c.off_cpu_ms_per_request} ms "
            f"of CPU per request = {c.ratio} (rounds {min(c.round_ratios)}-{max(c.round_ratios)}){target}")
