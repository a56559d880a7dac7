"""The stack as a discrete-event simulation, on simpy's event queue.

What it models is what the stack does, each part after its source:
- a replica runs one job at a time per lane: jobs estimated over long_job_s go to a second
  lane, and two busy lanes split the replica's core, as the GIL does (app/jobs.py);
- a replica refuses a job whose lane's estimated wait passes max_wait_s (the same rule and
  estimate as app/jobs.py), and nginx sends it to another replica it has not tried yet
  (proxy_next_upstream http_503, tries 0); a 503 reaches the client once all refused;
- each nginx instance balances with its own count of requests in flight per replica (its
  zone is shared by its workers, not with other instances), arrivals split evenly at random;
- replicas on a host share its cores when more of them are busy than it has cores (the
  kernel shares time fairly), each capped at one core (GIL) or its `--cpus`.

Jobs are processor-shared: each running job's work left shrinks at its current speed, and
every change of who runs re-plans the next completion. simpy cannot cancel a timeout, so a
stale one is dropped by its token. Left out: the event loop's own CPU beyond fixed_s, and
the short-job fast path (app/jobs.py's inline run, < 5 ms on an idle replica).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import simpy

from ..settings import BenchError
from .nginx import Proxy
from .outcome import Outcome
from .workload import QUEUE, Cost, JobClass, Mix, Stack

DONE = 1e-12  # seconds of work left that count as none (float rounding of the shrinking)


@dataclass(frozen=True)
class Traffic:
    rate: float
    mix: Mix
    cost: Cost
    arrivals: str = "poisson"   # "even": k6's constant-arrival-rate, one every 1/rate seconds
    service: str = "fixed"      # "exponential": demands drawn around the mean (closed-form tests)


class Job:
    __slots__ = ("arrived", "cls", "left", "proxy", "replica", "tried", "work")

    def __init__(self, cls: JobClass, work: float, arrived: float, proxy: Proxy) -> None:
        self.cls, self.work, self.left, self.arrived, self.proxy = cls, work, work, arrived, proxy
        self.tried: set[int] = set()
        self.replica = -1


class Replica:
    def __init__(self, index: int, cap: float) -> None:
        self.index, self.cap = index, cap
        self.short: deque[Job] = deque()
        self.long: deque[Job] = deque()
        self.speed = 0.0  # of each running job: the replica's share of the host, per busy lane
        self.group: Group | None = None  # set once the simulation has grouped the replicas

    def busy_lanes(self) -> int:
        return (len(self.short) > 0) + (len(self.long) > 0)

    def lane_work(self, lane: deque[Job]) -> float:
        return sum(job.left for job in lane)


class Group:
    """Replicas whose jobs share CPU: a host whose replicas could outnumber its cores, or one replica."""

    def __init__(self, env: simpy.Environment, replicas: list[Replica], cores: float) -> None:
        self.env, self.replicas, self.cores = env, replicas, cores
        self.active: dict[Replica, None] = {}  # insertion-ordered set
        self.updated = 0.0
        self.token = 0
        self.on_finish: Callable[[Job], None] = lambda job: None

    def advance(self) -> None:
        now = self.env.now
        elapsed = now - self.updated
        if elapsed > 0:
            for replica in self.active:
                for lane in (replica.short, replica.long):
                    if lane:
                        lane[0].left -= elapsed * replica.speed
        self.updated = now

    def reshape(self) -> None:
        """Who runs changed: new speeds, and a new time for the next completion."""
        active = [r for r in self.replicas if r.short or r.long]
        self.active = dict.fromkeys(active)
        for replica, share in zip(active, self.shares(active), strict=True):
            replica.speed = share / replica.busy_lanes()
        self.token += 1
        soonest = min((lane[0].left / r.speed for r in active for lane in (r.short, r.long) if lane), default=None)
        if soonest is not None:
            token = self.token
            self.env.timeout(max(soonest, 0.0)).callbacks.append(lambda _: self.finish(token))

    def shares(self, active: list[Replica]) -> list[float]:
        """Fair shares of the cores, each at most its cap (water-filling)."""
        left, shares = self.cores, {}
        for count, replica in enumerate(sorted(active, key=lambda r: r.cap)):
            share = min(replica.cap, left / (len(active) - count))
            shares[replica] = share
            left -= share
        return [shares[r] for r in active]

    def finish(self, token: int) -> None:
        if token != self.token:
            return  # re-planned since
        self.advance()
        # The timer was set for the soonest job: it ends now, whatever float rounding left
        # of it (past 2**14 s, a few ulps of `now` exceed any fixed DONE), and so does any
        # other due within those ulps.
        heads = [(lane[0].left / r.speed, lane) for r in self.active for lane in (r.short, r.long) if lane]
        due = max(min((t for t, _ in heads), default=0.0), 4 * math.ulp(self.env.now))
        done = [lane.popleft() for t, lane in heads if t <= due or lane[0].left <= DONE]
        self.reshape()
        for job in done:
            self.on_finish(job)


class Simulation:
    def __init__(self, stack: Stack, traffic: Traffic, seed: int) -> None:
        self.stack, self.traffic = stack, traffic
        self.rng = random.Random(seed)  # noqa: S311 (a simulation, not a secret)
        self.env = simpy.Environment()
        self.replicas = [Replica(i, stack.cap(i)) for i in range(stack.replicas)]
        for group in self.groups():
            group.on_finish = self.finished
            for replica in group.replicas:
                replica.group = group
        self.proxies = [Proxy(stack.replicas, stack.method, self.rng) for _ in range(stack.nginx)]
        edge, self.edges = 0.0, []
        for cls in traffic.mix.classes:
            edge += cls.share
            self.edges.append((edge, cls))
        self.warmup_s = 0.0
        self.outcome = Outcome({c.label: [] for c in traffic.mix.classes}, {c.label: 0 for c in traffic.mix.classes})

    def groups(self) -> list[Group]:
        """One group per host whose busy replicas could outnumber its cores; else one per replica."""
        stack, groups = self.stack, []
        for host in range(stack.hosts):
            mine = [r for r in self.replicas if stack.host_of(r.index) == host]
            cores = (stack.cores_per_host or len(mine)) - stack.host_cpu_per_request_s * self.traffic.rate / stack.hosts
            if cores <= 0:
                raise BenchError(f"at {self.traffic.rate:g} req/s the rest of the machine alone would take every "
                                 f"core of a host ({stack.host_cpu_per_request_s * 1000:.2f} ms a request)")
            if cores >= len(mine):
                groups += [Group(self.env, [r], 1.0) for r in mine]
            else:
                groups.append(Group(self.env, mine, cores))
        return groups

    def run(self, duration_s: float, warmup_s: float = 0.0) -> Outcome:
        """Arrivals for warmup_s + duration_s, then until every admitted job is done."""
        if self.traffic.rate <= 0:
            raise BenchError(f"a rate of {self.traffic.rate:g} req/s: nothing to simulate")
        self.warmup_s = warmup_s
        end = warmup_s + duration_s
        gap = 1 / self.traffic.rate

        def arrive(_: object) -> None:
            self.arrival()
            step = gap if self.traffic.arrivals == "even" else self.rng.expovariate(self.traffic.rate)
            if self.env.now + step < end:
                self.env.timeout(step).callbacks.append(arrive)
        self.env.timeout(0 if self.traffic.arrivals == "even" else self.rng.expovariate(self.traffic.rate)
                         ).callbacks.append(arrive)
        self.env.run()
        return self.outcome

    def arrival(self) -> None:
        u, cls = self.rng.random(), self.edges[-1][1]
        for edge, candidate in self.edges:
            if u < edge:
                cls = candidate
                break
        work = self.traffic.cost.demand_s(cls)
        if self.traffic.service == "exponential":
            work = self.rng.expovariate(1 / work)
        proxy = self.proxies[self.rng.randrange(len(self.proxies))] if len(self.proxies) > 1 else self.proxies[0]
        self.dispatch(Job(cls, work, self.env.now, proxy))

    def dispatch(self, job: Job, held: bool = False) -> None:
        """nginx's tries: the method's pick among replicas not tried yet, until one admits.
        The central queue holds a request while no replica is idle."""
        counted = job.arrived >= self.warmup_s
        while (index := job.proxy.pick(job.tried)) is not None:
            job.tried.add(index)
            if self.admit(self.replicas[index], job):
                job.proxy.conns[index] += 1
                job.replica = index
                return
            if not self.stack.retry_shed:
                break
            self.outcome.retried += counted
        if self.stack.method == QUEUE and len(job.tried) < self.stack.replicas:
            (job.proxy.waiting.appendleft if held else job.proxy.waiting.append)(job)
            return
        if counted:
            self.outcome.shed[job.cls.label] += 1

    def admit(self, replica: Replica, job: Job) -> bool:
        """app/jobs.py's rule: an idle lane takes any job; a busy one refuses it when the work
        ahead of it (its lane's, plus as much of the other lane's: they split the core) passes
        max_wait_s."""
        stack, group = self.stack, replica.group
        if group is None:
            raise RuntimeError("a replica outside every group")
        group.advance()
        # Seconds as the replica learns them: wall-clock per unit of its last jobs, so a
        # replica held to part of a core (`--cpus`, a shared host) sees its work as longer.
        share = replica.speed * replica.busy_lanes() or min(replica.cap, 1.0)
        lane = replica.long if stack.long_job_s and job.work / share > stack.long_job_s else replica.short
        if lane:
            mine = replica.lane_work(lane) / share
            other = replica.lane_work(replica.short if lane is replica.long else replica.long) / share
            if stack.max_wait_s == 0 or mine + min(mine, other) > stack.max_wait_s:
                return False
        lane.append(job)
        if len(lane) == 1:
            group.reshape()
        return True

    def finished(self, job: Job) -> None:
        job.proxy.conns[job.replica] -= 1
        if job.proxy.waiting:
            self.dispatch(job.proxy.waiting.popleft(), held=True)
        if job.arrived >= self.warmup_s:
            self.outcome.latencies[job.cls.label].append(self.env.now - job.arrived + self.traffic.cost.outside_s)
            self.outcome.work_s += job.work


def simulate(stack: Stack, traffic: Traffic, duration_s: float, warmup_s: float = 0.0, seeds: int = 1) -> Outcome:
    """Several independent runs (seeds 0..seeds-1), pooled."""
    pooled = Simulation(stack, traffic, 0).run(duration_s, warmup_s)
    for seed in range(1, seeds):
        pooled = pooled.merge(Simulation(stack, traffic, seed).run(duration_s, warmup_s))
    return pooled
