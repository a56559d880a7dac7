"""The committed benchmark results (docs/benchmarks/*/summary.json) are the fixtures."""

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT

SUMMARIES = sorted((ROOT / "docs" / "benchmarks").glob("*/summary.json"))


def read(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture
def compare_80rps() -> dict:
    return read(ROOT / "docs" / "benchmarks" / "2core-compare-80rps" / "summary.json")


@pytest.fixture
def sweep_2core() -> dict:
    return read(ROOT / "docs" / "benchmarks" / "2core-sweep" / "summary.json")
