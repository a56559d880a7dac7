"""The rest of the machine's busy cores in a run's steady part."""

import threading
from pathlib import Path

import pytest

from bench.resources import steady
from bench.resources.cpu import TICK_S

pytestmark = pytest.mark.unit


def test_machine_busy_counts_all_but_idle_and_iowait(tmp_path: Path) -> None:
    # user nice system idle iowait irq softirq steal
    (tmp_path / "stat").write_text("cpu  600 10 300 5000 40 5 50 35 0 0\ncpu0 1 2 3\n")
    assert steady.machine_busy_s(tmp_path) == pytest.approx(1000 * TICK_S)
    assert steady.machine_busy_s(tmp_path / "absent") is None


def test_the_settling_seconds_at_both_ends_are_left_out() -> None:
    # k6 starts (a burst of 3 s of CPU), then 1.5 cores busy of which the replicas take 1.0
    samples = [(0.0, 0.0, 0.0), (1.0, 3.0, 0.0)]
    samples += [(t, 3.0 + 1.5 * (t - 1), 1.0 * (t - 1)) for t in range(2, 12)]
    samples += [(12.0, 30.0, 10.0)]  # and writes its report at the end
    assert steady.other_cores(samples, settle_s=2.0) == pytest.approx(0.5)
    assert steady.other_cores(samples[:3], settle_s=2.0) is None  # too short to have a steady part
    assert steady.other_cores([]) is None


def test_the_sampler_runs_until_stopped_and_gives_up_without_readings(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text("cpu  100 0 0 0 0 0 0 0\n")
    read = threading.Event()

    def replicas() -> float:
        read.set()
        return 0.0
    sampler = steady.Steady(replicas, tmp_path, every_s=0.01)
    assert read.wait(timeout=10)
    sampler.stop()
    assert len(sampler.samples) >= 1 and not sampler.thread.is_alive()
    none = steady.Steady(lambda: None, tmp_path, every_s=0.01)
    none.thread.join(timeout=10)
    assert none.stop() is None and none.samples == []
