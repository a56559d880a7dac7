"""`make bench-cost`, second part: a replica's CPU per request with its metrics on and off.

Two replicas (`python -m app`, API_METRICS=true and false) on the same core; one client
process sends them the same requests in alternating blocks, on one kept-alive connection
each, as nginx's upstream keepalive does. Each replica's CPU comes from /proc (all its
threads); alternating blocks spread the machine's drift evenly over both. Target: metrics
on costs at most 1.05 x off, on the article's job. The cheap job shows the fixed cost.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import machine
from .host import wait_healthy
from .meter import tree_usage
from .progress import note
from .settings import ROOT

sys.path.insert(0, str(ROOT / "service"))
from app.settings import RENAMED

TARGET = 1.05
ROUNDS = 6
# (label, path, requests per replica over all rounds, what each answer must say)
JOBS = (("article's job", "/api", int(os.environ.get("COST_REQUESTS", "300")), b"339111948196"),
        ("cheap job", "/api?n=1000", int(os.environ.get("COST_CHEAP_REQUESTS", "12000")), b"500500"))
CLIENT = """
import http.client, sys
port, path, n, expect = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
conn = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    conn.request("GET", path)
    body = conn.getresponse().read()
    assert expect in body, body
"""
FIRST_PORT = int(os.environ.get("COST_PORT", "18701"))


@dataclass(frozen=True)
class MetricsCost:
    job: str
    path: str
    requests: int                 # per replica
    on_cpu_ms_per_request: float
    off_cpu_ms_per_request: float
    ratio: float                  # on / off
    round_ratios: list[float]     # each round's on / off: the noise between blocks


def ratio_of(on_cpu_s: list[float], off_cpu_s: list[float]) -> tuple[float, list[float]]:
    """Total on / total off, and each round's own ratio."""
    rounds = [round(a / b, 3) if b else float("nan") for a, b in zip(on_cpu_s, off_cpu_s, strict=True)]
    total = round(sum(on_cpu_s) / sum(off_cpu_s), 3) if sum(off_cpu_s) else float("nan")
    return total, rounds


def _replica(port: int, metrics: bool) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in RENAMED}
    env |= {"API_PORT": str(port), "API_HOST": "127.0.0.1", "API_REPLICA_ID": f"cost-metrics-{metrics}".lower(),
            "API_METRICS": "true" if metrics else "false", "PYTHONPATH": str(ROOT / "service")}
    # Both on one core (the last), so neither gets a faster or idler core than the other.
    pin = ["taskset", "-c", str(machine.cores() - 1)] if machine.cores() > 1 else []
    return subprocess.Popen([*pin, sys.executable, "-m", "app"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)


def _block(port: int, pid: int, path: str, n: int, expect: bytes) -> float:
    before = tree_usage(pid)[0]
    subprocess.run([sys.executable, "-c", CLIENT, str(port), path, str(n), expect.decode()], check=True)
    return tree_usage(pid)[0] - before


def _measure(ports: dict[bool, int], procs: dict[bool, subprocess.Popen[bytes]],
             job: tuple[str, str, int, bytes]) -> MetricsCost:
    label, path, requests, expect = job
    block = max(requests // ROUNDS, 1)
    for metrics in (True, False):  # warm-up, unmeasured
        _block(ports[metrics], procs[metrics].pid, path, max(block // 5, 5), expect)
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for k in range(ROUNDS):
        for metrics in ((True, False) if k % 2 == 0 else (False, True)):
            cpu[metrics].append(_block(ports[metrics], procs[metrics].pid, path, block, expect))
    ratio, rounds = ratio_of(cpu[True], cpu[False])
    n = block * ROUNDS
    return MetricsCost(label, path, n, round(sum(cpu[True]) / n * 1000, 4), round(sum(cpu[False]) / n * 1000, 4),
                       ratio, rounds)


def metrics_cost() -> list[MetricsCost]:
    note(f"cost: metrics on against off, {ROUNDS} alternating blocks per job, two replicas on one core")
    ports = {True: FIRST_PORT, False: FIRST_PORT + 1}
    procs = {m: _replica(ports[m], m) for m in (True, False)}
    log = Path(os.devnull)
    try:
        wait_healthy(list(ports.values()), list(procs.values()), log)
        costs = [_measure(ports, procs, job) for job in JOBS]
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(timeout=30)
    return costs


def line(c: MetricsCost) -> str:
    target = f"; target <= {TARGET}" if c.path == "/api" else ""
    return (f"metrics on / off, {c.job} ({c.path}): {c.on_cpu_ms_per_request} / {c.off_cpu_ms_per_request} ms "
            f"of CPU per request = {c.ratio} (rounds {min(c.round_ratios)}-{max(c.round_ratios)}){target}")
