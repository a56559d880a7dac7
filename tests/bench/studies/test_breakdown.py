"""bench/studies/breakdown.py: the layers of a request's CPU are differences of measured paths."""

import pytest

from bench.studies.breakdown import RATES, RuntimeCost, Step, table

pytestmark = pytest.mark.unit


def cost(runtime: str, healthz: float, n0: float, api: float, loop: float) -> RuntimeCost:
    steps = [Step(path, RATES[runtime][path], 100.0, 1000, 0, 1.0, us, 50.0 + i)
             for i, (path, us) in enumerate((("/healthz", healthz), ("/api?n=0", n0), ("/api", api)))]
    return RuntimeCost(runtime, runtime.upper(), loop, steps)


def test_each_layer_is_the_next_path_minus_the_one_before() -> None:
    rows = {row[0].strip(): row[1:] for row in table([cost("cpython", 400, 450, 35450, 34000),
                                                      cost("pypy", 500, 700, 2100, 1500)])}
    assert rows["CPU per request"] == ["CPYTHON", "PYPY"]
    assert rows["HTTP + routing (= /healthz)"] == ["400 us", "500 us"]
    assert rows["+ validation, admission, job call (/api?n=0 - /healthz)"] == ["50 us", "200 us"]
    assert rows["+ the job inside a request (/api - /api?n=0)"] == ["35000 us", "1400 us"]
    assert rows["the article's loop alone, warm"] == ["34000 us", "1500 us"]
    assert rows["nginx CPU per request (mean of the paths)"] == ["51 us", "51 us"]


def test_every_path_is_offered_below_what_one_replica_serves() -> None:
    """CPU per request is only clean without queueing: the cheapest job rate stays modest."""
    assert set(RATES["cpython"]) == set(RATES["pypy"]) == {"/healthz", "/api?n=0", "/api"}
    assert RATES["cpython"]["/api"] < RATES["pypy"]["/api"]
