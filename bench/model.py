"""The benchmark's one result model: k6/lib/summary.js writes a Run's fields, Python reads them.

summary.json (one per `results/<time>/`) holds a Compare, a Sweep or a Runtimes, each made
of Runs with the context k6 cannot know (profile, replicas, backend). Field names are the same in
k6's JSON, in these classes and in summary.json, so nothing is renamed on the way.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# What k6/lib/summary.js writes for one run (SUMMARY_JSON).
K6_FIELDS = (
    "target_url", "offered_rate", "duration_s", "concurrency", "test_time_s", "achieved_rps",
    "completed", "failed", "dropped", "not_served", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms",
    "per_replica", "replica_max_min_ratio", "without_replica_header", "thresholds", "thresholds_passed",
)


@dataclass(frozen=True)
class Run:
    """One k6 run against one profile, at one offered rate."""

    profile: str
    backend: str
    replicas: int
    cores: int
    target_url: str
    offered_rate: float
    duration_s: float
    concurrency: int
    test_time_s: float
    achieved_rps: float
    completed: int
    failed: int
    dropped: int
    not_served: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    per_replica: dict[str, int]
    replica_max_min_ratio: float | None
    without_replica_header: int
    thresholds: dict[str, bool]
    thresholds_passed: bool
    k6_exit_code: int

    def sustained(self, p95_bound_ms: float) -> bool:
        """The one definition of "this rate is served": every request started and answered
        200, and p95 under the bound. The capacity search and the reports both use it."""
        return self.completed > 0 and self.failed == 0 and self.dropped == 0 and self.p95_ms < p95_bound_ms

    @property
    def served_share(self) -> float:
        offered = self.completed + self.dropped
        return (self.completed - self.failed) / offered if offered else 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        names = {f.name for f in fields(cls)}
        missing = names - data.keys()
        if missing:
            raise ValueError(f"a run lacks {sorted(missing)}: not a summary written by this bench")
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def median_of(runs: list[Run], value: Callable[[Run], float]) -> float:
    return float(statistics.median(value(r) for r in runs))


def spread_of(runs: list[Run], value: Callable[[Run], float]) -> tuple[float, float]:
    values = [value(r) for r in runs]
    return min(values), max(values)


@dataclass(frozen=True)
class Rate:
    offered: float
    why: str


@dataclass(frozen=True)
class Compare:
    """`python -m bench compare`: the same load against each profile, each REPEAT times."""

    started: str
    backend: str
    machine: dict[str, Any]
    rate: Rate
    duration: str
    vus: int
    p95_bound_ms: float
    p99_bound_ms: float
    runs: list[Run]
    repeat: int = 1
    capacity_search: list[Run] = field(default_factory=list)
    kind: str = "compare"

    def profiles(self) -> list[str]:
        return list(dict.fromkeys(r.profile for r in self.runs))

    def runs_of(self, profile: str) -> list[Run]:
        return [r for r in self.runs if r.profile == profile]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Compare:
        _expect_kind(data, "compare")
        return cls(
            started=data["started"], backend=data["backend"], machine=data["machine"],
            rate=Rate(**data["rate"]), duration=data["duration"], vus=data["vus"],
            p95_bound_ms=data["p95_bound_ms"], p99_bound_ms=data["p99_bound_ms"],
            runs=[Run.from_dict(r) for r in data["runs"]], repeat=data.get("repeat", 1),
            capacity_search=[Run.from_dict(r) for r in data.get("capacity_search", [])],
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Point:
    """One replica count of a capacity curve: the highest sustained rate and the runs that found it."""

    replicas: int
    capacity: float
    p95_ms: float | None
    runs: list[Run]
    ideal: float | None = None
    efficiency: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Point:
        return cls(replicas=data["replicas"], capacity=data["capacity"], p95_ms=data["p95_ms"],
                   runs=[Run.from_dict(r) for r in data["runs"]], ideal=data.get("ideal"),
                   efficiency=data.get("efficiency"))


@dataclass(frozen=True)
class Sweep:
    """`python -m bench sweep` and `rate`: capacity curves, one per profile (and path)."""

    started: str
    backend: str
    machine: dict[str, Any]
    scales: list[int]
    duration: str
    p95_bound_ms: float
    curves: dict[str, list[Point]]
    kind: str = "sweep"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sweep:
        if data.get("kind") not in ("sweep", "rate"):
            raise ValueError(f"summary kind {data.get('kind')!r} is not 'sweep' or 'rate'")
        return cls(started=data["started"], backend=data["backend"], machine=data["machine"],
                   scales=data["scales"], duration=data["duration"], p95_bound_ms=data["p95_bound_ms"],
                   curves={name: [Point.from_dict(p) for p in points] for name, points in data["curves"].items()},
                   kind=data.get("kind", "sweep"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def with_efficiency(curves: dict[str, list[Point]]) -> dict[str, list[Point]]:
    """capacity(N) / (N x capacity(1)), against the first curve's one-replica capacity."""
    first = next(iter(curves.values()), [])
    one = next((p.capacity for p in first if p.replicas == 1), None)
    return {name: [Point(p.replicas, p.capacity, p.p95_ms, p.runs,
                         ideal=one * p.replicas if one else None,
                         efficiency=p.capacity / (one * p.replicas) if one else None) for p in points]
            for name, points in curves.items()}


def _expect_kind(data: dict[str, Any], kind: str) -> None:
    if data.get("kind") != kind:
        raise ValueError(f"summary kind {data.get('kind')!r} is not {kind!r}")


