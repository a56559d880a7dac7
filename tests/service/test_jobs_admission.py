"""JobQueue: admission by the work already waiting, against the bound max_wait_s."""

import asyncio
import threading

import pytest

from app.jobs import JobQueue, Overloaded
from tests.service.queue_kit import Clock, check, timed, until_admitted

pytestmark = pytest.mark.unit


def test_admission_weighs_the_work_waiting_not_the_number_of_jobs() -> None:
    """0.5 s allowed at 1 ms a unit: a running job of n=199 (0.2 s) and a waiting one of
    n=99 (0.1 s) leave room for any job, and once one of n=299 (0.3 s) waits too (0.6 s
    ahead), a tiny job is refused."""
    async def test(queue: JobQueue, clock: Clock) -> None:
        await timed(queue, clock, 0.001)
        gate = clock.gate()
        admitted = [asyncio.ensure_future(queue.run(clock.job(0.001, gate), n)) for n in (199, 99, 299)]
        await until_admitted(queue, 3)
        assert queue.expected_wait_s == pytest.approx(0.6)
        with pytest.raises(Overloaded) as refused:
            await queue.run(clock.job(0.001), 0)
        assert (refused.value.jobs, refused.value.wait_s, refused.value.limit_s) == (3, pytest.approx(0.6), 0.5)
        gate.set()
        await asyncio.gather(*admitted)

    check(test, max_wait_s=0.5)


def test_the_running_job_counts_only_for_what_is_left_of_it() -> None:
    """At 1 ms a unit, a running job of n=199 (0.2 s) and a waiting one of n=99 (0.1 s):
    0.3 s ahead while the first has not run yet, so a new job is refused (0.25 s allowed);
    0.15 s once it ran 0.15 s, so the new job is admitted; and once it outran its estimate,
    only the waiting jobs count."""
    async def test(queue: JobQueue, clock: Clock) -> None:
        await timed(queue, clock, 0.001)
        gate, started = clock.gate(), threading.Event()
        job = clock.job(0.001, gate)

        def running_job(n: int) -> int:
            started.set()
            return job(n)
        admitted = [asyncio.ensure_future(queue.run(running_job, 199))]
        await asyncio.to_thread(started.wait, 5)
        admitted.append(asyncio.ensure_future(queue.run(clock.job(0.001, gate), 99)))
        await until_admitted(queue, 2)
        assert queue.expected_wait_s == pytest.approx(0.3)
        with pytest.raises(Overloaded):
            await queue.run(clock.job(0.001), 0)
        clock.now += 0.15
        assert queue.expected_wait_s == pytest.approx(0.15)
        admitted.append(asyncio.ensure_future(queue.run(clock.job(0.001), 0)))
        await until_admitted(queue, 3)
        clock.now += 0.2
        assert queue.expected_wait_s == pytest.approx(0.101)
        gate.set()
        assert await asyncio.gather(*admitted) == [199, 99, 0]

    check(test, max_wait_s=0.25)


def test_after_a_run_of_tiny_jobs_huge_ones_still_fill_the_queue() -> None:
    """The mistake a mean job time makes: 1 ms jobs, then 1 s ones would look like 1 ms each."""
    async def test(queue: JobQueue, clock: Clock) -> None:
        for _ in range(20):
            await timed(queue, clock, 0.001)  # n=0: 1 ms each
        gate = clock.gate()
        huge = [asyncio.ensure_future(queue.run(clock.job(0.001, gate), 999)) for _ in range(3)]
        await until_admitted(queue, 3)
        with pytest.raises(Overloaded, match=r"^about 3\.00 s of work is already waiting \(3 jobs; limit 2\.5 s\)$"):
            await queue.run(clock.job(0.001), 999)
        gate.set()
        await asyncio.gather(*huge)

    check(test, max_wait_s=2.5)


def test_with_no_estimate_yet_every_job_is_admitted() -> None:
    async def test(queue: JobQueue, clock: Clock) -> None:
        gate = clock.gate()
        jobs = [asyncio.ensure_future(queue.run(clock.job(1.0, gate), n)) for n in range(50)]
        await until_admitted(queue, 50)
        assert queue.expected_wait_s is None
        gate.set()
        assert await asyncio.gather(*jobs) == list(range(50))

    check(test, max_wait_s=0.001)


@pytest.mark.parametrize("timed_first", [False, True], ids=["no estimate", "estimate"])
def test_a_bound_of_0_refuses_any_job_behind_a_running_one(timed_first: bool) -> None:
    async def test(queue: JobQueue, clock: Clock) -> None:
        if timed_first:
            await timed(queue, clock, 1e-9)
        running = asyncio.ensure_future(queue.run(clock.job(1e-9, clock.gate()), 0))
        await until_admitted(queue, 1)
        with pytest.raises(Overloaded, match=r"^1 job is already waiting \(limit 0 s\)$"):
            await queue.run(clock.job(1e-9), 0)
        clock.gates[0].set()
        await running
        await until_admitted(queue, 0)
        assert await queue.run(clock.job(1e-9), 5) == 5, "an idle replica takes the next job"

    check(test, max_wait_s=0)


def test_the_wait_frees_up_as_jobs_end() -> None:
    """At 10 us a unit, two jobs of n=99 are 2 ms of work: over 1.5 ms, until one ends."""
    async def test(queue: JobQueue, clock: Clock) -> None:
        await timed(queue, clock, 1e-5)
        first = asyncio.ensure_future(queue.run(clock.job(1e-5, clock.gate()), 99))
        second = asyncio.ensure_future(queue.run(clock.job(1e-5, clock.gate()), 99))
        await until_admitted(queue, 2)
        with pytest.raises(Overloaded, match=r"^about 2 ms of work is already waiting \(2 jobs; limit 0\.0015 s\)$"):
            await queue.run(clock.job(1e-5), 0)
        clock.gates[0].set()
        await first
        await until_admitted(queue, 1)
        assert queue.expected_wait_s == pytest.approx(0.001)
        third = asyncio.ensure_future(queue.run(clock.job(1e-5), 9))
        await until_admitted(queue, 2)
        clock.gates[1].set()
        assert await asyncio.gather(second, third) == [99, 9]

    check(test, max_wait_s=0.0015)
