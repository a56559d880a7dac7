"""What each container (or host process tree) of a profile used during one k6 run.

A Run's optional `resources`: CPU seconds (after - before) and peak memory per container,
and the CPU per request that follows. Old summaries have none, so every field here is
optional in the Run and this module only ever adds to it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The roles a container plays: the replicas' CPU per request is the one the issue asks for;
# nginx's is apart, and monitoring containers are listed but counted in neither.
REPLICA, PROXY, OTHER = "replica", "proxy", "other"
ROLES = {"api": REPLICA, "workers": REPLICA, "node": REPLICA, "nginx": PROXY}
MB = 1e6


@dataclass(frozen=True)
class Usage:
    role: str
    cpu_s: float | None
    peak_mem_mb: float | None
    id: str = ""  # the replica id (a container's hostname, X-Replica) or a host pid


@dataclass(frozen=True)
class Resources:
    source: str                          # where the numbers come from, e.g. "cgroup v1"
    requests: int                        # completed requests of the run
    containers: dict[str, Usage]         # "api-1", "nginx", "replica-1" (host), ...
    replicas_cpu_s: float | None
    proxy_cpu_s: float | None
    cpu_ms_per_request: float | None     # replicas' CPU / completed requests
    proxy_cpu_ms_per_request: float | None
    peak_mem_mb: float | None = None     # the largest replica's peak
    note: str = ""                       # why a number is missing, or how to read it
    # Busy cores beyond the replicas' while requests flowed (/proc/stat; bench/resources/steady.py):
    # k6, nginx, Docker's port proxy, the kernel. Docker backend only.
    other_cores: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Resources:
        containers = {name: Usage(**u) for name, u in data["containers"].items()}
        return cls(**{**data, "containers": containers})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Reading:
    """One container's counters, read before and after the run."""

    name: str
    role: str
    id: str = ""
    cpu_before: float | None = None
    cpu_after: float | None = None
    peak_mem_mb: float | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def cpu_s(self) -> float | None:
        if self.cpu_before is None or self.cpu_after is None:
            return None
        return max(self.cpu_after - self.cpu_before, 0.0)


def role_of(service: str) -> str:
    return ROLES.get(service, OTHER)


def _sum(values: list[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None)


def _per_request_ms(cpu_s: float | None, requests: int) -> float | None:
    return None if cpu_s is None or requests <= 0 else cpu_s / requests * 1000


def summarize(readings: list[Reading], requests: int, source: str, note: str = "",
              other_cores: float | None = None) -> Resources:
    """Totals by role, and CPU per completed request; None wherever one reading is missing."""
    def total(role: str) -> float | None:
        return _sum([r.cpu_s for r in readings if r.role == role])
    replicas, proxy = total(REPLICA), total(PROXY)
    peaks = [r.peak_mem_mb for r in readings if r.role == REPLICA and r.peak_mem_mb is not None]
    problems = sorted({p for r in readings for p in r.problems})
    return Resources(
        source=source, requests=requests,
        containers={r.name: Usage(r.role, _round(r.cpu_s, 3), _round(r.peak_mem_mb, 1), r.id) for r in readings},
        replicas_cpu_s=_round(replicas, 3), proxy_cpu_s=_round(proxy, 3),
        cpu_ms_per_request=_round(_per_request_ms(replicas, requests), 3),
        proxy_cpu_ms_per_request=_round(_per_request_ms(proxy, requests), 3),
        peak_mem_mb=_round(max(peaks), 1) if peaks else None,
        note="; ".join(filter(None, [note, *problems])),
        other_cores=_round(other_cores, 3))


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
