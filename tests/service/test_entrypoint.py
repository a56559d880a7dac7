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

from tests.service.conftest import environ
from tests.wait import until

pytestmark = pytest.mark.unit

SERVICE = Path(__file__).resolve().parents[2] / "service"
N = 10_000_000  # the largest job: ~0.5 s of CPU, so it is surely in flight at SIGTERM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(*args: str, **env: str) -> subprocess.Popen[str]:
    """`python -m app ARGS` with ENV, and none of the names beside API_* a shell may hold."""
    # Own process group: kill() then ends worker processes too, should a test fail.
    return subprocess.Popen([sys.executable, "-m", "app", *args], cwd=SERVICE,
                            env=environ(API_LOG_LEVEL="debug", **env),
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


def healthcheck(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SERVICE / "healthcheck.sh")], cwd=SERVICE, env=environ(**env),
                          capture_output=True, text=True, timeout=10)


def test_the_healthcheck_probes_the_port_the_replica_listens_on() -> None:
    port = free_port()
    proc = start(API_PORT=str(port), API_HOST="127.0.0.1")
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        assert healthcheck(API_PORT=str(port)).returncode == 0
        nobody = free_port()
        refused = healthcheck(API_PORT=str(nobody))
    finally:
        stop(proc)
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith(f"healthcheck failed: nothing accepts connections on port {nobody}")


def test_without_api_port_the_replica_and_its_healthcheck_use_port() -> None:
    """Cloud Run, Heroku, Render, Fly.io and Railway say where to listen with PORT."""
    port = free_port()
    proc = start(PORT=str(port), API_HOST="127.0.0.1")
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        assert httpx.get(f"http://127.0.0.1:{port}/api", params={"n": 10}).text == "Result number is 55"
        probe = healthcheck(PORT=str(port))
    finally:
        logs = stop(proc)
    assert probe.returncode == 0, probe.stderr
    assert f"ready on port {port} " in logs


def test_host_and_log_level_from_a_platform_are_logged_and_ignored() -> None:
    port = free_port()
    # Neither value would work if read: nothing here has that address, and no such level.
    proc = start(API_PORT=str(port), API_HOST="127.0.0.1", HOST="203.0.113.9", LOG_LEVEL="chatty")
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
    finally:
        logs = stop(proc)
    assert "WARNING app: HOST is set but not read (platforms set it for their own use); the replica " \
           "listens on API_HOST (default 0.0.0.0)\n" in logs
    assert "WARNING app: LOG_LEVEL is set but not read" in logs
    assert logs.count("is set but not read") == 2, "once each"


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
