"""The suite's one way to wait: poll for an event until a deadline, then fail saying what was seen.

The polling loop itself is the scripts' (scripts/wait.py, on the path through pytest.ini);
here it reads a value, judges it, and fails as a test does, with the last value seen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from wait import TimedOut
from wait import until as poll

T = TypeVar("T")


def _failure(what: str, timeout: float, value: T, describe: Callable[[T], str] | None) -> AssertionError:
    seen = describe(value) if describe else f"last seen: {value!r}"
    return AssertionError(f"{what}: not within {timeout} s; {seen}")


def until(what: str, read: Callable[[], T], done: Callable[[T], bool], timeout: float,
          every_s: float = 0.05, describe: Callable[[T], str] | None = None) -> tuple[T, float]:
    """Poll read() until done(value): the value and the seconds it took. Past `timeout` it
    fails, naming `what` and describe(the last value) (by default, its repr)."""
    started = time.monotonic()
    seen: list[T] = []

    def reached() -> bool:
        seen[:] = [read()]
        return done(seen[0])

    try:
        poll(reached, timeout, what, interval_s=every_s)
    except TimedOut:
        raise _failure(what, timeout, seen[0], describe) from None
    return seen[0], time.monotonic() - started


async def until_async(what: str, read: Callable[[], T], done: Callable[[T], bool], timeout: float,
                      every_s: float = 0.005, describe: Callable[[T], str] | None = None) -> tuple[T, float]:
    """until() inside an event loop, which keeps running while it waits."""
    started = time.monotonic()
    while not done(value := read()):
        if time.monotonic() - started >= timeout:
            raise _failure(what, timeout, value, describe)
        await asyncio.sleep(every_s)
    return value, time.monotonic() - started
