"""The simulation against queueing theory's closed forms, where jobs are exponential and
nothing is shed: the same engine the planner runs, with its real balancing code."""

import pytest

from bench.plan.sim import Simulation, Traffic, simulate
from bench.plan.workload import QUEUE, Cost, Stack, parse_mix
from tests.bench.plan.closed_forms import en_m1_wait, erlang_c, mm1_wait, mmc_wait

pytestmark = pytest.mark.unit

MEAN_S = 0.01  # 10 ms a job: n=999 at 10 us a unit
EXPONENTIAL = {"mix": parse_mix("1:999"), "cost": Cost(0.0, 1e-5), "service": "exponential"}
UNBOUNDED = {"long_job_s": 0.0, "max_wait_s": 1e9}  # one lane, nothing shed


def mean_wait(stack: Stack, rate: float, jobs: int = 400_000) -> float:
    """Over 16 seeds: one M/M/1 run of 20,000 jobs at 70% load strays ~6% from the mean."""
    seeds = 16
    outcome = simulate(stack, Traffic(rate, **EXPONENTIAL), duration_s=jobs / rate / seeds, warmup_s=5, seeds=seeds)
    assert outcome.shed_share == 0
    return outcome.mean_wait_s()


def test_closed_forms_match_textbook_values():
    assert mm1_wait(50, 100) == pytest.approx(0.01)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # c=2, a=1: P(wait) = 1/3
    assert en_m1_wait(70, 100, 1) == pytest.approx(mm1_wait(70, 100), rel=1e-9)  # Erlang-1 is Poisson


def test_one_replica_is_mm1():
    assert mean_wait(Stack(1, "round-robin", **UNBOUNDED), 50) == pytest.approx(mm1_wait(50, 1 / MEAN_S), rel=0.05)


def test_central_queue_is_mmc_erlang_c():
    rate = 0.7 * 4 / MEAN_S
    assert mean_wait(Stack(4, QUEUE, **UNBOUNDED), rate) == pytest.approx(mmc_wait(rate, 1 / MEAN_S, 4), rel=0.05)


@pytest.mark.parametrize("replicas", [2, 4])
def test_round_robin_is_erlang_n_arrivals(replicas):
    """Each of N replicas gets every N-th request: Erlang-N gaps, E_N/M/1."""
    rate = 0.7 * replicas / MEAN_S
    got = mean_wait(Stack(replicas, "round-robin", **UNBOUNDED), rate)
    assert got == pytest.approx(en_m1_wait(rate, 1 / MEAN_S, replicas), rel=0.05)
    # and it is not M/M/1 per replica (random splitting), which waits far longer
    assert got < 0.8 * mm1_wait(rate / replicas, 1 / MEAN_S)


def test_least_conn_waits_between_central_queue_and_round_robin():
    rate = 0.8 * 4 / MEAN_S
    central, least, rr = (mean_wait(Stack(4, m, **UNBOUNDED), rate, jobs=80_000)
                          for m in (QUEUE, "least_conn", "round-robin"))
    assert central < least < rr


def test_a_run_is_reproducible_per_seed_and_seeds_differ():
    def run(seed: int) -> list[float]:
        return Simulation(Stack(2, "random two least_conn"), Traffic(150, **EXPONENTIAL), seed=seed).run(5).served()
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_a_long_simulation_ends_past_float_precision_of_small_steps():
    """Past 2**14 s a job's work left can stay a few ulps above zero: each job still ends."""
    stack = Stack(2, "least_conn", long_job_s=0.02)
    outcome = Simulation(stack, Traffic(0.05, parse_mix("0.5:999,0.5:29999"), Cost(0.0, 1e-6)), seed=1).run(
        40_000, warmup_s=0)
    assert len(outcome.served()) == pytest.approx(40_000 * 0.05, rel=0.1)


# The replica's rules (app/jobs.py), each on a case small enough to reason out by hand.
FIXED = parse_mix("1:999")


