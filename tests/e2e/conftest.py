"""The real compose stack, brought up once for the e2e tests, and a tally of every request."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import proc
from tests import ports
from tests.conftest import IN_CI, ROOT
from tests.e2e.load import wait_serving
from tests.wait import until

# The api image's interpreter, as compose builds it: RUNTIME=pypy make test-e2e-pypy.
RUNTIME = os.environ.get("RUNTIME") or "cpython"
PROJECT = os.environ.get("E2E_PROJECT", f"pycluster-e2e-{RUNTIME}")
# The largest job the e2e stack allows (its API_MAX_N): about half a second of one core on
# the 2-core CI machine, so such a job is surely in flight when a replica is stopped. On
# CPython that is the shipped default; PyPy's JIT runs work.py's loop ~40x faster.
MAX_N = {"cpython": 10_000_000, "pypy": 300_000_000}[RUNTIME]
RUNTIME_NAME = {"cpython": "CPython ", "pypy": "PyPy "}[RUNTIME]
SOAK_MAX_WAIT_S = "5"
TALLY: list[str] = []


class Stack:
    """A compose project of the files in `root` (default: this checkout)."""

    def __init__(self, project: str, port: int, files: tuple[str, ...] = (), root: Path = ROOT) -> None:
        self.project = project
        self.root = root
        self.files = [arg for name in ("docker-compose.yml", *files) for arg in ("-f", str(root / name))]
        self.base_url = f"http://127.0.0.1:{port}"
        # Per-client limits as shipped (off), whatever the caller's shell or .env says;
        # the tests that need them use with_limits("on").
        self.env = {**os.environ, "HTTP_PORT": str(port), "HTTP_BIND": "127.0.0.1", "NGINX_LIMITS": "off",
                    "RUNTIME": RUNTIME, "API_MAX_N": str(MAX_N)}

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """`docker compose ARGS` on this project, whatever its exit status."""
        cmd = ["docker", "compose", "--project-directory", str(self.root), *self.files, "-p", self.project, *args]
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=timeout)

    def compose(self, *args: str, timeout: float = 900) -> str:
        result = self.run(*args, timeout=timeout)
        assert result.returncode == 0, f"{' '.join(result.args)} failed:\n{result.stderr[-3000:]}"
        return result.stdout

    def up(self, replicas: int) -> None:
        self.compose("up", "-d", "--build", "--wait", "--scale", f"api={replicas}")

    def scale(self, replicas: int) -> None:
        """What `make scale` does: only the api service changes; nginx is left alone."""
        self.compose("up", "-d", "--wait", "--no-recreate", "--scale", f"api={replicas}", "api")

    def container_ids(self, service: str) -> list[str]:
        return self.compose("ps", "-q", "--status", "running", service).split()

    def replicas(self) -> set[str]:
        """Hostnames of the running replicas: what they put in X-Replica (the short id)."""
        return {cid[:12] for cid in self.container_ids("api")}

    def inspect(self, container: str) -> dict:
        return inspect(container)

    def nginx_fingerprint(self) -> tuple[str, str, frozenset[str]]:
        """Container id, start time and process ids: a restart or a reload changes them."""
        (cid,) = self.container_ids("nginx")
        started = self.inspect(cid)["State"]["StartedAt"]
        top = subprocess.run(["docker", "top", cid, "-o", "pid"], capture_output=True, text=True, check=True)
        return cid, started, frozenset(top.stdout.split()[1:])

    def explain(self, failed: list) -> str:
        """For a failed assertion: the failures, and what nginx logged as errors."""
        logs = self.compose("logs", "--no-color", "--timestamps", "nginx")
        errors = [line for line in logs.splitlines() if "[error]" in line or "[warn]" in line]
        return f"{len(failed)} failed: {failed[:5]}\nnginx errors (last 30):\n" + "\n".join(errors[-30:])

    def wait_serving(self, replicas: set[str], timeout: float = 30) -> None:
        wait_serving(self.base_url, replicas, timeout)

    def access_log(self, since: float | None = None, timeout: float = 15) -> list[dict]:
        """The running nginx's JSON access log lines, all or those since a time.time(). Read
        until two reads 1.5 s apart agree: nginx flushes its buffered log every second
        (conf.d/logging.conf), and Docker's log copier lags behind on a busy host."""
        window = ["--since", f"{since:.3f}"] if since is not None else []
        counts: list[int] = []

        def read() -> list[dict]:
            out = self.compose("logs", "--no-color", "--no-log-prefix", *window, "nginx")
            lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
            counts.append(len(lines))
            return lines
        lines, _ = until("nginx's access log to settle", read, lambda _: counts[-2:-1] == counts[-1:], timeout,
                         every_s=1.5, describe=lambda _: f"line counts read: {counts}")
        return lines

    def readyz(self, container: str) -> dict:
        """A replica's own /readyz, asked inside its container (the jobs it has admitted)."""
        probe = ('exec 3<>/dev/tcp/127.0.0.1/${API_PORT:-8000} && printf "GET /readyz HTTP/1.1\\r\\nHost: t\\r\\n'
                 'Connection: close\\r\\n\\r\\n" >&3 && cat <&3')
        out = subprocess.run(["docker", "exec", container, "bash", "-c", probe],
                             capture_output=True, timeout=10).stdout  # bytes: text mode rewrites \r\n
        _, sep, body = out.partition(b"\r\n\r\n")
        return json.loads(body) if sep else {}

    @contextlib.contextmanager
    def with_api_env(self, **env: str) -> Iterator[None]:
        """The replicas alone recreated with `env` (nginx stays), then put back."""
        before = {name: self.env.get(name) for name in env}
        count = len(self.replicas())
        try:
            self.env.update(env)
            self.compose("up", "-d", "--wait", "--no-deps", "--scale", f"api={count}", "api")
            self.wait_serving(self.replicas())
            yield
        finally:
            for name, value in before.items():
                if value is None:
                    self.env.pop(name, None)
                else:
                    self.env[name] = value
            self.compose("up", "-d", "--wait", "--no-deps", "--scale", f"api={count}", "api")
            self.wait_serving(self.replicas())

    @contextlib.contextmanager
    def with_limits(self, limits: str) -> Iterator[None]:
        """nginx alone recreated with NGINX_LIMITS=limits (the replicas stay), then put back."""
        before = self.env["NGINX_LIMITS"]
        replicas = self.replicas()
        try:
            self.env["NGINX_LIMITS"] = limits
            self.compose("up", "-d", "--wait", "--no-deps", "nginx")
            self.wait_serving(replicas)
            yield
        finally:
            self.env["NGINX_LIMITS"] = before
            self.compose("up", "-d", "--wait", "--no-deps", "nginx")
            self.wait_serving(replicas)


    @contextlib.contextmanager
    def with_tls(self, certs: Path) -> Iterator[str]:
        """nginx alone recreated with NGINX_TLS=on and the certificate folder `certs` (the
        replicas stay), then put back. Yields the HTTPS base URL, on a free port."""
        replicas = self.replicas()
        try:
            self.env.update(NGINX_TLS="on", TLS_CERTS=str(certs))
            self.compose("up", "-d", "--wait", "--no-deps", "nginx")
            port = self.compose("port", "nginx", "8443").strip().rsplit(":", 1)[1]
            # Plain HTTP now only redirects. Not verified here: the tests check the certificate.
            wait_serving(f"https://localhost:{port}", replicas, verify=False)
            yield f"https://localhost:{port}"
        finally:
            self.env.pop("NGINX_TLS")
            self.env.pop("TLS_CERTS")
            self.compose("up", "-d", "--wait", "--no-deps", "nginx")
            self.wait_serving(replicas)


