"""scripts/rollout.py without Docker: what it says when there is nothing to roll."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.unit


def test_no_running_replica_is_an_error_that_says_what_to_do() -> None:
    # `true` for compose: it lists no replica.
    env = {**os.environ, "COMPOSE": "true"}
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "rollout.py")], capture_output=True, text=True,
                            env=env, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == \
        "rollout: ERROR: no running api replica in this compose project; start one with: make up"
