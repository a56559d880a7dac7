"""Run CPU jobs off the event loop, one at a time, behind a bounded queue.

A single worker thread runs the jobs in arrival order (FIFO gives the lowest mean
latency for CPU work on one core), while the event loop stays free to answer health
checks. When `max_queue` jobs already wait, new ones are refused at once, so overload
turns into fast 503s instead of a queue that grows without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Overloaded(Exception):
    def __init__(self, waiting: int, limit: int) -> None:
        super().__init__(f"{waiting} jobs are already waiting (limit {limit})")
        self.waiting = waiting
        self.limit = limit


class JobQueue:
    def __init__(self, max_queue: int) -> None:
        self.max_queue = max_queue
        self._admitted = 0  # the running job plus the waiting ones
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cpu-job")

    @property
    def admitted(self) -> int:
        return self._admitted

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        waiting = max(self._admitted - 1, 0)
        if self._admitted > 0 and waiting >= self.max_queue:
            raise Overloaded(waiting, self.max_queue)
        loop = asyncio.get_running_loop()
        self._admitted += 1
        future = self._executor.submit(fn, *args)
        # Release the slot when the job really ends, not when the caller stops waiting:
        # a job that already runs cannot be cancelled and still holds the core.
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(self._release))
        return await asyncio.wrap_future(future)

    def _release(self) -> None:
        self._admitted -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)