def make_bench(target: str, project: str, results: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`make TARGET` (a benchmark) as a user runs it, on compose project `project`, writing its
    results in `results`; the project is removed afterwards, volumes too, however it ended."""
    environ = {**os.environ, "BENCH_PROJECT": project, "RESULTS_DIR": str(results), **env}
    try:
        done = subprocess.run(["make", target], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=600)
    finally:
        subprocess.run(["docker", "compose", "-p", project, "down", "--volumes", "--remove-orphans", "-t", "5"],
                       cwd=ROOT, capture_output=True)
    assert done.returncode == 0, f"make {target} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def inspect(container: str) -> dict:
    """`docker inspect` of one container."""
    return json.loads(proc.output(["docker", "inspect", container], timeout=30))[0]  # type: ignore[no-any-return]


def logs(container: str) -> str:
    """A container's whole log, stdout and stderr."""
    done = subprocess.run(["docker", "logs", container], capture_output=True, text=True, timeout=30)
    return done.stdout + done.stderr


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The swarm tests last, the rest in their order. Their `docker swarm leave` leaves this
    engine's DNS without the records of containers already running: a container made after
    it on the session stack (nginx, recreated by with_tls) cannot resolve `api` (seen on
    Docker 20.10: "api could not be resolved (3: Host not found)")."""
    items.sort(key=lambda item: item.path.name.startswith("test_swarm"))


@pytest.fixture(scope="session")
def stack(docker: None) -> Iterator[Stack]:
    stack = Stack(PROJECT, ports.E2E_HTTP)
    # The resilience tests put ~1 s of heavy jobs on each replica on purpose, with 4 replicas
    # sharing 2 cores: the shipped 0.5 s bound would shed their steady load. Admission at the
    # shipped bound has its own tests (test_shedding.py, test_pypy.py, make chaos).
    stack.env["API_MAX_WAIT_S"] = SOAK_MAX_WAIT_S
    stack.compose("down", "--volumes", "--remove-orphans", "-t", "5")
    stack.up(4)
    yield stack
    # Keep the evidence: every container's log, for a failed run to be read afterwards.
    logs = ROOT / "results" / "e2e" / f"{PROJECT}.log"
    logs.parent.mkdir(parents=True, exist_ok=True)
    logs.write_text(stack.compose("logs", "--no-color", "--timestamps"))
    print(f"\ncompose logs of the e2e stack: {logs}")
    stack.compose("down", "--volumes", "--remove-orphans", "-t", "10")


@pytest.fixture(scope="session")
def api_image(docker: None) -> str:
    """The stack's api image, built as compose builds it (RUNTIME, API_IMAGE, .env)."""
    stack = Stack(PROJECT, ports.E2E_HTTP)
    stack.compose("build", "api")
    [image] = stack.compose("config", "--images", "api").split()
    return image


@dataclass(frozen=True)
class AbRun:
    returncode: int
    stderr: str
    report: dict[str, str]  # ab's summary lines: {"Complete requests": "1000", ...}


def run_ab(path: str, requests: int, concurrency: int, url: str) -> AbRun:
    done = subprocess.run([path, "-n", str(requests), "-c", str(concurrency), url],
                          capture_output=True, text=True, timeout=300)
    summary = re.findall(r"^([A-Za-z0-9 -]+):\s+(\S+)", done.stdout, re.MULTILINE)
    return AbRun(done.returncode, done.stderr, dict(summary))


Ab = Callable[[int, int, str], AbRun]  # ab(requests, concurrency, url)


@pytest.fixture(scope="session")
def ab() -> Ab:
    """apache2-utils' ab, which `make setup` installs: a failure in CI, a loud skip elsewhere.
    ab(requests, concurrency, url) runs it and reads its summary."""
    path = shutil.which("ab")
    if path is None:
        message = "ab (apache2-utils) is not installed: run `make setup`"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(f"SKIPPED, NOT PASSED: {message}")
    return functools.partial(run_ab, path)


@pytest.fixture
def tally(request: pytest.FixtureRequest):
    """Record a line of counts for the end-of-run summary: every request is accounted for."""
    def record(line: str) -> None:
        TALLY.append(f"{request.node.name}: {line}")
        print(line)
    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        terminalreporter.section("e2e request counts")
        for line in TALLY:
            terminalreporter.write_line(line)
