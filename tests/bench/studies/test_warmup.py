"""bench/studies/warmup.py: the environment it sets for compose is put back, and its table."""

import os

import pytest

from bench.studies.warmup import Start, environment, table

pytestmark = pytest.mark.unit


def test_the_variable_is_set_then_put_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_WARMUP_S", "7")
    with environment("API_WARMUP_S", "0"):
        assert os.environ["API_WARMUP_S"] == "0"
    assert os.environ["API_WARMUP_S"] == "7"
    with environment("API_WARMUP_S", None):
        assert "API_WARMUP_S" not in os.environ
    assert os.environ["API_WARMUP_S"] == "7"


def test_cold_and_warm_side_by_side() -> None:
    cold = Start("0", "3 requests in 0.1 s", 700, 0, 40, 95.5, 480.2, 910.4)
    warm = Start("default", "900 requests in 3.0 s", 750, 0, 0, 7.2, 12.9, 40.0)
    rows = table([cold, warm])
    assert rows[0][1:] == ["API_WARMUP_S=0", "API_WARMUP_S=default"]
    assert rows[1][1:] == ["700 / 0 / 40", "750 / 0 / 0"]
    assert rows[3][1:] == ["480.2 ms", "12.9 ms"]
