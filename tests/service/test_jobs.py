import asyncio
import threading

import pytest

from app.jobs import JobQueue, Overloaded

pytestmark = pytest.mark.unit


async def wait_until(predicate, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def test_jobs_run_one_at_a_time_in_arrival_order() -> None:
    order: list[int] = []
    running = threading.Semaphore(1)

    def job(i: int) -> int:
        assert running.acquire(blocking=False), "two jobs ran at once"
        order.append(i)
        running.release()
        return i * 2

    async def main() -> list[int]:
        queue = JobQueue(max_queue=10)
        try:
            return await asyncio.gather(*(queue.run(job, i) for i in range(5)))
        finally:
            queue.shutdown()

    assert asyncio.run(main()) == [0, 2, 4, 6, 8]
    assert order == [0, 1, 2, 3, 4]


def test_a_full_queue_refuses_at_once_and_frees_up_after() -> None:
    gate = threading.Event()

    async def main() -> None:
        queue = JobQueue(max_queue=1)
        running = asyncio.ensure_future(queue.run(gate.wait, 5))
        waiting = asyncio.ensure_future(queue.run(lambda: "second"))
        await wait_until(lambda: queue.admitted == 2)
        with pytest.raises(Overloaded, match=r"1 jobs are already waiting \(limit 1\)"):
            await queue.run(lambda: "refused")
        gate.set()
        assert await running is True
        assert await waiting == "second"
        await wait_until(lambda: queue.admitted == 0)
        assert await queue.run(lambda: "again") == "again"
        queue.shutdown()

    asyncio.run(main())


def test_a_cancelled_caller_keeps_its_slot_until_the_job_really_ends() -> None:
    gate = threading.Event()

    async def main() -> None:
        queue = JobQueue(max_queue=0)
        caller = asyncio.ensure_future(queue.run(gate.wait, 5))
        await wait_until(lambda: queue.admitted == 1)
        caller.cancel()
        await asyncio.sleep(0.05)
        assert queue.admitted == 1, "the job still runs, so its slot must stay taken"
        with pytest.raises(Overloaded):
            await queue.run(lambda: None)
        gate.set()
        await wait_until(lambda: queue.admitted == 0)
        queue.shutdown()

    asyncio.run(main())
