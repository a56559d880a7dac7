"""The Docker backend: each profile is a compose override file in compose/.

compose/one.yml (one replica behind nginx), compose/many.yml (SCALE replicas behind nginx),
compose/workers.yml (one container, uvicorn --workers N, no nginx). Each run is its own
compose project (BENCH_PROJECT), so it never touches a stack started with `make up`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator

from .profiles import Profile
from .progress import Progress
from .settings import ROOT, BenchError, Settings


def available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


class DockerBackend:
    name = "docker"

    def __init__(self, settings: Settings, progress: Progress) -> None:
        self.settings = settings
        self.progress = progress

    def _compose(self, profile: Profile) -> list[str]:
        return ["docker", "compose", "-p", self.settings.project,
                "-f", str(ROOT / "docker-compose.yml"), "-f", str(ROOT / "compose" / f"{profile.name}.yml")]

    def _env(self, replicas: int) -> dict[str, str]:
        return {**os.environ, "SCALE": str(replicas), "WORKERS": str(replicas),
                "HTTP_PORT": str(self.settings.http_port), "WORKERS_PORT": str(self.settings.workers_port)}

    def _run(self, cmd: list[str], replicas: int, what: str) -> None:
        done = subprocess.run(cmd, env=self._env(replicas), cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise BenchError(f"{what} failed (exit {done.returncode}):\n{tail}\nCommand: {' '.join(cmd)}")

    def _down(self, profile: Profile, replicas: int) -> None:
        self._run([*self._compose(profile), "down", "--remove-orphans", "--timeout", "10"], replicas,
                  f"taking down compose project {self.settings.project}")

    @contextlib.contextmanager
    def stack(self, profile: Profile, replicas: int) -> Iterator[str]:
        services = [] if profile.behind_nginx else ["workers"]
        port = self.settings.http_port if profile.behind_nginx else self.settings.workers_port
        self.progress.say(f"starting compose profile {profile.title(replicas)} as project "
                          f"{self.settings.project} on port {port}")
        self._down(profile, replicas)  # a run that was killed may have left it up
        try:
            self._run([*self._compose(profile), "up", "-d", "--build", "--wait", "--wait-timeout", "180", *services],
                      replicas, f"starting profile {profile.name} (is port {port} free? see "
                                f"`docker compose -p {self.settings.project} logs`)")
            yield f"http://127.0.0.1:{port}"
        finally:
            self.progress.say(f"taking down profile {profile.name}")
            self._down(profile, replicas)
