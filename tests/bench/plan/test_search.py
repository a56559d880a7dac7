"""The two searches: replicas needed for a target, and the rate a stack sustains."""

import math

import pytest

from bench.plan.search import Target, capacity, replicas_needed, trial
from bench.plan.sim import Traffic
from bench.plan.workload import QUEUE, Cost, Stack, parse_mix

pytestmark = pytest.mark.unit

UNIFORM = Traffic(400.0, parse_mix("1:9999"), Cost(0.0, 1e-6))  # 10 ms jobs at 400 req/s: 4 cores of work
MIX = Traffic(400.0, parse_mix("0.8:2000,0.2:40000"), Cost(0.0, 1e-6))  # 2 and 40 ms: 0.8 x 2 + 0.2 x 40 = 9.6 ms


def test_replicas_needed_is_the_first_count_that_meets_the_target():
    target = Target(p95_ms=25)
    found = replicas_needed(lambda n: Stack(n, "least_conn"), UNIFORM, target, ceiling=64, jobs=8000)
    assert found.replicas is not None
    assert found.replicas >= 5  # 4 cores of work: 4 replicas would be busy all the time
    by_count = {t.replicas: t for t in found.trials}
    assert by_count[found.replicas].met
    assert not by_count[found.replicas - 1].met  # the search proved the one below fails
    assert by_count[found.replicas].percentiles["all"]["p95_ms"] <= 25


def test_a_trial_too_short_to_show_an_overload_is_not_met():
    # 1% over what 4 replicas can run: 2,000 jobs take 5 s, too few for the queue to show it
    over = trial(Stack(4, "least_conn"), Traffic(404.0, UNIFORM.mix, UNIFORM.cost), Target(p95_ms=500), jobs=2000)
    assert over.utilization > 1 and not over.met
    assert over.percentiles["all"]["p95_ms"] <= 500 and over.shed_share == 0  # what alone would have passed


def test_an_unreachable_target_says_so_after_trying_the_ceiling():
    # 10 ms jobs never answer in 5 ms, whatever the replica count
    found = replicas_needed(lambda n: Stack(n), UNIFORM, Target(p95_ms=5), ceiling=11, jobs=4000)
    assert found.replicas is None
    assert max(t.replicas for t in found.trials) == 11  # 4, 5, 6, 8, 10, then the ceiling itself
    below_load = replicas_needed(lambda n: Stack(n), UNIFORM, Target(p95_ms=500), ceiling=2, jobs=2000)
    assert below_load.replicas is None and [t.replicas for t in below_load.trials] == [2]


def test_the_ceiling_itself_can_be_the_answer():
    found = replicas_needed(lambda n: Stack(n, "least_conn"), UNIFORM, Target(p95_ms=25), ceiling=64, jobs=8000)
    again = replicas_needed(lambda n: Stack(n, "least_conn"), UNIFORM, Target(p95_ms=25), ceiling=found.replicas,
                            jobs=8000)
    assert again.replicas == found.replicas


def test_on_a_mix_the_central_queue_needs_fewest_and_round_robin_most():
    target = Target(p95_ms=45)
    needed = {m: replicas_needed(lambda n, m=m: Stack(n, m, long_job_s=0.0), MIX, target, 64, jobs=12000).replicas
              for m in (QUEUE, "least_conn", "round-robin")}
    assert needed[QUEUE] <= needed["least_conn"] < needed["round-robin"], needed


def test_a_trial_reports_each_class_and_the_load():
    got = trial(Stack(6, "least_conn"), MIX, Target(500), jobs=6000)
    assert set(got.percentiles) == {"all", "small", "large"}
    assert got.percentiles["small"]["p50_ms"] < got.percentiles["large"]["p50_ms"]
    assert got.utilization == pytest.approx(400 * (0.8 * 0.002001 + 0.2 * 0.040001) / 6)  # n + 1 units each
    assert got.shed_share == 0


def test_capacity_over_a_short_step_is_a_little_over_the_job_rate():
    found = capacity(Stack(1), Traffic(50.0, parse_mix("1:9999"), Cost(0.0, 1e-6), arrivals="even"),
                     p95_bound_ms=500, duration_s=5)
    # 10 ms jobs: 100 a second. A 5 s step, as bench's capacity search runs, also "sustains" a
    # little more: its queue grows by 5 s x (rate/100 - 1) and passes the 0.5 s bound at 110.
    assert 105 <= found <= 112
    two = capacity(Stack(2, "round-robin"), Traffic(50.0, parse_mix("1:9999"), Cost(0.0, 1e-6), arrivals="even"),
                   p95_bound_ms=500, duration_s=5)
    assert two == pytest.approx(2 * found, rel=0.05)
    assert not math.isnan(two)
