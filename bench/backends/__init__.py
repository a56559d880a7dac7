"""The backends that run a profile: compose (docker_stack.py) or host processes (host.py),
and what they ask a running one (probe.py). pick(): Docker when it answers, else host."""

from __future__ import annotations

from ..profiles import Backend
from ..progress import Progress, note
from ..settings import BenchError, Settings
from . import docker_stack
from .docker_stack import DockerBackend
from .host import HostBackend

CHOICES = ("auto", "docker", "host")


def pick(name: str, settings: Settings, progress: Progress) -> Backend:
    if name == "auto":
        name = "docker" if docker_stack.available() else "host"
        note(f"backend: {name} ({'Docker answers' if name == 'docker' else 'no Docker engine: host processes'})")
    elif name == "docker" and not docker_stack.available():
        raise BenchError("Docker does not answer (`docker info` fails): run `make setup`, "
                         "or benchmark without Docker: `make bench-host`")
    return DockerBackend(settings, progress) if name == "docker" else HostBackend(settings, progress)
