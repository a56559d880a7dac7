"""JobQueue: a job's slot is freed when the job really ends, cancelled or failed."""

import asyncio

import pytest

from app.jobs import JobQueue, Overloaded
from tests.service.queue_kit import Clock, check, until_admitted

pytestmark = pytest.mark.unit


def test_a_cancelled_caller_keeps_its_slot_until_the_job_really_ends() -> None:
    async def test(queue: JobQueue, clock: Clock) -> None:
        caller = asyncio.ensure_future(queue.run(clock.job(0.5, clock.gate()), 0))
        await until_admitted(queue, 1)
        caller.cancel()
        await asyncio.wait([caller])  # its cancellation has run its course
        assert queue.admitted == 1, "the job still runs, so its slot must stay taken"
        with pytest.raises(Overloaded):
            await queue.run(clock.job(0.5), 0)
        clock.gates[0].set()
        await until_admitted(queue, 0)
        assert queue.rate.seconds_per_unit == 0.5, "the job ran to the end: its time counts"

    check(test, max_wait_s=0)


def test_a_job_cancelled_before_it_ran_frees_its_slot_and_teaches_nothing() -> None:
    async def test(queue: JobQueue, clock: Clock) -> None:
        running = asyncio.ensure_future(queue.run(clock.job(0.5, clock.gate()), 0))
        waiting = asyncio.ensure_future(queue.run(clock.job(0.5), 10**6))
        await until_admitted(queue, 2)
        waiting.cancel()
        await until_admitted(queue, 1)
        clock.gates[0].set()
        await running
        await until_admitted(queue, 0)
        assert queue.rate.seconds_per_unit == 0.5, "only the job that ran was timed"

    check(test, max_wait_s=10)


def test_a_job_that_fails_frees_its_slot_and_teaches_nothing() -> None:
    def broken(n: int) -> int:
        raise ValueError("no")

    async def test(queue: JobQueue, clock: Clock) -> None:
        with pytest.raises(ValueError, match="no"):
            await queue.run(broken, 3)
        await until_admitted(queue, 0)
        assert queue.expected_wait_s is None

    check(test, max_wait_s=0)
