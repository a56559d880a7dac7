"""The capacity search, against fake servers whose capacity is known."""

import math

import pytest

from bench import capacity
from bench.model import Run
from tests.bench.conftest import ROOT, read

pytestmark = pytest.mark.unit

TEMPLATE = read(ROOT / "docs" / "benchmarks" / "2core-compare-80rps" / "summary.json")["runs"][1]


def fake_server(capacity_rps: float, calls: list[float]):
    """A server that serves any rate up to its capacity, and drops 10% beyond."""
    def measure(rate: float) -> Run:
        calls.append(rate)
        dropped = 0 if rate <= capacity_rps else max(1, round(0.1 * rate))
        return Run.from_dict({**TEMPLATE, "offered_rate": rate, "dropped": dropped, "p95_ms": 50.0})
    return measure


@pytest.mark.parametrize(("true_capacity", "start"), [(64, 40), (64, 200), (1500, 300), (7, 3)])
def test_search_finds_the_capacity_within_5_percent(true_capacity: float, start: float) -> None:
    calls: list[float] = []
    found = capacity.search(fake_server(true_capacity, calls), start, p95_bound_ms=500, max_runs=12)
    assert found.capacity <= true_capacity, "a rate that was not sustained was reported"
    assert found.capacity >= 0.95 * true_capacity - 1, f"stopped early: {calls}"
    assert len(found.runs) == len(calls)
    assert found.best(500) is not None and found.best(500).offered_rate == found.capacity


def test_search_stops_at_max_runs_and_reports_only_sustained_rates() -> None:
    calls: list[float] = []
    found = capacity.search(fake_server(1000, calls), 10, p95_bound_ms=500, max_runs=3)
    assert calls == [10, 13, 17]
    assert found.capacity == 17


def test_nothing_sustained_gives_zero() -> None:
    calls: list[float] = []
    found = capacity.search(fake_server(0.5, calls), 4, p95_bound_ms=500, max_runs=10)
    assert found.capacity == 0
    assert calls[-1] == 1 and found.best(500) is None


def test_next_rate_rules() -> None:
    assert capacity.next_rate(0, math.inf, 10) == 13      # up 30% until a rate fails
    assert capacity.next_rate(0, math.inf, 1) == 2        # always moves
    assert capacity.next_rate(0, 10, 10) == 7             # down 30% until one holds
    assert capacity.next_rate(100, 130, 130) == 115       # then halve the gap
    assert capacity.next_rate(100, 104, 104) is None      # within 5%: done


def test_vus_cover_the_rate_at_the_latency_bound() -> None:
    assert capacity.vus_for(1000, 100, floor=10) == 100
    assert capacity.vus_for(20, 500, floor=10) == 10
