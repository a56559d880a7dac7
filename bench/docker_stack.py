"""Bring a compose profile up for one benchmark run, and always take it down again.

Profiles: compose/one.yml (one replica behind nginx), compose/many.yml (SCALE replicas
behind nginx) and compose/workers.yml (one container, uvicorn --workers N, no nginx).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from typing import Iterator

from .progress import Progress
from .settings import ROOT, BenchError, Settings


def available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def _compose(settings: Settings, profile: str) -> list[str]:
    return ["docker", "compose", "-p", settings.project,
            "-f", str(ROOT / "docker-compose.yml"), "-f", str(ROOT / "compose" / f"{profile}.yml")]


def _env(settings: Settings, replicas: int) -> dict[str, str]:
    return {**os.environ, "SCALE": str(replicas), "WORKERS": str(replicas),
            "HTTP_PORT": str(settings.http_port), "WORKERS_PORT": str(settings.workers_port)}


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise BenchError(f"{what} failed (exit {done.returncode}):\n{tail}\n"
                         f"Command: {' '.join(cmd)}")


def down(settings: Settings, profile: str, replicas: int) -> None:
    _run([*_compose(settings, profile), "down", "--remove-orphans", "--timeout", "10"],
         _env(settings, replicas), f"taking down compose project {settings.project}")


@contextlib.contextmanager
def stack(settings: Settings, profile: str, replicas: int, progress: Progress) -> Iterator[str]:
    """Yield the base URL of a healthy stack; take it down afterwards, even on Ctrl-C."""
    services = ["workers"] if profile == "workers" else []
    port = settings.workers_port if profile == "workers" else settings.http_port
    env = _env(settings, replicas)
    progress.say(f"starting compose profile {profile} ({replicas} {'workers' if services else 'replica(s)'}) "
                 f"as project {settings.project} on port {port}")
    down(settings, profile, replicas)  # a run that was killed may have left it up
    try:
        _run([*_compose(settings, profile), "up", "-d", "--build", "--wait", "--wait-timeout", "180", *services],
             env, f"starting profile {profile} (is port {port} free? see `docker compose -p {settings.project} logs`)")
        yield f"http://127.0.0.1:{port}"
    finally:
        progress.say(f"taking down profile {profile}")
        down(settings, profile, replicas)
