"""The api image run as a platform runs it: plain `docker run`, locked down as compose runs
it, with what Cloud Run, Heroku and the like set (PORT, HOST, LOG_LEVEL) and what a
Kubernetes Service named api sets in every pod beside it."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.conftest import inspect, logs
from tests.service.conftest import SERVICE_LINK
from tests.wait import until

pytestmark = pytest.mark.e2e

# compose's x-hardening and the image's user, as `docker run` flags.
HARDENING = ("--init", "--read-only", "--tmpfs", "/tmp:size=16m,mode=1777", "--cap-drop", "ALL",
             "--security-opt", "no-new-privileges", "-u", "10001")
# From `docker run` to serving: PyPy warms up for 5 s first; then Docker's first probe,
# one HEALTHCHECK interval (5 s) after the start.
SERVING_S = 60
HEALTHY_S = 30
# Each case: the environment, the port it must serve on, and each warning line it logs.
CASES = {
    "cloud-run-port": ({"PORT": "9000"}, 9000, []),
    "host-and-log-level": ({"HOST": "0.0.0.0", "LOG_LEVEL": "info"}, 8000, [  # noqa: S104
        "HOST is set but not read (platforms set it for their own use); the replica listens on API_HOST "
        "(default 0.0.0.0)",
        "LOG_LEVEL is set but not read (platforms set it for their own use); the replica logs at API_LOG_LEVEL "
        "(default info)",
    ]),
    "kubernetes-service-link": (SERVICE_LINK | {"PORT": "8080"}, 8080, [
        "API_PORT=tcp://10.96.0.12:8000 looks like a Kubernetes service link for a Service named api, not a "
        "port: ignored, the port is PORT if set, else 8000. Set enableServiceLinks: false in the pod spec, or "
        "set API_PORT to a number",
    ]),
}


@dataclass(frozen=True)
class Container:
    cid: str

    def state(self) -> dict:
        return inspect(self.cid)

    def logs(self) -> str:
        return logs(self.cid)

    def health(self) -> str:
        """Docker's HEALTHCHECK status; a container that stopped fails the test at once."""
        state = self.state()["State"]
        assert state["Running"], f"the container exited with {state['ExitCode']}:\n{self.logs()}"
        return str(state["Health"]["Status"])

    def ip(self) -> str:
        return str(self.state()["NetworkSettings"]["IPAddress"])


@pytest.fixture
def run_api(api_image: str) -> Iterator[Callable[[dict[str, str]], Container]]:
    """`docker run -d` of the api image with ENV on Docker's default bridge, removed after."""
    started: list[Container] = []

    def run(env: dict[str, str]) -> Container:
        flags = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
        out = subprocess.run(["docker", "run", "-d", *HARDENING, *flags, api_image],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        started.append(Container(out.stdout.strip()))
        return started[-1]

    yield run
    for container in started:
        subprocess.run(["docker", "rm", "-f", "-v", container.cid], capture_output=True, timeout=60)


def healthz(url: str) -> int | str:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code
    except httpx.TransportError as exc:
        return f"{type(exc).__name__}: {exc}"


def accepts(ip: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((ip, port)) == 0


@pytest.mark.parametrize(("env", "port", "warnings"), CASES.values(), ids=CASES)
def test_the_image_serves_where_the_platform_says_and_is_healthy(
        run_api: Callable[[dict[str, str]], Container], env: dict[str, str], port: int, warnings: list[str]) -> None:
    container = run_api(env)
    url = f"http://{container.ip()}:{port}"

    def serving() -> int | str:
        container.health()  # fails at once if the replica stopped
        return healthz(url)
    until(f"the replica to serve on port {port}", serving, lambda status: status == 200, SERVING_S, every_s=0.2)
    api = httpx.get(f"{url}/api", params={"n": 10}, timeout=5)
    assert (api.status_code, api.text) == (200, "Result number is 55")
    if port != 8000:
        assert not accepts(container.ip(), 8000), "it listens on the platform's port only"
    until("Docker's HEALTHCHECK to report healthy", container.health, lambda status: status == "healthy",
          HEALTHY_S, every_s=0.5)
    logged = [line.split(" WARNING app: ", 1)[1] for line in container.logs().splitlines() if " WARNING app: " in line]
    assert logged == warnings
