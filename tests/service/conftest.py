"""Shared by the tests that build a uvicorn.Config or start a replica."""

import logging
import os
from collections.abc import Iterator

import pytest

from app.settings import IGNORED, RENAMED

# Names beside API_* that the replica refuses, reads (PORT) or warns about, and API_PORT,
# which PORT would lose to: the tests' own shell must not decide where a replica listens.
SHELL_NAMES = {*RENAMED, *IGNORED, "PORT", "API_PORT"}

# What Kubernetes sets in every pod of the namespace for a Service named api on port 8000
# (enableServiceLinks, on by default); Docker's --link sets the same *_PORT* for an alias.
SERVICE_LINK = {
    "API_PORT": "tcp://10.96.0.12:8000", "API_SERVICE_HOST": "10.96.0.12", "API_SERVICE_PORT": "8000",
    "API_PORT_8000_TCP": "tcp://10.96.0.12:8000", "API_PORT_8000_TCP_PROTO": "tcp",
    "API_PORT_8000_TCP_PORT": "8000", "API_PORT_8000_TCP_ADDR": "10.96.0.12",
}


def environ(**env: str) -> dict[str, str]:
    """This process's environment without SHELL_NAMES, plus ENV."""
    return {k: v for k, v in os.environ.items() if k not in SHELL_NAMES} | env


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """uvicorn.Config applies its log config to this process: put pytest's handlers back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
