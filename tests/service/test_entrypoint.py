"""`python -m app` as a real process: one uvicorn, and a graceful drain on SIGTERM."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from app.settings import RENAMED
from tests.wait import until

pytestmark = pytest.mark.unit

SERVICE = Path(__file__).resolve().parents[2] / "service"
N = 10_000_000  # the largest job: ~0.5 s of CPU, so it is surely in flight at SIGTERM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(*args: str, **env: str) -> subprocess.Popen[str]:
    """`python -m app ARGS` with API_* ENV, and none of the old names a shell may hold."""
    base = {k: v for k, v in os.environ.items() if k not in RENAMED} | {"API_LOG_LEVEL": "debug"}
    # Own process group: kill() then ends worker processes too, should a test fail.
    return subprocess.Popen([sys.executable, "-m", "app", *args], cwd=SERVICE, env={**base, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def kill(proc: subprocess.Popen[str]) -> None:
    if proc.returncode is None:  # not reaped yet, so the group id is still this one's
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def wait_ready(base: str, proc: subprocess.Popen[str], timeout: float = 15) -> None:
    def status() -> int | str:
        assert proc.poll() is None, f"replica exited early: {proc.stdout.read()}"
        try:
            return httpx.get(f"{base}/readyz", timeout=1).status_code
        except httpx.TransportError as exc:
            return f"{type(exc).__name__}: {exc}"
    until("the replica to be ready", status, lambda seen: seen == 200, timeout, every_s=0.1)


def stop(proc: subprocess.Popen[str]) -> str:
    kill(proc)
    logs = proc.stdout.read()
    proc.stdout.close()
    return logs


def healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if k not in RENAMED}, "API_PORT": str(port)}
    return subprocess.run(["bash", str(SERVICE / "healthcheck.sh")], cwd=SERVICE, env=env,
                          capture_output=True, text=True, timeout=10)


def test_the_healthcheck_probes_the_port_the_replica_listens_on() -> None:
    port = free_port()
    proc = start(API_PORT=str(port), API_HOST="127.0.0.1")
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        assert healthcheck(port).returncode == 0
        nobody = free_port()
        refused = healthcheck(nobody)
    finally:
        stop(proc)
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith(f"healthcheck failed: nothing accepts connections on port {nobody}")


def test_sigterm_finishes_the_job_in_flight_then_exits_0() -> None:
    port = free_port()
    proc = start(API_PORT=str(port), API_HOST="127.0.0.1", API_REPLICA_ID="drain-test")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        result: dict[str, httpx.Response] = {}
        request = threading.Thread(target=lambda: result.update(
            r=httpx.get(f"{base}/api", params={"n": N}, timeout=30)))
        request.start()
        until("the job to be admitted", lambda: httpx.get(f"{base}/readyz").json()["jobs"],
              lambda jobs: jobs > 0, 30, every_s=0.005)
        proc.send_signal(signal.SIGTERM)
        request.join(30)
        assert proc.wait(30) == 0
    finally:
        logs = stop(proc)
    assert result["r"].status_code == 200, logs
    assert result["r"].text == f"Result number is {N * (N + 1) // 2}"
    assert result["r"].headers["x-replica"] == "drain-test"
    assert "draining: /readyz now answers 503" in logs
    assert "got SIGTERM: finishing in-flight requests" in logs
    assert "replica=drain-test job n=10000000 took" in logs


def test_an_old_variable_name_stops_the_replica_before_it_serves() -> None:
    proc = start(KEEP_ALIVE_S="30")
    assert proc.wait(30) == 1
    assert stop(proc).strip() == (
        "configuration error: KEEP_ALIVE_S is no longer read: rename KEEP_ALIVE_S to API_KEEP_ALIVE_S "
        "(in .env, compose or the shell). Replica settings are all API_*.")


def test_the_workers_entry_serves_from_several_processes_and_stops_on_sigterm() -> None:
    """The comparison profile's command (compose/workers.yml), with the replica's settings."""
    port = free_port()
    proc = start("--workers", "2", API_PORT=str(port), API_HOST="127.0.0.1", API_REPLICA_ID="workers-test")
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        def ready() -> int:
            assert proc.poll() is None, "".join(lines)
            return sum("replica=workers-test ready on port" in line for line in lines)
        until("2 workers ready", ready, lambda count: count >= 2, 30, describe=lambda _: "".join(lines))
        response = httpx.get(f"http://127.0.0.1:{port}/api", params={"n": 10})
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        kill(proc)
        reader.join(5)
        proc.stdout.close()
    logs = "".join(lines)
    assert response.text == "Result number is 55", logs
    assert response.headers["x-replica"] == "workers-test"
    assert "server" not in response.headers
    assert "Started parent process" in logs
    assert "replica=workers-test job n=10 took" in logs, "workers log the app's lines like a replica"
