"""The loop: find nginx's containers every few seconds, read their new log lines every second."""

import logging
import socket
import time
from pathlib import Path

from .containers import PROJECT_LABEL, Container, find_self, list_containers
from .docker_log import DockerLog
from .follow import Follower
from .metrics import Metrics
from .parse import NotAccessLog, parse_request
from .settings import Settings

log = logging.getLogger("nginx_log_exporter")


class Problem(Exception):
    """Why no nginx log can be read yet, and what to do about it."""


class Exporter:
    def __init__(self, settings: Settings, metrics: Metrics, mountinfo: Path = Path("/proc/self/mountinfo"),
                 hostname: str | None = None) -> None:
        self.settings = settings
        self.metrics = metrics
        self._mountinfo = mountinfo
        self._hostname = socket.gethostname() if hostname is None else hostname
        self.logs: dict[str, DockerLog] = {}
        # Logs found by the first good scan are read from their end: only new traffic counts.
        self._started = False
        self._parked: dict[str, DockerLog] = {}
        self._problem = ""

    def run_forever(self) -> None:
        next_scan = 0.0
        while True:
            if time.monotonic() >= next_scan:
                self.scan()
                next_scan = time.monotonic() + self.settings.scan_interval_s
            self.poll()
            time.sleep(self.settings.poll_interval_s)

    def scan(self) -> None:
        """Start reading the logs of nginx containers that appeared, stop for those removed."""
        try:
            project, nginx = self._nginx_containers()
        except Problem as problem:
            self._report(str(problem))
            return
        first, self._started = not self._started, True
        if first:  # a stopped one's log so far is from before we started, should it start again
            self._parked = {c.id: DockerLog(Follower(c.log_path, from_end=True))
                            for c in nginx if c.log_path and not c.running}
        # A container we already read stays, running or not, until it is removed: a restart
        # then goes on where it left off instead of reading its log again from the start.
        wanted = {c.id: c.log_path for c in nginx if c.log_path and (c.running or c.id in self.logs)}
        self._report("" if wanted else self._none_readable(project, nginx))
        self._stop_removed(wanted, {c.id for c in nginx})
        for new in wanted.keys() - self.logs.keys():
            log.info("reading %s", wanted[new])
            parked = self._parked.pop(new, None)
            self.logs[new] = parked or DockerLog(Follower(wanted[new], from_end=first))
        self.metrics.containers.set(len(self.logs))

    def close(self) -> None:
        for docker_log in [*self.logs.values(), *self._parked.values()]:
            docker_log.close()

    def _stop_removed(self, wanted: dict[str, Path], present: set[str]) -> None:
        for gone in self.logs.keys() - wanted.keys():
            log.info("stopped reading %s: container removed", gone[:12])
            self._read(self.logs[gone])  # its last lines
            self.logs.pop(gone).close()
        for removed in self._parked.keys() - present:
            self._parked.pop(removed).close()

    def poll(self) -> None:
        for docker_log in self.logs.values():
            self._read(docker_log)

    def _read(self, docker_log: DockerLog) -> None:
        messages, bad = docker_log.read()
        self.metrics.lines.inc(len(messages) + bad)
        self.metrics.parse_errors.inc(bad)
        for message in messages:
            try:
                self.metrics.observe(parse_request(message))
            except NotAccessLog:
                self.metrics.parse_errors.inc()

    def _nginx_containers(self) -> tuple[str, list[Container]]:
        """Our compose project, and nginx's containers in it, running or not."""
        root = self.settings.containers_dir
        try:
            containers = list_containers(root)
        except OSError as error:
            raise Problem(f"cannot read {root} ({error.strerror}): mount the Docker host's containers dir "
                          "there read-only and run as root (/var/lib/docker/containers; rootless Docker: "
                          "~/.local/share/docker/containers; Docker Desktop: inside its VM), or set "
                          "DOCKER_CONTAINERS_DIR to where it is mounted") from None
        project = self.settings.project or self._own_project(containers)
        return project, [c for c in containers if c.project == project and c.service == self.settings.nginx_service]

    def _none_readable(self, project: str, nginx: list[Container]) -> str:
        """Why no nginx log is read."""
        where = f"service {self.settings.nginx_service!r} in compose project {project!r}"
        if any(c.running for c in nginx):
            return (f"the running containers of {where} have no json-file log (LogPath is empty): "
                    "set their logging driver to json-file")
        return f"no running container of {where} (set NGINX_SERVICE if nginx's service has another name)"

    def _own_project(self, containers: list[Container]) -> str:
        try:
            mountinfo = self._mountinfo.read_text()
        except OSError:
            mountinfo = ""
        me = find_self(containers, mountinfo, self._hostname)
        if me is None:
            raise Problem(f"found my own container neither by the ids in {self._mountinfo} nor by hostname "
                          f"{self._hostname!r} among the {len(containers)} in {self.settings.containers_dir}: "
                          "is that the containers dir of the Docker host I run on? Or set COMPOSE_PROJECT")
        if not me.project:
            raise Problem(f"my container {me.id[:12]} has no {PROJECT_LABEL} label: "
                          "start me with docker compose, or set COMPOSE_PROJECT")
        return me.project

    def _report(self, problem: str) -> None:
        """Log a problem when it starts or changes, and when it is over."""
        if problem and problem != self._problem:
            log.warning("%s; retrying every %g s", problem, self.settings.scan_interval_s)
        elif self._problem and not problem:
            log.info("found nginx's log again")
        self._problem = problem
