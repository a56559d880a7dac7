"""scripts/swarm.py: its arguments and settings, and how it reads a rolling update's state."""

import os
import subprocess
import sys

import pytest

from swarm import parse
from swarm_engine import updated
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

API = "pycluster-swarm_api"


def failure(argv: list[str], **env: str) -> str:
    with pytest.raises(SystemExit) as raised:
        parse(argv, env)
    return str(raised.value.code)


@pytest.mark.parametrize("argv", [[], ["deploy"], ["up", "now"], ["--help"]])
def test_anything_but_one_command_is_a_usage_error(argv: list[str]) -> None:
    assert failure(argv, SCALE="4").startswith("swarm: ERROR: usage: scripts/swarm.py up|scale|rollout|down|config")


@pytest.mark.parametrize("command", ["up", "scale"])
def test_up_and_scale_require_scale_and_invent_none(command: str) -> None:
    assert failure([command]) == "swarm: ERROR: set SCALE, the api replica count (make swarm-up sets one per core)"
    assert failure([command], SCALE="") == failure([command])


@pytest.mark.parametrize("command", ["rollout", "down", "config"])
def test_the_other_commands_need_no_scale(command: str) -> None:
    assert parse([command], {}).scale is None


@pytest.mark.parametrize("scale", ["four", "-1", "2.5", " 4"])
def test_scale_must_be_a_whole_number(scale: str) -> None:
    assert f"SCALE={scale} is not a replica count" in failure(["up"], SCALE=scale)


def test_settings_and_their_defaults() -> None:
    settings = parse(["up"], {"SCALE": "6"})
    assert (settings.command, settings.stack, settings.scale, settings.timeout_s) == ("up", "pycluster-swarm", 6, 300)
    assert (settings.build, settings.push, settings.lab) == (True, False, False)
    custom = parse(["rollout"], {"STACK": "s", "SWARM_TIMEOUT_S": "30", "SWARM_BUILD": "0", "SWARM_PUSH": "1"})
    assert (custom.stack, custom.timeout_s, custom.build, custom.push) == ("s", 30, False, True)


def test_the_lab_goes_through_its_registry() -> None:
    settings = parse(["up"], {"SCALE": "6", "LAB": "1"})
    assert settings.lab and settings.push, "LAB=1 pushes and pins digests, as a real cluster would"


@pytest.mark.parametrize(("before", "status", "done"), [
    ("", "", False),  # not started yet
    ("", "2025-01-01 12:00:00 updating", False),
    ("", "2025-01-01 12:00:00 completed", True),
    ("2025-01-01 11:00:00 completed", "2025-01-01 11:00:00 completed", False),  # the last update, not this one
    ("2025-01-01 11:00:00 completed", "2025-01-01 12:00:00 completed", True),
])
def test_an_update_is_done_when_this_one_completed(before: str, status: str, done: bool) -> None:
    assert updated(before, status, API) is done


@pytest.mark.parametrize("state", ["rollback_started", "rollback_completed", "paused"])
def test_a_rolled_back_or_paused_update_fails_at_once(state: str) -> None:
    with pytest.raises(SystemExit) as raised:
        updated("", f"2025-01-01 12:00:00 {state}", API)
    message = str(raised.value.code)
    assert message.startswith(f"swarm: ERROR: the update did not complete (state: {state})")
    assert f"docker service ps {API}" in message


def test_run_directly_an_error_exits_1_with_the_message_on_stderr() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "swarm.py"), "up"], capture_output=True,
                            text=True, env={k: v for k, v in os.environ.items() if k != "SCALE"}, timeout=30)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.strip() == \
        "swarm: ERROR: set SCALE, the api replica count (make swarm-up sets one per core)"
