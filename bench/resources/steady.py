"""The rest of the machine during a run's steady part: busy cores beyond the replicas'.

k6 starts and compiles its script, and at the end writes its summary and HTML report:
CPU that belongs to no request. Sampling every EVERY_S and keeping the samples from SETTLE_S
after the first to SETTLE_S before the last leaves the part where requests flow at their
rate. What is left is k6, nginx, Docker's port proxy and the kernel's network path: the CPU
the capacity planner takes from the replicas' cores (docs/capacity.md#validation).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from .cpu import TICK_S

EVERY_S = 0.5
SETTLE_S = 2.0


def machine_busy_s(proc: Path = Path("/proc")) -> float | None:
    """CPU seconds every core has spent on anything but idle and I/O wait, steal included
    (a hypervisor's other guests took it): /proc/stat's first line. None where there is
    none (a Docker daemon on another machine: its CPU is not this /proc's either).
    https://docs.kernel.org/filesystems/proc.html#miscellaneous-kernel-statistics-in-proc-stat"""
    try:
        fields = [int(v) for v in (proc / "stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) * TICK_S


Sample = tuple[float, float, float]  # monotonic seconds, machine busy s, replicas' CPU s


def other_cores(samples: list[Sample], settle_s: float = SETTLE_S) -> float | None:
    if not samples:
        return None
    start, end = samples[0][0] + settle_s, samples[-1][0] - settle_s
    kept = [s for s in samples if start <= s[0] <= end]
    if len(kept) < 2:
        return None
    (t0, machine0, replicas0), (t1, machine1, replicas1) = kept[0], kept[-1]
    return max((machine1 - machine0) - (replicas1 - replicas0), 0.0) / (t1 - t0)


class Steady:
    """Samples in a thread from start to stop(); stop() gives other_cores of them."""

    def __init__(self, replicas_cpu_s: Callable[[], float | None], proc: Path = Path("/proc"),
                 every_s: float = EVERY_S) -> None:
        self.replicas_cpu_s, self.proc, self.every_s = replicas_cpu_s, proc, every_s
        self.samples: list[Sample] = []
        self.cut = False  # a reading failed mid-run: the samples stop short of it
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            machine, replicas = machine_busy_s(self.proc), self.replicas_cpu_s()
            if machine is None or replicas is None:
                self.cut = True  # nothing to measure (or a replica is gone): the run keeps its other numbers
                return
            self.samples.append((time.monotonic(), machine, replicas))
            if self.done.wait(self.every_s):
                return

    def stop(self) -> float | None:
        self.done.set()
        self.thread.join(timeout=10)
        return None if self.cut else other_cores(self.samples)
