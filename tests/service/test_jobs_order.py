"""JobQueue: one job at a time, first come first served, and which jobs run on the event loop."""

import asyncio
import threading

import pytest

from app.jobs import JobQueue
from tests.service.queue_kit import Clock, check, timed, until_admitted, where
from tests.wait import until_async

pytestmark = pytest.mark.unit


def test_jobs_run_one_at_a_time_in_arrival_order() -> None:
    order: list[int] = []
    running = threading.Semaphore(1)

    def job(i: int) -> int:
        assert running.acquire(blocking=False), "two jobs ran at once"
        order.append(i)
        running.release()
        return i * 2

    async def test(queue: JobQueue, clock: Clock) -> None:
        assert await asyncio.gather(*(queue.run(job, i) for i in range(5))) == [0, 2, 4, 6, 8]
        assert order == [0, 1, 2, 3, 4]

    check(test, max_wait_s=10)


def test_a_short_job_on_an_idle_replica_runs_on_the_event_loop() -> None:
    async def test(queue: JobQueue, clock: Clock) -> None:
        job, ran_on = where(clock, 0.001)
        assert await queue.run(job, 0) == 0  # no estimate yet: the worker thread
        assert await queue.run(job, 0) == 0  # 1 ms known, under the 5 ms bound: inline
        assert await queue.run(job, 9) == 9  # 10 ms: the worker thread again
        assert ran_on[0].startswith("cpu-job") and ran_on[2].startswith("cpu-job")
        assert ran_on[1] == threading.current_thread().name
        assert queue.rate.seconds_per_unit == pytest.approx(0.001)  # inline jobs teach it too
    check(test, max_wait_s=1, inline_max_s=0.005)


def test_a_short_job_waits_its_turn_behind_a_busy_worker() -> None:
    """FIFO holds: inline only when nothing is admitted, never ahead of a waiting job. With
    long_job_s=0 every job is in one lane: a long one holds up the short one behind it."""
    async def test(queue: JobQueue, clock: Clock) -> None:
        await timed(queue, clock, 0.001)
        gate = clock.gate()
        long = asyncio.ensure_future(queue.run(clock.job(0.001, gate), 99))
        await until_admitted(queue, 1)
        job, ran_on = where(clock, 0.001)
        short = asyncio.ensure_future(queue.run(job, 0))
        await until_async("the short job to be queued (or run inline: wrong)", lambda: (queue.admitted, short.done()),
                          lambda seen: seen == (2, False) or seen[1], 2)
        assert not short.done() and ran_on == [] and queue.running == 1
        gate.set()
        assert (await long, await short) == (99, 0)
        assert ran_on[0].startswith("cpu-job")
    check(test, max_wait_s=1, inline_max_s=0.005, long_job_s=0)
