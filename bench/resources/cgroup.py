"""A container's CPU time and peak memory from its cgroup, with `docker stats` as a fallback.

The cgroup counts CPU in nanoseconds (v1 cpuacct.usage) or microseconds (v2 cpu.stat),
where /proc (bench/resources/cpu.py) counts 10 ms ticks. Paths cover Docker's cgroupfs driver
(docker/<id>) and its systemd driver (system.slice/docker-<id>.scope).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .usage import MB

ROOT = Path("/sys/fs/cgroup")
UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def _dirs(root: Path, controller: str, full_id: str) -> list[Path]:
    """Where a container's cgroup may be: v1 under a controller, v2 in the unified tree."""
    v1 = [root / controller / "docker" / full_id, root / controller / "system.slice" / f"docker-{full_id}.scope"]
    v2 = [root / "docker" / full_id, root / "system.slice" / f"docker-{full_id}.scope"]
    return [d for d in (*v1, *v2) if d.is_dir()]


def version(root: Path = ROOT) -> str:
    return "v2" if (root / "cgroup.controllers").exists() else "v1"


def cpu_stat_usage_s(text: str) -> float:
    """v2 cpu.stat's usage_usec, in seconds."""
    match = re.search(r"^usage_usec (\d+)$", text, re.MULTILINE)
    if not match:
        raise ValueError("cpu.stat has no usage_usec line")
    return int(match[1]) / 1e6


def cpu_s(full_id: str, root: Path = ROOT) -> float | None:
    for d in _dirs(root, "cpuacct", full_id):
        if (d / "cpuacct.usage").exists():
            return int((d / "cpuacct.usage").read_text()) / 1e9
        if (d / "cpu.stat").exists():
            return cpu_stat_usage_s((d / "cpu.stat").read_text())
    return None


def peak_mb(full_id: str, root: Path = ROOT) -> float | None:
    for d in _dirs(root, "memory", full_id):
        for name in ("memory.max_usage_in_bytes", "memory.peak"):
            if (d / name).exists():
                return int((d / name).read_text()) / MB
    return None


def reset_peak(full_id: str, root: Path = ROOT) -> bool:
    """v1 lets root reset the peak, so it covers the run only; v2's memory.peak cannot be
    reset for all readers, so there it is the peak since the container started."""
    for d in _dirs(root, "memory", full_id):
        if (d / "memory.max_usage_in_bytes").exists():
            try:
                (d / "memory.max_usage_in_bytes").write_text("0")
                return True
            except OSError:
                return False
    return False


def size_mb(text: str) -> float:
    """`docker stats` sizes: "12.5MiB", "1.2GiB", "800kB" -> MB (10^6 bytes)."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]+)\s*", text)
    if not match or match[2].lower() not in UNITS:
        raise ValueError(f"not a size: {text!r}")
    return float(match[1]) * UNITS[match[2].lower()] / MB


def stats_mem_mb(output: str) -> dict[str, float]:
    """`docker stats --no-stream --format '{{.ID}} {{.MemUsage}}'` -> short id -> used MB."""
    used = {}
    for line in output.splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2:
            try:
                used[parts[0][:12]] = size_mb(parts[1].split("/")[0])
            except ValueError:
                continue
    return used


def docker_stats_mem_mb(ids: list[str]) -> dict[str, float]:
    done = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.ID}} {{.MemUsage}}", *ids],
                          capture_output=True, text=True)
    return stats_mem_mb(done.stdout) if done.returncode == 0 else {}
