"""Run CPU jobs off the event loop, one at a time, admitted by the wait they would face.

A single worker thread runs the jobs in arrival order (FIFO gives the lowest mean
latency for CPU work on one core), while the event loop stays free to answer health
checks. A new job is refused at once when the work already admitted (what is left of the
running job, plus the waiting ones) would make it wait longer than `max_wait_s`, so
overload turns into fast 503s instead of a queue that grows without bound.

The wait is estimated from each job's size, n + 1 units of work, at a rate in seconds per
unit that the queue learns from the jobs it ran. A count of jobs could not do that: the
same job takes ~35 ms on CPython and ~0.8 ms on PyPy, and n ranges over 10**7.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# How much the estimate keeps of its past at each timed job: about the last 10 jobs count.
KEEP = 0.9


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.01 else f"{value * 1000:.2g} ms"


def _jobs(count: int) -> str:
    return "1 job" if count == 1 else f"{count} jobs"


class Overloaded(Exception):
    def __init__(self, jobs: int, wait_s: float | None, limit_s: float) -> None:
        if wait_s is None or limit_s == 0:  # a limit of 0 refuses by count, estimate or not
            happened = f"{_jobs(jobs)} {'is' if jobs == 1 else 'are'} already waiting (limit {limit_s:g} s)"
        else:
            happened = f"about {_seconds(wait_s)} of work is already waiting ({_jobs(jobs)}; limit {limit_s:g} s)"
        super().__init__(happened)
        self.jobs = jobs
        self.wait_s = wait_s
        self.limit_s = limit_s


class RunRate:
    """Seconds per unit of work, an exponentially weighted mean of the jobs timed so far.

    Each job weighs by its size: a tiny job's time is mostly the call's fixed cost (n=0
    costs ~15 times the per-unit rate of n=10**6), and a run of them must not make a huge
    job look 15 times longer than it is.
    """

    def __init__(self) -> None:
        self._seconds = 0.0
        self._units = 0.0

    def observe(self, seconds: float, units: int) -> None:
        self._seconds = self._seconds * KEEP + seconds
        self._units = self._units * KEEP + units

    @property
    def seconds_per_unit(self) -> float | None:
        return self._seconds / self._units if self._units else None


# Called with (seconds waited in the queue, seconds run) after each job that ran to the end.
JobObserver = Callable[[float, float], None]


def _ignore(waited: float, took: float) -> None:
    pass


class JobQueue:
    def __init__(self, max_wait_s: float, clock: Callable[[], float] = time.perf_counter,
                 inline_max_s: float | None = None, on_job: JobObserver = _ignore) -> None:
        self.max_wait_s = max_wait_s
        self.on_job = on_job
        self.shed = 0  # jobs refused with Overloaded since the start
        # A job shorter than this runs on the event loop when the worker is idle: handing it
        # to the thread and back costs ~0.5 ms on PyPy (docs/runtimes.md), more than the
        # article's job itself there. The bound is the GIL's switch interval (5 ms), the
        # time a job on the thread may already keep the loop from running anyway.
        # https://docs.python.org/3/library/sys.html#sys.setswitchinterval
        self.inline_max_s = sys.getswitchinterval() if inline_max_s is None else inline_max_s
        self.rate = RunRate()
        self._clock = clock
        self._admitted = 0  # the running job plus the waiting ones
        self._units = 0  # their work, n + 1 each
        # The job on the worker thread: when it started and its units. Set and cleared by
        # that thread; the event loop only reads it (one tuple, swapped whole). Between a
        # run's end and its release on the loop, the job counts in full again: briefly
        # pessimistic, never optimistic.
        self._running: tuple[float, int] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cpu-job")

    @property
    def admitted(self) -> int:
        return self._admitted

    @property
    def expected_wait_s(self) -> float | None:
        """How long a job admitted now would wait; None until a job was timed. The running
        job counts for what is left of its estimate: a job nearly done hardly delays the next."""
        rate = self.rate.seconds_per_unit
        if rate is None:
            return None
        wait = self._units * rate
        running = self._running
        if running is not None:
            started, units = running
            wait -= min(units * rate, max(self._clock() - started, 0.0))
        return wait

    async def run(self, fn: Callable[[int], T], n: int) -> T:
        """fn(n), where n sizes the job (its cost grows as n + 1): on the worker thread, or
        at once on the event loop when the worker is idle and the job is known to be short."""
        self._check_wait()
        units = n + 1
        rate = self.rate.seconds_per_unit
        queued = self._clock()
        if not self._admitted and rate is not None and units * rate < self.inline_max_s:
            result, started, took = self._timed(fn, n)
            self._observe(units, queued, (started, took))
            return result
        loop = asyncio.get_running_loop()
        self._admitted += 1
        self._units += units
        future = self._executor.submit(self._timed, fn, n)
        # Release the slot when the job really ends, not when the caller stops waiting:
        # a job that already runs cannot be cancelled and still holds the core.
        future.add_done_callback(lambda done: loop.call_soon_threadsafe(self._release, units, queued, _ran(done)))
        result, _, _ = await asyncio.wrap_future(future)
        return result

    def _check_wait(self) -> None:
        if not self._admitted:
            return  # an idle replica takes any job: nothing makes it wait
        wait = self.expected_wait_s
        # A bound of 0 means no waiting at all, which needs no estimate: any job takes time.
        if self.max_wait_s == 0 or (wait is not None and wait > self.max_wait_s):
            self.shed += 1
            raise Overloaded(self._admitted, wait, self.max_wait_s)

    def _timed(self, fn: Callable[[int], T], n: int) -> tuple[T, float, float]:
        """The result, when the run started, and how long it took: the run alone, not the queue."""
        started = self._clock()
        self._running = (started, n + 1)
        try:
            result = fn(n)
        finally:
            self._running = None
        return result, started, self._clock() - started

    def _release(self, units: int, queued: float, ran: tuple[float, float] | None) -> None:
        self._admitted -= 1
        self._units -= units
        self._observe(units, queued, ran)

    def _observe(self, units: int, queued: float, ran: tuple[float, float] | None) -> None:
        if ran is None:
            return
        started, took = ran
        self.rate.observe(took, units)
        self.on_job(max(started - queued, 0.0), took)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


def _ran(done: Future[tuple[T, float, float]]) -> tuple[float, float] | None:
    """When a job that completed started, and its run time; None if it was cancelled before
    it ran, or failed."""
    if done.cancelled() or done.exception() is not None:
        return None
    _, started, took = done.result()
    return started, took
