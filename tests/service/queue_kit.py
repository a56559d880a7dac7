"""A JobQueue under test: a clock only its jobs move, gates that hold jobs, and waits on its count."""

import asyncio
import threading
from collections.abc import Awaitable, Callable

from app.jobs import JobQueue
from tests.wait import until_async


async def until_admitted(queue: JobQueue, count: int) -> None:
    await until_async(f"{count} jobs admitted", lambda: queue.admitted, lambda now: now == count, 2)


class Clock:
    """A clock only the jobs move, whatever the machine does, and gates that hold jobs."""

    def __init__(self) -> None:
        self.now = 0.0
        self.gates: list[threading.Event] = []

    def __call__(self) -> float:
        return self.now

    def gate(self) -> threading.Event:
        self.gates.append(threading.Event())
        return self.gates[-1]

    def job(self, seconds_per_unit: float, gate: threading.Event | None = None) -> Callable[[int], int]:
        """A job that takes n + 1 units at this rate, once the gate (if any) opens."""
        def run(n: int) -> int:
            if gate is not None:
                gate.wait(5)
            self.now += (n + 1) * seconds_per_unit
            return n
        return run


Test = Callable[[JobQueue, Clock], Awaitable[None]]


def check(test: Test, max_wait_s: float, inline_max_s: float = 0, long_job_s: float = 0) -> None:
    """The test against a fresh queue. Whatever it does, its gates open and its jobs end
    before pytest reports: a job left blocked would outlive the event loop. By default no
    job runs inline (on the event loop), where a gate would block the loop itself."""
    clock = Clock()
    queue = JobQueue(max_wait_s, long_job_s=long_job_s, clock=clock, inline_max_s=inline_max_s)

    async def main() -> None:
        # A failed test leaves callers whose exception nobody awaited. asyncio would log them
        # from the garbage collector, which Python 3.11 may run inside pytest's own parsing
        # of the failure: "SystemError: AST constructor recursion depth mismatch".
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
        try:
            await test(queue, clock)
        finally:
            for gate in clock.gates:
                gate.set()
            queue.shutdown()

    asyncio.run(main())


async def timed(queue: JobQueue, clock: Clock, seconds_per_unit: float, n: int = 0) -> None:
    """Run one job to the end, so the queue learns its rate."""
    await queue.run(clock.job(seconds_per_unit), n)
    await until_admitted(queue, 0)


def where(clock: Clock, seconds_per_unit: float) -> tuple[Callable[[int], int], list[str]]:
    """A job that records the thread it ran on."""
    ran_on: list[str] = []
    job = clock.job(seconds_per_unit)

    def run(n: int) -> int:
        ran_on.append(threading.current_thread().name)
        return job(n)
    return run, ran_on
