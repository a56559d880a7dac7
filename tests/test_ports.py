"""The test ports' table: two tests on one port would fight over it, or test each other."""

import re

import pytest

from tests import ports
from tests.conftest import ROOT

pytestmark = pytest.mark.unit


def test_every_test_port_is_its_own() -> None:
    taken = {*ports.PORTS.values(), ports.HOST_REPLICA + 1}  # the host backend's second replica
    assert len(taken) == len(ports.PORTS) + 1, ports.PORTS


def test_every_port_is_a_usable_unprivileged_one() -> None:
    assert all(1024 < port < 65536 for port in ports.PORTS.values()), ports.PORTS


def test_no_test_keeps_a_port_default_of_its_own() -> None:
    elsewhere = [f"{path.relative_to(ROOT)}:{number}" for path in sorted((ROOT / "tests").rglob("*.py"))
                 if path != ROOT / "tests" / "ports.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"environ\.get\(\"\w*PORT\"", line)]
    assert elsewhere == [], "read the port from tests/ports.py"
