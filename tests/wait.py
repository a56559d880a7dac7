"""The suite's one way to wait: poll for an event until a deadline, then fail saying what was seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _reached(what: str, value: T, done: Callable[[T], bool], started: float, timeout: float,
             describe: Callable[[T], str] | None) -> bool:
    if done(value):
        return True
    if time.monotonic() - started >= timeout:
        seen = describe(value) if describe else f"last seen: {value!r}"
        raise AssertionError(f"{what}: not within {timeout} s; {seen}")
    return False


def until(what: str, read: Callable[[], T], done: Callable[[T], bool], timeout: float,
          every_s: float = 0.05, describe: Callable[[T], str] | None = None) -> tuple[T, float]:
    """Poll read() until done(value): the value and the seconds it took. Past `timeout` it
    fails, naming `what` and describe(the last value) (by default, its repr)."""
    started = time.monotonic()
    while not _reached(what, value := read(), done, started, timeout, describe):
        time.sleep(every_s)  # the polling beat, not a guess at how long the event takes
    return value, time.monotonic() - started


async def until_async(what: str, read: Callable[[], T], done: Callable[[T], bool], timeout: float,
                      every_s: float = 0.005, describe: Callable[[T], str] | None = None) -> tuple[T, float]:
    """until() inside an event loop, which keeps running while it waits."""
    started = time.monotonic()
    while not _reached(what, value := read(), done, started, timeout, describe):
        await asyncio.sleep(every_s)
    return value, time.monotonic() - started