def one_job_each(stack: Stack, jobs: list[float], gap_s: float = 0.0) -> dict[float, float]:
    """Jobs of the given demands (seconds), sent gap_s apart: each one's latency."""
    sim = Simulation(stack, Traffic(1.0, FIXED, Cost(0.0, 0.0)), seed=0)
    latencies: dict[float, float] = {}
    done = sim.finished

    def finished(job):
        latencies[job.work] = sim.env.now - job.arrived
        done(job)
    for group in {r.group for r in sim.replicas}:
        group.on_finish = finished
    for k, work in enumerate(jobs):
        sim.env.timeout(k * gap_s).callbacks.append(lambda _, w=work: send(sim, w))
    sim.env.run()
    return latencies


def send(sim: Simulation, work: float) -> None:
    from bench.plan.sim import Job

    sim.dispatch(Job(FIXED.classes[0], work, sim.env.now, sim.proxies[0]))


def test_one_lane_is_fifo_and_two_lanes_let_a_short_job_share_the_core():
    one_lane = one_job_each(Stack(1, long_job_s=0.0), [0.4, 0.01], gap_s=0.001)
    assert one_lane[0.01] == pytest.approx(0.4 - 0.001 + 0.01)  # waits for the long job's end
    two = one_job_each(Stack(1, long_job_s=0.02), [0.4, 0.01], gap_s=0.001)
    assert two[0.01] == pytest.approx(0.02)  # half the core for its 10 ms
    assert two[0.4] == pytest.approx(0.41)   # the long job lost 10 ms to it


def test_a_job_whose_wait_passes_the_bound_is_shed_and_tried_on_another_replica():
    stack = Stack(2, "round-robin", long_job_s=0.0, max_wait_s=0.5)
    sim = Simulation(stack, Traffic(1.0, FIXED, Cost(0.0, 0.0)), seed=0)
    sim.proxies[0].next = 0
    for _ in range(3):  # replica 0 gets jobs 1 and 3, replica 1 job 2
        send(sim, 0.3)
    # replica 0 has 0.6 s ahead now: a fourth job goes there in turn, is refused, then runs on 1
    sim.proxies[0].next = 0
    send(sim, 0.3)
    assert sim.outcome.retried == 1
    assert [len(r.short) for r in sim.replicas] == [2, 2]
    send(sim, 0.3)  # both have 0.6 s ahead: refused by both, a 503
    assert sum(sim.outcome.shed.values()) == 1


def test_without_the_retry_a_shed_job_is_a_503_at_once():
    stack = Stack(2, "round-robin", long_job_s=0.0, max_wait_s=0.5, retry_shed=False)
    sim = Simulation(stack, Traffic(1.0, FIXED, Cost(0.0, 0.0)), seed=0)
    sim.proxies[0].next = 0
    for _ in range(3):
        send(sim, 0.3)
    sim.proxies[0].next = 0
    send(sim, 0.3)
    assert sim.outcome.retried == 0
    assert sum(sim.outcome.shed.values()) == 1


def test_replicas_beyond_the_cores_share_them_and_a_cap_slows_one():
    alone = one_job_each(Stack(4, "round-robin", cores_per_host=2), [0.1])
    assert alone[0.1] == pytest.approx(0.1)  # one busy replica: a core of its own
    four = one_job_each(Stack(4, "round-robin", cores_per_host=2), [0.1, 0.1001, 0.1002, 0.1003])
    assert four[0.1] == pytest.approx(0.2, rel=0.01)  # four busy on two cores: half a core each
    capped = one_job_each(Stack(1, caps=(0.2,)), [0.1])
    assert capped[0.1] == pytest.approx(0.5)


def test_with_several_nginx_least_conn_sees_less_and_waits_longer():
    rate = 0.85 * 8 / MEAN_S
    def p95(nginx: int) -> float:
        outcome = simulate(Stack(8, "least_conn", nginx=nginx, long_job_s=0.0, max_wait_s=1e9),
                           Traffic(rate, **EXPONENTIAL), duration_s=100, warmup_s=5)
        return outcome.percentile_ms(95)
    assert p95(1) < p95(4)
