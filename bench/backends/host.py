"""The same profiles without Docker: replicas as host processes behind a host nginx.

Each replica is `python -m app` (one uvicorn process) with its own API_PORT and API_REPLICA_ID,
pinned to its own core with taskset when there is one. nginx runs the repository's own
config files from a temporary copy in which only what a host needs is rewritten:
upstream.conf lists 127.0.0.1:PORT servers (no `resolve`, so any nginx >= 1.19.5 works),
limits.conf is limits-off.conf (as in the compose benchmark profiles), and the listen
ports, pid and temp paths point into the copy.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from app.settings import RENAMED

from .. import machine
from ..profiles import Profile
from ..progress import Progress
from ..resources.meter import HostMeter, Process
from ..resources.usage import PROXY, REPLICA
from ..settings import ROOT, BenchError, Settings
from . import probe


def find_nginx(configured: str) -> str:
    """NGINX (Settings.nginx) when set, else the first nginx found."""
    unpacked = ROOT / ".venv" / "nginx" / "usr" / "sbin" / "nginx"  # scripts/setup.sh puts it there
    for candidate in (configured, shutil.which("nginx") or "", "/usr/sbin/nginx", str(unpacked)):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BenchError("no nginx found for the host benchmark: `apt-get install nginx`, or unpack its .deb "
                     "(`apt-get download nginx && dpkg -x nginx_*.deb DIR`) and set NGINX=DIR/usr/sbin/nginx")


def upstream_conf(original: str, ports: list[int]) -> str:
    """The repo's upstream.conf with its one `server api:8000 ...;` line replaced by one
    line per host replica, same parameters minus `resolve` (no DNS name to re-read)."""
    match = re.search(r"^([ \t]*)server[ \t]+api:8000\b([^;]*);", original, re.MULTILINE)
    if not match:
        raise BenchError("nginx/upstream.conf has no `server api:8000 ...;` line: "
                         "update bench/backends/host.py to match it")
    params = " ".join(p for p in match[2].split() if p != "resolve")
    lines = "\n".join(f"{match[1]}server 127.0.0.1:{port} {params};".rstrip() for port in ports)
    return original[:match.start()] + lines + original[match.end():]


def write_config(conf: Path, ports: list[int], http_port: int) -> Path:
    """Copy nginx/ to conf/ and rewrite the host-specific lines; return nginx.conf's path."""
    shutil.copytree(ROOT / "nginx", conf)
    upstream = conf / "upstream.conf"
    upstream.write_text(upstream_conf(upstream.read_text(), ports))
    if (conf / "limits-off.conf").exists():
        # As compose/one.yml and many.yml do: no per-client limits, k6 is one client.
        shutil.copy(conf / "limits-off.conf", conf / "limits.conf")
    _replace(conf / "nginx.conf", "pid /tmp/nginx.pid;", f"pid {conf}/nginx.pid;")
    _replace(conf / "conf.d" / "temp-paths.conf", "/tmp/nginx-", f"{conf}/tmp-")
    _replace(conf / "sites" / "api.conf", "listen 8080 ", f"listen 127.0.0.1:{http_port} ")
    _replace(conf / "sites" / "status.conf", "listen 8081;", f"listen 127.0.0.1:{http_port + 1};")
    return conf / "nginx.conf"


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise BenchError(f"{path.name} no longer contains {old!r}: update bench/backends/host.py to match nginx/")
    path.write_text(text.replace(old, new))


def _replica_cmd(core: int | None, args: list[str]) -> list[str]:
    pin = ["taskset", "-c", str(core)] if core is not None and shutil.which("taskset") else []
    return [*pin, sys.executable, *args]


