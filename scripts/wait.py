"""The one polling helper of the scripts, and of the tests through tests/wait.py: wait for an
event, never a fixed time.

    until(engine_answers, 120, "the engine of node 2 to start", "See: docker logs lab-2")

fails after 120 s with "waited 120s in vain for the engine of node 2 to start. See: ...".
"""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TimedOut(Exception):
    """What did not happen in time, and what to do about it: the message says both."""


def until(predicate: Callable[[], T], timeout_s: float, what: str | Callable[[], str], then: str = "",
          interval_s: float = 1.0) -> T:
    """Call predicate until it returns something true, and return that. After timeout_s,
    raise TimedOut saying what did not happen (`what`, a callable when the message should
    show the last state seen) and, if given, what to do (`then`).
    An exception from predicate ends the wait at once: it is a failure, not a `not yet`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            waited = f"waited {timeout_s:g}s in vain for {what if isinstance(what, str) else what()}"
            raise TimedOut(f"{waited}. {then}" if then else waited)
        time.sleep(interval_s)
