"""The Docker backend: each profile is a compose override file in compose/.

compose/one.yml (one replica behind nginx), compose/many.yml (SCALE replicas behind nginx),
compose/workers.yml (one container, uvicorn --workers N, no nginx). A profile that pins its
runtime builds and runs the api on it (RUNTIME=cpython|pypy); the `node` profile runs the
article's own system from its own compose file, reference/node-cluster/compose.yml (SCALE
cluster workers, published on NODE_PORT, no nginx). Each run is its own compose project
(BENCH_PROJECT), so it never touches a stack started with `make up`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator

from ..profiles import PYTHON_RUNTIMES, Profile
from ..progress import Progress, note
from ..resources import prometheus
from ..resources.meter import DockerMeter
from ..settings import ROOT, BenchError, Settings
from . import probe

NODE_COMPOSE = ROOT / "reference" / "node-cluster" / "compose.yml"
NODE_SERVICE = "node"


def available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def compose_files(profile: Profile) -> list[str]:
    if profile.runtime == "node":
        return [str(NODE_COMPOSE)]
    return [str(ROOT / "docker-compose.yml"), str(ROOT / "compose" / f"{profile.shape}.yml")]


def compose_env(settings: Settings, profile: Profile, replicas: int, environ: dict[str, str]) -> dict[str, str]:
    """What compose interpolates: sizes, ports, and the runtime (and its image) a profile pins."""
    # SCALE alone sizes every profile: many's replicas, workers' and Node's cluster workers.
    env = {**environ, "SCALE": str(replicas), "HTTP_PORT": str(settings.http_port),
           "WORKERS_PORT": str(settings.workers_port), "NODE_PORT": str(settings.node_port),
           "PROMETHEUS_PORT": str(settings.prometheus_port),
           # nginx's HTTPS port on a free host port: the benchmarks measure through HTTP_PORT
           # (bench tls, on nginx's own address), and must not clash with a stack on 8443.
           "HTTPS_PORT": ""}
    if profile.runtime in PYTHON_RUNTIMES:
        env["RUNTIME"] = profile.runtime
    if settings.api_image:
        env["API_IMAGE"] = settings.api_image.replace("{runtime}", env.get("RUNTIME") or "cpython")
    return env


def port_of(settings: Settings, profile: Profile) -> int:
    if profile.runtime == "node":
        return settings.node_port
    return settings.http_port if profile.behind_nginx else settings.workers_port


class DockerBackend:
    name = "docker"

    def __init__(self, settings: Settings, progress: Progress) -> None:
        self.settings = settings
        self.progress = progress
        self._prometheus: str | None = None
        # A variant of the shipped stack (bench/balance/variants.py): more compose files and
        # environment, on top of the profile's, for every compose call while it is set.
        self.variant: tuple[list[str], dict[str, str]] = ([], {})

    def _monitored(self, profile: Profile) -> bool:
        # The Node reference has its own compose file, without the monitoring services.
        return self.settings.monitor and profile.runtime != "node"

    def _compose(self, profile: Profile) -> list[str]:
        files = compose_files(profile)
        missing = [f for f in files if not os.path.exists(f)]
        if missing:
            raise BenchError(f"profile {profile.name} needs {', '.join(missing)}, which this checkout lacks"
                             + (" (the Node reference, reference/node-cluster/)" if profile.runtime == "node" else ""))
        monitor = ["--profile", "monitoring"] if self._monitored(profile) else []
        files = [*files, *self.variant[0]]
        return ["docker", "compose", "-p", self.settings.project, *(a for f in files for a in ("-f", f)), *monitor]

    def _run(self, cmd: list[str], profile: Profile, replicas: int, what: str) -> str:
        env = compose_env(self.settings, profile, replicas, {**os.environ, **self.variant[1]})
        done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise BenchError(f"{what} failed (exit {done.returncode}):\n{tail}\nCommand: {' '.join(cmd)}")
        return done.stdout

    def _down(self, profile: Profile, replicas: int) -> None:
        # Every profile: a run with MONITOR=1 that was killed may have left Prometheus up.
        self._run([*self._compose(profile), "--profile", "*", "down", "--remove-orphans", "--timeout", "10"],
                  profile, replicas, f"taking down compose project {self.settings.project}")

    @contextlib.contextmanager
    def stack(self, profile: Profile, replicas: int) -> Iterator[str]:
        services = [] if profile.behind_nginx or profile.runtime == "node" else ["workers"]
        if services and self._monitored(profile):
            services.append("prometheus")
        port = port_of(self.settings, profile)
        self.progress.say(f"starting compose profile {profile.title(replicas)} as project "
                          f"{self.settings.project} on port {port}")
        self._down(profile, replicas)  # a run that was killed may have left it up
        try:
            self._run([*self._compose(profile), "up", "-d", "--build", "--wait", "--wait-timeout", "180", *services],
                      profile, replicas, f"starting profile {profile.name} (is port {port} free? see "
                                         f"`docker compose -p {self.settings.project} logs`)")
            self._prometheus = self._wait_prometheus() if self._monitored(profile) else None
            yield f"http://127.0.0.1:{port}"
        finally:
            self._prometheus = None
            self.progress.say(f"taking down profile {profile.name}")
            self._down(profile, replicas)

    def _wait_prometheus(self) -> str | None:
        url = f"http://127.0.0.1:{self.settings.prometheus_port}"
        self.progress.say(f"MONITOR=1: waiting for Prometheus at {url}/-/ready")
        if prometheus.ready(url):
            return url
        note(f"MONITOR=1 but Prometheus at {url} did not answer /-/ready within 60 s: k6 runs without "
             "remote write and the runs have no PromQL values")
        return None

    def meter(self, profile: Profile, replicas: int) -> DockerMeter:
        return DockerMeter(self.settings.project)

    def prometheus_url(self) -> str | None:
        return self._prometheus

    def container(self, profile: Profile, replicas: int, service: str) -> str:
        """The id of the (first) running container of a service of the profile that is up."""
        ids = self._run([*self._compose(profile), "ps", "-q", "--status", "running", service], profile, replicas,
                        f"listing the {service} containers").split()
        if not ids:
            raise BenchError(f"no running {service} container in compose project {self.settings.project}")
        return ids[0]

    def recreate(self, profile: Profile, replicas: int, service: str) -> None:
        """One service of the profile that is up recreated as the variant now says (e.g. nginx
        with NGINX_TLS=on), the others left running."""
        self._run([*self._compose(profile), "up", "-d", "--wait", "--wait-timeout", "60", "--no-deps", service],
                  profile, replicas, f"recreating {service}")

    def address(self, profile: Profile, replicas: int, service: str, network: str) -> str:
        """The IP address of the service's (first) container on one of the project's networks:
        the host reaches it directly, without Docker's userland proxy of a published port."""
        cid = self.container(profile, replicas, service)
        done = subprocess.run(["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", cid],
                              capture_output=True, text=True)
        found = json.loads(done.stdout or "{}").get(f"{self.settings.project}_{network}", {}).get("IPAddress")
        if done.returncode != 0 or not found:
            raise BenchError(f"{service} has no address on network {network}: {done.stderr.strip()}")
        return str(found)

    def logs(self, profile: Profile, replicas: int, service: str) -> str:
        return self._run([*self._compose(profile), "logs", "--no-color", "--no-log-prefix", service], profile,
                         replicas, f"reading the logs of {service}")

    def exec(self, profile: Profile, replicas: int, service: str, *cmd: str) -> str:
        """A command's output, run in the service's container (`docker compose exec -T`)."""
        return self._run([*self._compose(profile), "exec", "-T", service, *cmd], profile, replicas,
                         f"running {cmd[0]} in {service}")

    def runtime_version(self, profile: Profile, url: str) -> str:
        """A Python replica names its interpreter in GET /; Node's answer is plain text, so
        its container is asked (`node --version`)."""
        if profile.runtime != "node":
            return probe.runtime(url) or "unknown (GET / names no runtime)"
        return f"Node.js {self.exec(profile, 1, NODE_SERVICE, 'node', '--version').strip()}"