# The article's test, and its two published rows (its machine, not this one): 150 req/s
# with concurrency 10 for 20 s against one Node process, then the cluster module.
ARTICLE_RATE = 150.0


@dataclass(frozen=True)
class ArticleRow:
    label: str
    completed: int
    errors: int
    mean_ms: float
    max_ms: float


ARTICLE_ROWS = (
    ArticleRow("article: without cluster", completed=2717, errors=629, mean_ms=1342.7, max_ms=2336.0),
    ArticleRow("article: with cluster", completed=2931, errors=0, mean_ms=32.4, max_ms=239.0),
)


@dataclass(frozen=True)
class RuntimeResult:
    """`bench runtimes`, one profile: the article's test, then its capacity at the fixed VUs."""

    profile: str            # Run.profile: cpython-one, cpython-many, pypy-one, pypy-many, node
    runtime: str            # cpython, pypy or node
    version: str            # as the profile names itself: "PyPy 7.3.20 (Python 3.11.13)", "Node.js v20.19.2"
    replicas: int           # replicas behind nginx, or Node cluster workers
    article: Run            # the article's test
    capacity: float         # the highest sustained rate at the fixed VUs; 0: none
    capacity_runs: list[Run]

    def at_capacity(self, p95_bound_ms: float) -> Run | None:
        return next((r for r in self.capacity_runs
                     if r.offered_rate == self.capacity and r.sustained(p95_bound_ms)), None)

    def bounded(self, p95_bound_ms: float) -> bool:
        """False when the search ran out of steps while every rate was still sustained: the
        capacity is then only a lower bound."""
        return any(r.offered_rate > self.capacity and not r.sustained(p95_bound_ms) for r in self.capacity_runs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuntimeResult:
        return cls(profile=data["profile"], runtime=data["runtime"], version=data["version"],
                   replicas=data["replicas"], article=Run.from_dict(data["article"]), capacity=data["capacity"],
                   capacity_runs=[Run.from_dict(r) for r in data["capacity_runs"]])


# (label, numerator profile, denominator profile, what it says): capacity over capacity.
RATIO_RULES = (
    ("PyPy one / CPython one", "pypy-one", "cpython-one", "what PyPy's JIT brings to one process"),
    ("PyPy many / Node cluster", "pypy-many", "node",
     "Python replicas behind nginx against the article's own system, on the same cores"),
    ("CPython many / CPython one", "cpython-many", "cpython-one",
     "what scaling out brings on CPython (ideal: min(replicas, cores))"),
)


@dataclass(frozen=True)
class Ratio:
    label: str
    numerator: str
    denominator: str
    meaning: str
    value: float | None     # None: a profile was not run, or the denominator sustained nothing
    bound: str = "="        # "=", ">=" or "<=" when a capacity is only a lower bound; "?" when both are

    def text(self) -> str:
        if self.value is None:
            return "-"
        prefix = {"=": "", ">=": ">= ", "<=": "<= ", "?": "~"}[self.bound]
        return f"{prefix}{self.value:.2f}x"


def ratio(rule: tuple[str, str, str, str], numerator: RuntimeResult | None, denominator: RuntimeResult | None,
          p95_bound_ms: float) -> Ratio:
    """One of RATIO_RULES: capacity over capacity. A capacity whose search never saw a rate
    refused is a lower bound: over it, the ratio is at least (>=); under it, at most (<=)."""
    label, num, den, meaning = rule
    if numerator is None or denominator is None or denominator.capacity <= 0:
        return Ratio(label, num, den, meaning, None)
    low_num = numerator.capacity > 0 and not numerator.bounded(p95_bound_ms)
    low_den = not denominator.bounded(p95_bound_ms)
    bound = {(False, False): "=", (True, False): ">=", (False, True): "<=", (True, True): "?"}[(low_num, low_den)]
    return Ratio(label, num, den, meaning, numerator.capacity / denominator.capacity, bound)


@dataclass(frozen=True)
class Runtimes:
    """`python -m bench runtimes`: the article's test, then the capacity at one fixed number
    of VUs, on CPython and PyPy (one replica, and one per core) and on the Node reference."""

    started: str
    backend: str
    machine: dict[str, Any]
    rate: float             # the article's test: offered req/s ...
    duration: str           # ... for this long ...
    vus: int                # ... with this many VUs
    capacity_vus: int       # every capacity step, every profile: exactly this many VUs
    capacity_duration: str  # one capacity step
    p95_bound_ms: float
    p99_bound_ms: float
    results: list[RuntimeResult]
    kind: str = "runtimes"

    def result(self, profile: str) -> RuntimeResult | None:
        return next((r for r in self.results if r.profile == profile), None)

    def ratios(self) -> list[Ratio]:
        return [ratio(rule, self.result(rule[1]), self.result(rule[2]), self.p95_bound_ms) for rule in RATIO_RULES]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Runtimes:
        _expect_kind(data, "runtimes")
        return cls(started=data["started"], backend=data["backend"], machine=data["machine"], rate=data["rate"],
                   duration=data["duration"], vus=data["vus"], capacity_vus=data["capacity_vus"],
                   capacity_duration=data["capacity_duration"], p95_bound_ms=data["p95_bound_ms"],
                   p99_bound_ms=data["p99_bound_ms"],
                   results=[RuntimeResult.from_dict(r) for r in data["results"]])

    def to_dict(self) -> dict[str, Any]:
        """The fields, and the ratios for a reader of the JSON (recomputed on reading)."""
        return {**asdict(self), "ratios": [asdict(r) for r in self.ratios()]}
