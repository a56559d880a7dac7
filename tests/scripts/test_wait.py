"""until(): the scripts' one way to wait on an event."""

import pytest

from wait import TimedOut, until

pytestmark = pytest.mark.unit


def test_returns_the_first_true_result_after_polling() -> None:
    answers = iter([None, 0, "", "ready", "later"])
    assert until(lambda: next(answers), 5, "the answer", interval_s=0) == "ready"
    assert next(answers) == "later", "no poll after the event"


def test_says_what_did_not_happen_and_what_to_do() -> None:
    with pytest.raises(TimedOut) as raised:
        until(lambda: False, 0, "node 2 to start", "See: docker logs lab-2", interval_s=0)
    assert str(raised.value) == "waited 0s in vain for node 2 to start. See: docker logs lab-2"


def test_the_message_can_show_the_last_state_seen() -> None:
    seen = []

    def poll() -> bool:
        seen.append(len(seen))
        return False

    with pytest.raises(TimedOut, match=r"in vain for 6 tasks \(saw 1\)$"):
        until(poll, 0, lambda: f"6 tasks (saw {len(seen)})", interval_s=0)


def test_polls_until_the_deadline_not_once() -> None:
    calls = []
    with pytest.raises(TimedOut):
        until(lambda: calls.append(1), 0.05, "never", interval_s=0.01)
    assert len(calls) > 2


def test_an_error_in_the_predicate_ends_the_wait_at_once() -> None:
    calls = []

    def broken() -> bool:
        calls.append(1)
        raise RuntimeError("engine gone")

    with pytest.raises(RuntimeError, match="engine gone"):
        until(broken, 60, "never", interval_s=0)
    assert calls == [1]
