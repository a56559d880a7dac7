"""JobQueue with two lanes: jobs estimated over long_job_s run on their own thread, so a
short job never waits for a long one to end, and each lane is admitted by its own wait."""

import asyncio

import pytest

from app.jobs import JobQueue, Overloaded
from tests.service.queue_kit import Clock, check, timed, until_admitted, where

pytestmark = pytest.mark.unit


def test_a_short_job_runs_while_a_long_one_holds_the_other_thread() -> None:
    """At 1 ms a unit with a 50 ms bound: n=99 (0.1 s) is long, n=9 (10 ms) is short."""
    async def test(queue: JobQueue, clock: Clock) -> None:
        await timed(queue, clock, 0.001)
        gate = clock.gate()
        long_job, long_on = where(clock, 0.001)
        held = clock.job(0.001, gate)

        def long_held(n: int) -> int:
            held(0)
            return long_job(n)
        long = asyncio.ensure_future(queue.run(long_held, 99))
        await until_admitted(queue, 1)
        short_job, short_on = where(clock, 0.001)
        assert await queue.run(short_job, 9) == 9, "the short job ends while the long one is held"
        assert not long.done()
        gate.set()
        assert await long == 99
        assert long_on[0].startswith("cpu-long-job") and short_on[0].startswith("cpu-job")
    check(test, max_wait_s=1, long_job_s=0.05)


def test_each_lane_waits_for_its_own_work_and_half_the_core_while_both_run() -> None:
    """A held long job of 0.3 s: a long job behind it would wait 0.3 s (over the 0.25 s
    bound: shed); a short job waits for nothing in its lane (admitted). With 0.128 s of short
    work admitted, a new short job waits 0.128 s at half speed: 0.256 s, over the bound."""
    async def test(queue: JobQueue, clock: Clock) -> None:
        await timed(queue, clock, 0.001)
        gate = clock.gate()
        admitted = [asyncio.ensure_future(queue.run(clock.job(0.001, gate), 299))]
        await until_admitted(queue, 1)
        with pytest.raises(Overloaded) as refused:
            await queue.run(clock.job(0.001), 99)
        assert refused.value.wait_s == pytest.approx(0.3)
        admitted += [asyncio.ensure_future(queue.run(clock.job(0.001, gate), 39)) for _ in range(2)]
        await until_admitted(queue, 3)
        assert queue.running == 2
        admitted.append(asyncio.ensure_future(queue.run(clock.job(0.001, gate), 47)))
        await until_admitted(queue, 4)
        assert queue.expected_wait_s == pytest.approx(0.3 + 0.128), "the long lane: its 0.3 s, and 0.128 s shared"
        with pytest.raises(Overloaded) as refused:
            await queue.run(clock.job(0.001), 9)
        assert (refused.value.wait_s, refused.value.jobs) == (pytest.approx(2 * 0.128), 3), "its lane's 3 jobs"
        gate.set()
        assert await asyncio.gather(*admitted) == [299, 39, 39, 47]
    check(test, max_wait_s=0.25, long_job_s=0.05)

