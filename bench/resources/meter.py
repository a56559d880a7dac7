"""Measure what a profile's containers (or host processes) use during one k6 run.

`start()` before k6, `stop(completed)` after: CPU seconds as the difference of two
readings, peak memory since start (bench/resources/usage.py turns them into a Run's `resources`).
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..settings import BenchError
from . import cgroup
from .cpu import container_cpu_s, process_cpu_s
from .steady import Steady
from .usage import REPLICA, Reading, Resources, role_of, summarize

# `docker stats --no-stream` itself takes about a second: sampling faster gains nothing.
SAMPLE_EVERY_S = 1.0
PS_FORMAT = '{{.ID}}\t{{.Label "com.docker.compose.service"}}\t{{.Label "com.docker.compose.container-number"}}'


class Meter(Protocol):
    def start(self) -> None: ...

    def stop(self, requests: int) -> Resources: ...


def container_names(ps_output: str) -> list[tuple[str, str, str]]:
    """`docker ps --no-trunc --format PS_FORMAT` -> (full id, name, role); api replicas are
    api-1, api-2...; a service with one container is just its name."""
    rows = [line.split("\t") for line in ps_output.splitlines() if line.count("\t") == 2]
    counts: dict[str, int] = {}
    for _, service, _ in rows:
        counts[service] = counts.get(service, 0) + 1
    named = [(cid, f"{svc}-{num}" if svc == "api" or counts[svc] > 1 else svc, role_of(svc)) for cid, svc, num in rows]
    return sorted(named, key=lambda row: (row[2] != "replica", _natural(row[1])))


def _natural(name: str) -> tuple[str, int]:
    head, _, tail = name.rpartition("-")
    return (head, int(tail)) if tail.isdigit() else (name, 0)


class DockerMeter:
    """Every running container of the compose project: cgroup first, /proc and docker stats after."""

    def __init__(self, project: str, root: Path = cgroup.ROOT) -> None:
        self.project, self.root = project, root
        self.readings: list[Reading] = []
        self.ids: dict[str, str] = {}
        self.sources: set[str] = set()
        self._sampler: _Sampler | None = None
        self._steady: Steady | None = None

    def _list(self) -> list[tuple[str, str, str]]:
        done = subprocess.run(["docker", "ps", "--no-trunc", "--filter",
                               f"label=com.docker.compose.project={self.project}", "--format", PS_FORMAT],
                              capture_output=True, text=True)
        return container_names(done.stdout) if done.returncode == 0 else []

    def _cpu(self, full_id: str) -> float | None:
        value = cgroup.cpu_s(full_id, self.root)
        if value is not None:
            self.sources.add(f"cgroup {cgroup.version(self.root)}")
            return value
        try:
            value = container_cpu_s(full_id)
        except BenchError:
            return None
        self.sources.add("/proc via docker top")
        return value

    def start(self) -> None:
        listed = self._list()
        self.ids = {name: cid for cid, name, _ in listed}
        self.readings = [Reading(name, role, cid[:12]) for cid, name, role in listed]
        for r in self.readings:
            full = self.ids[r.name]
            if not cgroup.reset_peak(full, self.root) and cgroup.peak_mb(full, self.root) is not None:
                r.problems.append("peak memory is since the container started (cgroup v2's peak, or one this "
                                  "user may not reset)")
            r.cpu_before = self._cpu(full)
        if self.readings and cgroup.peak_mb(self.ids[self.readings[0].name], self.root) is None:
            self._sampler = _Sampler(lambda: cgroup.docker_stats_mem_mb(list(self.ids.values())))
        self._steady = Steady(self._replicas_cpu_s)

    def _replicas_cpu_s(self) -> float | None:
        """For Steady, twice a second: cgroup files only (docker top would be a process each time)."""
        values = [cgroup.cpu_s(self.ids[r.name], self.root) for r in self.readings if r.role == REPLICA]
        return None if not values or None in values else sum(v for v in values if v is not None)

    def stop(self, requests: int) -> Resources:
        other = self._steady.stop() if self._steady else None
        peaks = self._sampler.stop() if self._sampler else {}
        for r in self.readings:
            full = self.ids[r.name]
            r.cpu_after = self._cpu(full)
            r.peak_mem_mb = cgroup.peak_mb(full, self.root) or peaks.get(r.id)
            if r.cpu_s is None:
                r.problems.append(f"no CPU reading for {r.name}: neither its cgroup nor docker top answered")
        source = " + ".join(sorted(self.sources)) or "none"
        if self._sampler:
            source += " + docker stats (memory, sampled every second)"
        why = "" if self.readings else f"no running container of compose project {self.project} was found"
        return summarize(self.readings, requests, source, why, other_cores=other)


class _Sampler:
    """The fallback for memory: the largest `docker stats` reading per container, every SAMPLE_EVERY_S."""

    def __init__(self, sample: Callable[[], dict[str, float]]) -> None:
        self.sample, self.peaks, self.done = sample, dict[str, float](), threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.done.wait(SAMPLE_EVERY_S):
            for cid, mb in self.sample().items():
                self.peaks[cid] = max(mb, self.peaks.get(cid, 0.0))

    def stop(self) -> dict[str, float]:
        self.done.set()
        self.thread.join(timeout=10)
        return self.peaks


@dataclass(frozen=True)
class Process:
    name: str
    role: str
    pid: int


def descendants(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """pid and every process below it (nginx's workers, uvicorn's worker processes)."""
    children: dict[int, list[int]] = {}
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


def vm_hwm_mb(status: str) -> float:
    """/proc/<pid>/status's VmHWM (the resident peak), in MB."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise ValueError("no VmHWM line")


def tree_usage(pid: int, proc: Path = Path("/proc")) -> tuple[float, float]:
    """CPU seconds and summed resident peak of a process tree (each process's own peak)."""
    cpu = mem = 0.0
    for p in descendants(pid, proc):
        try:
            cpu += process_cpu_s((proc / str(p) / "stat").read_text())
            mem += vm_hwm_mb((proc / str(p) / "status").read_text())
        except (OSError, ValueError):
            continue  # it ended meanwhile
    return cpu, mem


class HostMeter:
    """The host backend's processes: /proc/<pid>/stat (ticks) and VmHWM, summed over each tree."""

    def __init__(self, processes: list[Process], proc: Path = Path("/proc")) -> None:
        self.processes, self.proc = processes, proc
        self.readings: list[Reading] = []

    def start(self) -> None:
        self.readings = [Reading(p.name, p.role, str(p.pid), cpu_before=tree_usage(p.pid, self.proc)[0])
                         for p in self.processes]

    def stop(self, requests: int) -> Resources:
        for r, p in zip(self.readings, self.processes, strict=True):
            r.cpu_after, r.peak_mem_mb = tree_usage(p.pid, self.proc)
        return summarize(self.readings, requests, "/proc (clock ticks; VmHWM summed over each process tree)",
                         "peak memory is since each process started (VmHWM cannot be reset)")
