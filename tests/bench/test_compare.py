"""How compare picks the offered rate, the profiles, and the settings it reads."""


import pytest

from bench import compare, profiles
from bench.settings import BenchError, Settings

pytestmark = pytest.mark.unit


def test_the_articles_rate_when_it_overloads_one_and_fits_many() -> None:
    rate = compare.choose_rate(30, replicas=16, cores=16)
    assert rate.offered == 150 and "article" in rate.why


def test_otherwise_one_point_three_times_one_replica() -> None:
    assert compare.choose_rate(64, replicas=2, cores=2).offered == 83        # 2 cores: 150 is too much for 2
    assert compare.choose_rate(400, replicas=2, cores=2).offered == 520      # PyPy-fast: 150 would not overload one
    assert "too few cores" in compare.choose_rate(64, replicas=8, cores=1).why


def test_no_capacity_is_an_error_that_says_what_to_do() -> None:
    with pytest.raises(BenchError, match="RATE="):
        compare.choose_rate(0, replicas=2, cores=2)


def test_profiles_parse_and_title() -> None:
    one, many = profiles.parse("one, many")
    assert (one.replicas(8), many.replicas(8)) == (1, 8)
    assert profiles.WORKERS.title(4) == "workers (4 workers)"
    with pytest.raises(ValueError, match="unknown profile"):
        profiles.parse("one,mny")


def test_scale_defaults_to_one_replica_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCALE", raising=False)
    monkeypatch.setattr("bench.machine.cores", lambda: 6)
    assert Settings.from_env().scale == 6
    monkeypatch.setenv("SCALE", "3")
    assert Settings.from_env().scale == 3
    monkeypatch.setenv("REPEAT", "0")
    with pytest.raises(BenchError, match="REPEAT"):
        Settings.from_env()
