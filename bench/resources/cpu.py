"""CPU time a container has used so far, read from the host's /proc.

Summed over the container's processes (`docker top`), so it works the same with cgroup v1
and v2. The kernel counts in clock ticks (10 ms), so measure runs of seconds, not requests.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..settings import BenchError

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def process_cpu_s(stat_line: str) -> float:
    """utime + stime of a /proc/<pid>/stat line, in seconds (threads included)."""
    # The command name is in parentheses and may hold spaces: count fields after the last ")".
    fields = stat_line.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S


def container_cpu_s(container: str, proc: Path = Path("/proc")) -> float:
    top = subprocess.run(["docker", "top", container, "-o", "pid"], capture_output=True, text=True)
    if top.returncode != 0:
        raise BenchError(f"`docker top {container}` failed: {top.stderr.strip()}")
    total = 0.0
    for pid in top.stdout.split()[1:]:
        try:
            total += process_cpu_s((proc / pid / "stat").read_text())
        except FileNotFoundError:
            continue  # the process ended between docker top and now
    return total