def _start_replicas(profile: Profile, replicas: int, first_port: int,
                    log: Path) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    cores = machine.cores()
    # The replica refuses the old names it no longer reads (KEEP_ALIVE_S...): a shell may have them.
    inherited = {k: v for k, v in os.environ.items() if k not in RENAMED}
    base_env = {**inherited, "API_HOST": "127.0.0.1", "API_LOG_LEVEL": "warning"}
    out = log.open("a")
    if not profile.behind_nginx:
        cmd = _replica_cmd(None, ["-m", "app", "--workers", str(replicas)])
        env = {**base_env, "API_PORT": str(first_port)}
        return [subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)], [first_port]
    procs, ports = [], []
    for i in range(replicas):
        port = first_port + i
        env = {**base_env, "API_PORT": str(port), "API_REPLICA_ID": f"replica-{i + 1}"}
        # One core per replica while there are cores; past that they share.
        cmd = _replica_cmd(i % cores, ["-m", "app"])
        procs.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT))
        ports.append(port)
    return procs, ports


def wait_healthy(ports: list[int], procs: list[subprocess.Popen[bytes]], log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    for port in ports:
        while True:
            if any(p.poll() is not None for p in procs):
                raise BenchError(f"a replica exited at start; its log:\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError(f"replica on port {port} did not answer /healthz in {timeout_s:.0f} s; "
                                     f"log: {log}") from None
                time.sleep(0.2)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            proc.kill()


def _start_nginx(nginx: str, conf: Path, tmp: Path) -> subprocess.Popen[bytes]:
    base = [nginx, "-p", str(conf.parent), "-e", "stderr", "-c", str(conf)]
    check = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True)
    if check.returncode != 0:
        raise BenchError(f"nginx -t rejected the generated config in {conf.parent}:\n{check.stderr.strip()}")
    out = (tmp / "nginx.log").open("a")
    return subprocess.Popen([*base, "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT)


class HostBackend:
    name = "host"

    def __init__(self, settings: Settings, progress: Progress) -> None:
        self.settings = settings
        self.progress = progress
        self._processes: list[Process] = []

    @contextlib.contextmanager
    def stack(self, profile: Profile, replicas: int) -> Iterator[str]:
        if profile.runtime not in (None, "cpython"):
            raise BenchError(f"the host backend runs replicas on this venv's CPython only; profile {profile.name} "
                             "runs on another runtime: use Docker (--backend docker)")
        nginx = find_nginx(self.settings.nginx) if profile.behind_nginx else ""
        port = self.settings.http_port
        with tempfile.TemporaryDirectory(prefix="bench-host-") as tmp:
            log = Path(tmp) / "replicas.log"
            os.chmod(tmp, 0o755)  # noqa: S103 - nginx workers may run as another user and read the copy
            self.progress.say(f"starting host profile {profile.title(replicas)}")
            procs, ports = _start_replicas(profile, replicas, self.settings.host_replica_port, log)
            names = [f"replica-{i + 1}" for i in range(len(procs))] if profile.behind_nginx else ["workers"]
            self._processes = [Process(n, REPLICA, p.pid) for n, p in zip(names, procs, strict=True)]
            try:
                wait_healthy(ports, procs, log)
                if not profile.behind_nginx:
                    yield f"http://127.0.0.1:{ports[0]}"
                    return
                procs.append(_start_nginx(nginx, write_config(Path(tmp) / "nginx", ports, port), Path(tmp)))
                self._processes.append(Process("nginx", PROXY, procs[-1].pid))
                wait_healthy([port], procs[-1:], Path(tmp) / "nginx.log")
                yield f"http://127.0.0.1:{port}"
            finally:
                self.progress.say(f"stopping host profile {profile.name}")
                self._processes = []
                _stop(procs)

    def meter(self, profile: Profile, replicas: int) -> HostMeter:
        return HostMeter(list(self._processes))

    def prometheus_url(self) -> str | None:
        return None  # MONITOR=1 is the Docker backend's: the monitoring services are compose services

    def runtime_version(self, profile: Profile, url: str) -> str:
        return probe.runtime(url) or f"CPython {platform.python_version()}"
