import asyncio
import threading
from collections.abc import Awaitable, Callable

import pytest

from app.jobs import JobQueue, Overloaded, RunRate

pytestmark = pytest.mark.unit


async def wait_until(predicate, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


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


def check(test: Test, max_wait_s: float, inline_max_s: float = 0) -> None:
    """The test against a fresh queue. Whatever it does, its gates open and its jobs end
    before pytest reports: a job left blocked would outlive the event loop. By default no
    job runs inline (on the event loop), where a gate would block the loop itself."""
    clock = Clock()
    queue = JobQueue(max_wait_s, clock=clock, inline_max_s=inline_max_s)

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
    await wait_until(lambda: queue.admitted == 0)


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
        await wait_until(lambda: queue.admitted == 2)
        assert queue.expected_wait_s is None, "nothing timed yet"
        clock.gates[0].set()
        assert await asyncio.gather(first, second) == [99, 199]
        await wait_until(lambda: queue.admitted == 0)
        assert queue.rate.seconds_per_unit == pytest.approx(0.001)
        assert queue.expected_wait_s == 0

    check(test, max_wait_s=1)


def test_admission_weighs_the_work_waiting_not_the_number_of_jobs() -> None:
    """0.5 s allowed at 1 ms a unit: a running job of n=199 (0.2 s) and a waiting one of
    n=99 (0.1 s) leave room for any job, and once one of n=299 (0.3 s) waits too (0.6 s
    ahead), a tiny job is refused."""
    async def test(queue: JobQueue, clock: Clock) -> None:
        await timed(queue, clock, 0.001)
        gate = clock.gate()
        admitted = [asyncio.ensure_future(queue.run(clock.job(0.001, gate), n)) for n in (199, 99, 299)]
        await wait_until(lambda: queue.admitted == 3)
        assert queue.expected_wait_s == pytest.approx(0.6)
        with pytest.raises(Overloaded) as refused:
            await queue.run(clock.job(0.001), 0)
        assert (refused.value.jobs, refused.value.wait_s, refused.value.limit_s) == (3, pytest.approx(0.6), 0.5)
        gate.set()
        await asyncio.gather(*admitted)

    check(test, max_wait_s=0.5)


def test_after_a_run_of_tiny_jobs_huge_ones_still_fill_the_queue() -> None:
    """The mistake a mean job time makes: 1 ms jobs, then 1 s ones would look like 1 ms each."""
    async def test(queue: JobQueue, clock: Clock) -> None:
        for _ in range(20):
            await timed(queue, clock, 0.001)  # n=0: 1 ms each
        gate = clock.gate()
        huge = [asyncio.ensure_future(queue.run(clock.job(0.001, gate), 999)) for _ in range(3)]
        await wait_until(lambda: queue.admitted == 3)
        with pytest.raises(Overloaded, match=r"^about 3\.00 s of work is already waiting \(3 jobs; limit 2\.5 s\)$"):
            await queue.run(clock.job(0.001), 999)
        gate.set()
        await asyncio.gather(*huge)

    check(test, max_wait_s=2.5)


def test_with_no_estimate_yet_every_job_is_admitted() -> None:
    async def test(queue: JobQueue, clock: Clock) -> None:
        gate = clock.gate()
        jobs = [asyncio.ensure_future(queue.run(clock.job(1.0, gate), n)) for n in range(50)]
        await wait_until(lambda: queue.admitted == 50)
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
        await wait_until(lambda: queue.admitted == 1)
        with pytest.raises(Overloaded, match=r"^1 job is already waiting \(limit 0 s\)$"):
            await queue.run(clock.job(1e-9), 0)
        clock.gates[0].set()
        await running
        await wait_until(lambda: queue.admitted == 0)
        assert await queue.run(clock.job(1e-9), 5) == 5, "an idle replica takes the next job"

    check(test, max_wait_s=0)


def test_the_wait_frees_up_as_jobs_end() -> None:
    """At 10 us a unit, two jobs of n=99 are 2 ms of work: over 1.5 ms, until one ends."""
    async def test(queue: JobQueue, clock: Clock) -> None:
        await timed(queue, clock, 1e-5)
        first = asyncio.ensure_future(queue.run(clock.job(1e-5, clock.gate()), 99))
        second = asyncio.ensure_future(queue.run(clock.job(1e-5, clock.gate()), 99))
        await wait_until(lambda: queue.admitted == 2)
        with pytest.raises(Overloaded, match=r"^about 2 ms of work is already waiting \(2 jobs; limit 0\.0015 s\)$"):
            await queue.run(clock.job(1e-5), 0)
        clock.gates[0].set()
        await first
        await wait_until(lambda: queue.admitted == 1)
        assert queue.expected_wait_s == pytest.approx(0.001)
        third = asyncio.ensure_future(queue.run(clock.job(1e-5), 9))
        await wait_until(lambda: queue.admitted == 2)
        clock.gates[1].set()
        assert await asyncio.gather(second, third) == [99, 9]

    check(test, max_wait_s=0.0015)


def test_a_cancelled_caller_keeps_its_slot_until_the_job_really_ends() -> None:
    async def test(queue: JobQueue, clock: Clock) -> None:
        caller = asyncio.ensure_future(queue.run(clock.job(0.5, clock.gate()), 0))
        await wait_until(lambda: queue.admitted == 1)
        caller.cancel()
        await asyncio.sleep(0.05)
        assert queue.admitted == 1, "the job still runs, so its slot must stay taken"
        with pytest.raises(Overloaded):
            await queue.run(clock.job(0.5), 0)
        clock.gates[0].set()
        await wait_until(lambda: queue.admitted == 0)
        assert queue.rate.seconds_per_unit == 0.5, "the job ran to the end: its time counts"

    check(test, max_wait_s=0)


def test_a_job_cancelled_before_it_ran_frees_its_slot_and_teaches_nothing() -> None:
    async def test(queue: JobQueue, clock: Clock) -> None:
        running = asyncio.ensure_future(queue.run(clock.job(0.5, clock.gate()), 0))
        waiting = asyncio.ensure_future(queue.run(clock.job(0.5), 10**6))
        await wait_until(lambda: queue.admitted == 2)
        waiting.cancel()
        await wait_until(lambda: queue.admitted == 1)
        clock.gates[0].set()
        await running
        await wait_until(lambda: queue.admitted == 0)
        assert queue.rate.seconds_per_unit == 0.5, "only the job that ran was timed"

    check(test, max_wait_s=10)


def test_a_job_that_fails_frees_its_slot_and_teaches_nothing() -> None:
    def broken(n: int) -> int:
        raise ValueError("no")

    async def test(queue: JobQueue, clock: Clock) -> None:
        with pytest.raises(ValueError, match="no"):
            await queue.run(broken, 3)
        await wait_until(lambda: queue.admitted == 0)
        assert queue.expected_wait_s is None

    check(test, max_wait_s=0)



def where(clock: Clock, seconds_per_unit: float) -> tuple[Callable[[int], int], list[str]]:
    """A job that records the thread it ran on."""
    ran_on: list[str] = []
    job = clock.job(seconds_per_unit)

    def run(n: int) -> int:
        ran_on.append(threading.current_thread().name)
        return job(n)
    return run, ran_on


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
    """FIFO holds: inline only when nothing is admitted, never ahead of a waiting job."""
    async def test(queue: JobQueue, clock: Clock) -> None:
        await timed(queue, clock, 0.001)
        gate = clock.gate()
        long = asyncio.ensure_future(queue.run(clock.job(0.001, gate), 99))
        await wait_until(lambda: queue.admitted == 1)
        job, ran_on = where(clock, 0.001)
        short = asyncio.ensure_future(queue.run(job, 0))
        await asyncio.sleep(0.05)
        assert not short.done() and ran_on == []
        gate.set()
        assert (await long, await short) == (99, 0)
        assert ran_on[0].startswith("cpu-job")
    check(test, max_wait_s=1, inline_max_s=0.005)


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
        await wait_until(lambda: queue.admitted == 2)
        with pytest.raises(Overloaded):
            await queue.run(clock.job(0.01), 0)
        gate.set()
        await asyncio.gather(first, second)
        await wait_until(lambda: len(seen) == 2)
        assert seen == [(0.0, pytest.approx(1.0)), (pytest.approx(1.0), pytest.approx(0.2))]
        assert queue.shed == 1

    check(test, max_wait_s=1.1)  # room for the second job (1 s ahead of it), not a third (1.2 s)
