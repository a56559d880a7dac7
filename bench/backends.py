"""Pick the backend that runs the profiles: Docker when it answers, else host processes."""

from __future__ import annotations

from . import docker_stack
from .docker_stack import DockerBackend
from .host import HostBackend
from .profiles import Backend
from .progress import Progress, note
from .settings import BenchError, Settings

CHOICES = ("auto", "docker", "host")


def pick(name: str, settings: Settings, progress: Progress) -> Backend:
    if name == "auto":
        name = "docker" if docker_stack.available() else "host"
        note(f"backend: {name} ({'Docker answers' if name == 'docker' else 'no Docker engine: host processes'})")
    elif name == "docker" and not docker_stack.available():
        raise BenchError("Docker does not answer (`docker info` fails): run `make setup`, "
                         "or benchmark without Docker: `make bench-host`")
    return DockerBackend(settings, progress) if name == "docker" else HostBackend(settings, progress)
