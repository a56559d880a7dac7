"""Run CPU jobs off the event loop, admitted by the wait they would face.

A worker thread runs the jobs in arrival order (FIFO gives the lowest mean latency for
CPU work on one core), while the event loop stays free to answer health checks. Jobs
estimated over `long_job_s` get a second thread: the GIL shares the core between the two,
so a short job never waits for a long one to end, and a long one still runs as soon as it
comes. A new job is refused at once when the work already admitted to its lane (what is
left of the running job, plus the waiting ones, slower while the other lane runs too) would
make it wait longer than `max_wait_s`, so
overload turns into fast 503s instead of a queue that grows without bound.

The wait is estimated from each job's size, n + 1 units of work, at a rate in seconds per
unit that the queue learns from the jobs it ran. A count of jobs could not do that: the
same job takes ~35 ms on CPython and ~0.8 ms on PyPy, and n ranges over 10**7."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# How much the estimate keeps of its past at each timed job: about the last 10 jobs count.
KEEP = 0.9
# How long a thread that wants the GIL waits before the running one must hand it over
# (CPython's default: 5 ms; PyPy follows it too). create_app sets it for the process: a
# short job that comes in beside a long one starts within it, and so does the event loop.
# 1 ms: a short job waits at most ~1 ms for the GIL, not 5 (one 140 req/s run of the mix,
# not committed: short jobs' p95 10 ms against 21 ms).
# https://docs.python.org/3/library/sys.html#sys.setswitchinterval
SWITCH_INTERVAL_S = 0.001
# A job shorter than this runs on the event loop when no job is admitted: handing it to
# the thread and back costs ~0.5 ms on PyPy (docs/runtimes.md), more than the article's
# job itself there. 5 ms, CPython's default switch interval: how long a job on the thread
# could keep the loop waiting before this queue shortened the interval.
INLINE_MAX_S = 0.005


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


class Lane:
    """One worker thread and the jobs admitted to it: the running one plus the waiting ones."""

    def __init__(self, name: str) -> None:
        self.admitted = 0
        self.units = 0  # their work, n + 1 each
        # The job on the worker thread: when it started and its units. Set and cleared by
        # that thread; the event loop only reads it (one tuple, swapped whole). Between a
        # run's end and its release on the loop, the job counts in full again: briefly
        # pessimistic. Its time so far counts as work done, though only half of it was
        # while the other lane ran; the rate, learnt from wall-clock runs that shared the
        # core too, leans the other way.
        self.running: tuple[float, int] | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"cpu-{name}")

    def work_s(self, rate: float, now: float) -> float:
        """Seconds of work admitted here: the running job counts for what is left of it."""
        work = self.units * rate
        running = self.running
        if running is not None:
            started, units = running
            work -= min(units * rate, max(now - started, 0.0))
        return work


class JobQueue:
    def __init__(self, max_wait_s: float, *, long_job_s: float, clock: Callable[[], float] = time.perf_counter,
                 inline_max_s: float | None = None, on_job: JobObserver = _ignore) -> None:
        self.max_wait_s = max_wait_s
        self.long_job_s = long_job_s
        self.on_job = on_job
        self.shed = 0  # jobs refused with Overloaded since the start
        self.inline_max_s = INLINE_MAX_S if inline_max_s is None else inline_max_s
        self.rate = RunRate()
        self._clock = clock
        # Jobs estimated over long_job_s run on a second thread. The GIL lets one thread
        # run at a time and hands it over every switch interval, so a short job that comes
        # in behind a long one shares the core with it at once, instead of waiting for its
        # end: the core is shared, not doubled.
        self._short, self._long = Lane("job"), Lane("long-job")

    @property
    def admitted(self) -> int:
        return self._short.admitted + self._long.admitted

    @property
    def running(self) -> int:
        """Jobs on a worker thread now: one per busy lane."""
        return (self._short.admitted > 0) + (self._long.admitted > 0)

    @property
    def expected_wait_s(self) -> float | None:
        """How long a job admitted now would wait, in the lane that waits longer; None until
        a job was timed. A job nearly done hardly delays the next."""
        rate = self.rate.seconds_per_unit
        if rate is None:
            return None
        return max(self._wait_s(lane, rate) for lane in (self._short, self._long))

    def _wait_s(self, lane: Lane, rate: float) -> float:
        # Two busy lanes split the core: the work ahead in this lane runs at half speed for
        # as long as the other lane has work too.
        now = self._clock()
        mine = lane.work_s(rate, now)
        other = (self._long if lane is self._short else self._short).work_s(rate, now)
        return mine + min(mine, other)

    def _lane(self, units: int, rate: float | None) -> Lane:
        if self.long_job_s and rate is not None and units * rate > self.long_job_s:
            return self._long
        return self._short

    async def run(self, fn: Callable[[int], T], n: int) -> T:
        """fn(n), where n sizes the job (its cost grows as n + 1): on a worker thread, or
        at once on the event loop when no job is admitted and this one is known to be short."""
        units = n + 1
        rate = self.rate.seconds_per_unit
        lane = self._lane(units, rate)
        self._check_wait(lane, rate)
        queued = self._clock()
        if not self.admitted and rate is not None and units * rate < self.inline_max_s:
            result, started, took = self._timed(lane, fn, n)
            self._observe(units, queued, (started, took))
            return result
        loop = asyncio.get_running_loop()
        lane.admitted += 1
        lane.units += units
        future = lane.executor.submit(self._timed, lane, fn, n)
        # Release the slot when the job really ends, not when the caller stops waiting:
        # a job that already runs cannot be cancelled and still holds the core.
        future.add_done_callback(
            lambda done: loop.call_soon_threadsafe(self._release, lane, units, queued, _ran(done)))
        result, _, _ = await asyncio.wrap_future(future)
        return result

    def _check_wait(self, lane: Lane, rate: float | None) -> None:
        if not lane.admitted:
            return  # an idle lane takes any job: nothing makes it wait
        wait = None if rate is None else self._wait_s(lane, rate)
        # A bound of 0 means no waiting at all, which needs no estimate: any job takes time.
        if self.max_wait_s == 0 or (wait is not None and wait > self.max_wait_s):
            self.shed += 1
            raise Overloaded(lane.admitted, wait, self.max_wait_s)

    def _timed(self, lane: Lane, fn: Callable[[int], T], n: int) -> tuple[T, float, float]:
        """The result, when the run started, and how long it took: the run alone, not the queue."""
        started = self._clock()
        lane.running = (started, n + 1)
        try:
            result = fn(n)
        finally:
            lane.running = None
        return result, started, self._clock() - started

    def _release(self, lane: Lane, units: int, queued: float, ran: tuple[float, float] | None) -> None:
        lane.admitted -= 1
        lane.units -= units
        self._observe(units, queued, ran)

    def _observe(self, units: int, queued: float, ran: tuple[float, float] | None) -> None:
        if ran is None:
            return
        started, took = ran
        self.rate.observe(took, units)
        self.on_job(max(started - queued, 0.0), took)

    def shutdown(self) -> None:
        for lane in (self._short, self._long):
            lane.executor.shutdown(wait=True)


def _ran(done: Future[tuple[T, float, float]]) -> tuple[float, float] | None:
    """When a job that completed started, and its run time; None if it was cancelled before
    it ran, or failed."""
    if done.cancelled() or done.exception() is not None:
        return None
    _, started, took = done.result()
    return started, took
