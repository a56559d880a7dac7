"""until(): the value it waited for, or a failure that says what was seen last."""

import asyncio
import itertools

import pytest

from tests.wait import until, until_async

pytestmark = pytest.mark.unit


def test_until_returns_the_value_that_ended_the_wait() -> None:
    counter = itertools.count()
    value, took = until("3", lambda: next(counter), lambda n: n == 3, 5, every_s=0)
    assert value == 3 and took < 5


def test_until_fails_with_the_description_of_the_last_value() -> None:
    with pytest.raises(AssertionError, match=r"^never: not within 0\.01 s; 2 jobs, want 3$"):
        until("never", lambda: 2, lambda n: n == 3, 0.01, describe=lambda n: f"{n} jobs, want 3")


def test_until_async_fails_with_the_last_value_by_default() -> None:
    with pytest.raises(AssertionError, match=r"^never: not within 0\.01 s; last seen: 'no'$"):
        asyncio.run(until_async("never", lambda: "no", lambda seen: seen == "yes", 0.01))
