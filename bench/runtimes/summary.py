"""The result model of `make bench-runtimes`: the article's published rows beside ours, and
the ratios of capacities between runtimes. Built of model.Run, read and written like the
other summaries (bench/model.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..model import Run, expect_kind


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
        expect_kind(data, "runtimes")
        return cls(started=data["started"], backend=data["backend"], machine=data["machine"], rate=data["rate"],
                   duration=data["duration"], vus=data["vus"], capacity_vus=data["capacity_vus"],
                   capacity_duration=data["capacity_duration"], p95_bound_ms=data["p95_bound_ms"],
                   p99_bound_ms=data["p99_bound_ms"],
                   results=[RuntimeResult.from_dict(r) for r in data["results"]])

    def to_dict(self) -> dict[str, Any]:
        """The fields, and the ratios for a reader of the JSON (recomputed on reading)."""
        return {**asdict(self), "ratios": [asdict(r) for r in self.ratios()]}
