"""The profiles a benchmark can run, and the Backend protocol that brings one up.

A profile is a way to serve the api: 1 replica behind nginx (the article's "without
cluster"), N replicas behind nginx (its "with cluster"), or one container running
`uvicorn --workers N` with no nginx (the comparison). A profile may pin its runtime:
the same layouts on CPython or PyPy (`cpython-one`, `pypy-many`, ...), and `node`, the
article's own Express app in Node's cluster mode (reference/node-cluster/), the yardstick
of `make bench-runtimes`. A backend runs a profile: Docker compose (bench/backends/docker_stack.py)
or host processes (bench/backends/host.py).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Protocol

from .resources.meter import Meter

PYTHON_RUNTIMES = ("cpython", "pypy")
RUNTIMES = (*PYTHON_RUNTIMES, "node")
RUNTIME_TITLES = {"cpython": "CPython", "pypy": "PyPy", "node": "Node cluster"}


@dataclass(frozen=True)
class Profile:
    name: str
    behind_nginx: bool
    fixed_replicas: int | None  # None: SCALE decides
    curve: str                  # its name on a capacity curve
    runtime: str | None = None  # cpython, pypy or node; None: RUNTIME from the environment (cpython if unset)
    layout: str | None = None   # what it runs, compose/<layout>.yml for Docker; None: its name

    def __post_init__(self) -> None:
        if self.runtime is not None and self.runtime not in RUNTIMES:
            raise ValueError(f"runtime {self.runtime!r} is not one of {', '.join(RUNTIMES)}")

    @property
    def shape(self) -> str:
        return self.layout or self.name

    def on(self, runtime: str) -> Profile:
        """The same layout pinned to a Python runtime: ONE.on("pypy") is `pypy-one`."""
        if runtime not in PYTHON_RUNTIMES:
            raise ValueError(f"{self.name} runs the Python service: runtime {runtime!r} is not one of "
                             f"{', '.join(PYTHON_RUNTIMES)}")
        return replace(self, name=f"{runtime}-{self.shape}", runtime=runtime, layout=self.shape)

    def replicas(self, scale: int) -> int:
        return self.fixed_replicas or scale

    def title(self, replicas: int) -> str:
        unit = "replica" if replicas == 1 else "replicas"
        return f"{self.name} ({replicas} {unit if self.behind_nginx else 'workers'})"

    def label(self, replicas: int) -> str:
        """For a reader: "PyPy, 1 replica + nginx", "Node cluster, 2 workers"."""
        runtime = RUNTIME_TITLES[self.runtime or "cpython"]
        if self.behind_nginx:
            return f"{runtime}, {replicas} {'replica' if replicas == 1 else 'replicas'} + nginx"
        return f"{runtime}, {replicas} {'worker' if replicas == 1 else 'workers'}"


ONE = Profile("one", behind_nginx=True, fixed_replicas=1, curve="nginx + replicas")
MANY = Profile("many", behind_nginx=True, fixed_replicas=None, curve="nginx + replicas")
WORKERS = Profile("workers", behind_nginx=False, fixed_replicas=None, curve="uvicorn --workers")
# The article's system: one container, its cluster primary forks WORKERS workers, no nginx.
NODE = Profile("node", behind_nginx=False, fixed_replicas=None, curve="node cluster", runtime="node")
# `make bench-runtimes`, in this order: each Python runtime alone and scaled out, then Node.
RUNTIME_PROFILES = (ONE.on("cpython"), MANY.on("cpython"), ONE.on("pypy"), MANY.on("pypy"), NODE)
PROFILES = {p.name: p for p in (ONE, MANY, WORKERS, *RUNTIME_PROFILES)}


def parse(names: str) -> list[Profile]:
    """`one,many` -> [ONE, MANY]; a ValueError names the unknown ones."""
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in PROFILES]
    if unknown or not wanted:
        raise ValueError(f"unknown profile(s) {unknown or names!r}; choose from {', '.join(PROFILES)}")
    return [PROFILES[n] for n in wanted]


class Backend(Protocol):
    """Runs a profile; `stack` yields the base URL once every replica answers, and always
    tears the profile down afterwards, also on an error or Ctrl-C. `runtime_version` names
    the interpreter of the profile that `stack` has up (e.g. "PyPy 7.3.20 (Python 3.11.13)").
    `meter` measures the profile that is up during one k6 run (None: it cannot), and
    `prometheus_url` is its Prometheus when MONITOR=1 brought one up and it answers."""

    name: str

    def stack(self, profile: Profile, replicas: int) -> AbstractContextManager[str]: ...

    def runtime_version(self, profile: Profile, url: str) -> str: ...

    def meter(self, profile: Profile, replicas: int) -> Meter | None: ...

    def prometheus_url(self) -> str | None: ...
