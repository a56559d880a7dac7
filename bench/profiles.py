"""The profiles a benchmark can run, and the Backend protocol that brings one up.

A profile is a way to serve the api: 1 replica behind nginx (the article's "without
cluster"), N replicas behind nginx (its "with cluster"), or one container running
`uvicorn --workers N` with no nginx (the comparison). A backend runs a profile: Docker
compose (bench/docker_stack.py) or host processes (bench/host.py).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Profile:
    name: str
    behind_nginx: bool
    fixed_replicas: int | None  # None: SCALE decides
    curve: str                  # its name on a capacity curve

    def replicas(self, scale: int) -> int:
        return self.fixed_replicas or scale

    def title(self, replicas: int) -> str:
        unit = "replica" if replicas == 1 else "replicas"
        return f"{self.name} ({replicas} {unit if self.behind_nginx else 'workers'})"


ONE = Profile("one", behind_nginx=True, fixed_replicas=1, curve="nginx + replicas")
MANY = Profile("many", behind_nginx=True, fixed_replicas=None, curve="nginx + replicas")
WORKERS = Profile("workers", behind_nginx=False, fixed_replicas=None, curve="uvicorn --workers")
PROFILES = {p.name: p for p in (ONE, MANY, WORKERS)}


def parse(names: str) -> list[Profile]:
    """`one,many` -> [ONE, MANY]; a ValueError names the unknown ones."""
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in PROFILES]
    if unknown or not wanted:
        raise ValueError(f"unknown profile(s) {unknown or names!r}; choose from {', '.join(PROFILES)}")
    return [PROFILES[n] for n in wanted]


class Backend(Protocol):
    """Runs a profile; `stack` yields the base URL once every replica answers, and always
    tears the profile down afterwards, also on an error or Ctrl-C."""

    name: str

    def stack(self, profile: Profile, replicas: int) -> AbstractContextManager[str]: ...
