"""What the planner simulates: the job mix, what each job costs, and the stack's shape.

A job's CPU demand is `fixed_s + per_unit_s * (n + 1)`: the replica's cost per request
(HTTP, routing, the thread hand-off) plus the loop, n + 1 units of work as app/jobs.py
counts them. Both come from a measured result file (calibrate.py), never from a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.settings import Settings as ReplicaDefaults

from ..settings import BenchError

# The methods of ngx_http_upstream_module the planner models, as upstream.conf spells them.
# `random two` alone means `random two least_conn` (nginx's default for two).
# https://nginx.org/en/docs/http/ngx_http_upstream_module.html#random
METHODS = ("round-robin", "least_conn", "random", "random two least_conn")
# Not an nginx method: one FIFO queue at the proxy that hands each request to an idle
# replica (nginx Plus's `queue` with `max_conns=1`). The ideal of dispatching, and M/M/c
# when jobs are exponential: the planner's reference, and a closed-form check.
# https://nginx.org/en/docs/http/ngx_http_upstream_module.html#queue
QUEUE = "central queue"
ALIASES = {"round_robin": "round-robin", "rr": "round-robin", "random two": "random two least_conn"}
MIX_PART = re.compile(r"^\s*([0-9.]+)\s*:\s*([0-9]+)\s*$")


@dataclass(frozen=True)
class JobClass:
    label: str
    share: float
    n: int

    @property
    def units(self) -> int:
        return self.n + 1


@dataclass(frozen=True)
class Mix:
    classes: tuple[JobClass, ...]

    @property
    def mean_units(self) -> float:
        return sum(c.share * c.units for c in self.classes)

    def text(self) -> str:
        return ",".join(f"{c.share:g}:{c.n}" for c in self.classes)


def parse_mix(text: str) -> Mix:
    """JOB_MIX as k6/balance.js reads it: `share:n,...`, shares summing to 1; the smallest
    n is "small", the largest "large", the rest "n<size>"."""
    parts = []
    for part in text.split(","):
        match = MIX_PART.match(part)
        if not match:
            raise BenchError(f"JOB_MIX part {part.strip()!r} is not share:n, e.g. 0.8:100000")
        parts.append((float(match[1]), int(match[2])))
    parts.sort(key=lambda p: p[1])
    total = sum(share for share, _ in parts)
    if abs(total - 1) > 1e-6:
        raise BenchError(f"JOB_MIX shares add up to {total:g}, not 1: {text}")
    if len({n for _, n in parts}) != len(parts):
        raise BenchError(f"JOB_MIX names a size twice: {text}")
    return Mix(tuple(JobClass(_label(i, len(parts) - 1, n), share, n) for i, (share, n) in enumerate(parts)))


def _label(i: int, last: int, n: int) -> str:
    """k6/balance.js's labels, and "all" for a single size."""
    if last == 0:
        return "all"
    return "small" if i == 0 else "large" if i == last else f"n{n}"


@dataclass(frozen=True)
class Cost:
    """Seconds of one replica's CPU per request, and per unit of work."""

    fixed_s: float
    per_unit_s: float
    source: str = ""
    # Latency outside the replica's CPU: k6, nginx and the network, both ways.
    outside_s: float = 0.0

    def demand_s(self, job: JobClass) -> float:
        return self.fixed_s + self.per_unit_s * job.units


def method_name(text: str) -> str:
    name = ALIASES.get(text.strip().lower(), text.strip().lower())
    if name not in (*METHODS, QUEUE):
        raise BenchError(f"balancing method {text!r} is not one of: {', '.join(METHODS)}, {QUEUE}")
    return name


@dataclass(frozen=True)
class Stack:
    """The shape: replicas spread evenly over hosts, nginx instances in front."""

    replicas: int
    method: str = "least_conn"
    hosts: int = 1
    cores_per_host: float = 0.0          # 0: one core per replica, never shared
    nginx: int = 1
    long_job_s: float = ReplicaDefaults.long_job_s   # 0: one lane (API_LONG_JOB_S)
    max_wait_s: float = ReplicaDefaults.max_wait_s   # the admission bound (API_MAX_WAIT_S)
    retry_shed: bool = True              # proxy_next_upstream http_503 (nginx/conf.d/proxy.conf)
    caps: tuple[float, ...] = field(default=())  # `docker update --cpus` per replica; missing: 1
    # CPU that nginx and the load generator take from the replicas' cores per request, where
    # they share them (the 2-core benchmarks); 0 when they run elsewhere.
    host_cpu_per_request_s: float = 0.0

    def __post_init__(self) -> None:
        if self.replicas < 1 or self.hosts < 1 or self.nginx < 1:
            raise BenchError("replicas, hosts and nginx instances must each be at least 1")
        if self.method not in (*METHODS, QUEUE):
            raise BenchError(f"balancing method {self.method!r} is not one of: {', '.join(METHODS)}, {QUEUE}")
        if self.method == QUEUE and self.nginx > 1:
            raise BenchError(f"the {QUEUE} is one queue in front of every replica: it has one nginx instance")

    def cap(self, replica: int) -> float:
        return self.caps[replica] if replica < len(self.caps) else 1.0

    def host_of(self, replica: int) -> int:
        return replica % self.hosts

    def usable_cores(self, rate: float) -> float:
        """The cores the replicas can run on: one each at most (the GIL), their hosts' cores
        at most, their caps, less what the rest of the machine takes at this rate."""
        taken = self.host_cpu_per_request_s * rate / self.hosts  # per host, as bench/plan/sim.py takes it
        per_host = [len(range(h, self.replicas, self.hosts)) for h in range(self.hosts)]
        cores = sum(min(n, (self.cores_per_host or n) - taken) for n in per_host)
        capped = sum(min(self.cap(i), 1.0) for i in range(self.replicas)) - taken * self.hosts
        return min(cores, capped)
