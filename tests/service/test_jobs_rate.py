"""JobQueue: the rate it learns from the jobs it ran, and what each job reports."""

import asyncio

import pytest

from app.jobs import JobQueue, Overloaded, RunRate
from tests.service.queue_kit import Clock, check, timed, until_admitted
from tests.wait import until_async

pytestmark = pytest.mark.unit


def test_the_rate_is_a_mean_of_recent_jobs_weighted_by_size() -> None:
    """CPython's numbers: n=10**6 takes 37 ms, n=0 0.5 us (the call's fixed cost, over 10 times
    the rate). A plain mean of the ratios would take the tiny jobs' rate after 20 of them."""
    rate = RunRate()
    assert rate.seconds_per_unit is None, "no estimate before a job was timed"
    rate.observe(0.037, 10**6)
    assert rate.seconds_per_unit == pytest.approx(3.7e-8)
    for _ in range(20):
        rate.observe(5e-7, 1)
    assert rate.seconds_per_unit == pytest.approx(3.7e-8, rel=0.01), "tiny jobs barely move it"
    for _ in range(50):
        rate.observe(0.074, 10**6)  # the core is now shared: twice the time
    assert rate.seconds_per_unit == pytest.approx(7.4e-8, rel=0.01), "recent jobs outweigh old ones"


def test_the_queue_learns_the_rate_from_the_run_time_alone() -> None:
    async def test(queue: JobQueue, clock: Clock) -> None:
        first = asyncio.ensure_future(queue.run(clock.job(0.001, clock.gate()), 99))
        # Waits 0.1 s behind the first: counted in, the rate would come out higher.
        second = asyncio.ensure_future(queue.run(clock.job(0.001), 199))
        await until_admitted(queue, 2)
        assert queue.expected_wait_s is None, "nothing timed yet"
        clock.gates[0].set()
        assert await asyncio.gather(first, second) == [99, 199]
        await until_admitted(queue, 0)
        assert queue.rate.seconds_per_unit == pytest.approx(0.001)
        assert queue.expected_wait_s == 0

    check(test, max_wait_s=1)


def test_each_job_reports_its_wait_in_the_queue_and_its_run_time() -> None:
    """What /metrics' job histograms observe: the second job waits exactly as long as the
    first one runs (the clock only moves in jobs), and a refused job is counted as shed."""
    seen: list[tuple[float, float]] = []

    async def test(queue: JobQueue, clock: Clock) -> None:
        await timed(queue, clock, 0.01)  # no estimate, no shedding
        queue.on_job = lambda waited, took: seen.append((waited, took))
        gate = clock.gate()
        first = asyncio.ensure_future(queue.run(clock.job(0.01, gate), 99))  # 1 s
        second = asyncio.ensure_future(queue.run(clock.job(0.01), 19))  # 0.2 s
        await until_admitted(queue, 2)
        with pytest.raises(Overloaded):
            await queue.run(clock.job(0.01), 0)
        gate.set()
        await asyncio.gather(first, second)
        await until_async("both jobs reported", lambda: len(seen), lambda count: count == 2, 2)
        assert seen == [(0.0, pytest.approx(1.0)), (pytest.approx(1.0), pytest.approx(0.2))]
        assert queue.shed == 1

    check(test, max_wait_s=1.1)  # room for the second job (1 s ahead of it), not a third (1.2 s)
