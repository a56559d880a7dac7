"""The benchmark's one result model: k6/lib/summary.js writes a Run's fields, Python reads them.

summary.json (one per `results/<time>/`) holds a Compare, a Sweep or a Runtimes
(bench/runtimes/summary.py), each made of Runs with the context k6 cannot know (profile,
replicas, backend). Field names are the same in k6's JSON, in these classes and in
summary.json, so nothing is renamed on the way.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from .resources.prometheus import Monitoring
from .resources.usage import Resources

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
    # Optional, so that summaries written before they existed still load.
    resources: Resources | None = None     # CPU and peak memory per container (bench/resources/meter.py)
    monitoring: Monitoring | None = None   # Prometheus over the run's window (MONITOR=1)

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
        missing = {f.name for f in fields(cls) if f.default is MISSING} - data.keys()
        if missing:
            raise ValueError(f"a run lacks {sorted(missing)}: not a summary written by this bench")
        known = {k: v for k, v in data.items() if k in names}
        if known.get("resources") is not None:
            known["resources"] = Resources.from_dict(known["resources"])
        if known.get("monitoring") is not None:
            known["monitoring"] = Monitoring.from_dict(known["monitoring"])
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def median_of(runs: list[Run], value: Callable[[Run], float]) -> float:
    return float(statistics.median(value(r) for r in runs))


def spread_of(runs: list[Run], value: Callable[[Run], float]) -> tuple[float, float]:
    values = [value(r) for r in runs]
    return min(values), max(values)


def stat(runs: list[Run], value: Callable[[Run], float | None], fmt: str = "{:.1f}", unit: str = "") -> str:
    """The median over the runs that have the value; with several, the spread (min-max)
    after it; "-" when none has it (resources and Prometheus values are optional)."""
    have = [r for r in runs if value(r) is not None]
    if not have:
        return "-"

    def number(r: Run) -> float:
        v = value(r)
        return 0.0 if v is None else v
    text = fmt.format(median_of(have, number)) + unit
    if len(have) > 1:
        low, high = spread_of(have, number)
        text += f" ({fmt.format(low)}-{fmt.format(high)})"
    return text


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
        expect_kind(data, "compare")
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


def expect_kind(data: dict[str, Any], kind: str) -> None:
    if data.get("kind") != kind:
        raise ValueError(f"summary kind {data.get('kind')!r} is not {kind!r}")


# The article's test, and its two published rows (its machine, not this one): 150 req/s
# with concurrency 10 for 20 s against one Node process, then the cluster module.
ARTICLE_RATE = 150.0
