"""`python -m app` as a real process: one uvicorn, and a graceful drain on SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.unit

SERVICE = Path(__file__).resolve().parents[2] / "service"
N = 10_000_000  # the largest job: ~0.5 s of CPU, so it is surely in flight at SIGTERM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"replica exited early: {proc.stdout.read()}"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("replica never became ready")


def test_sigterm_finishes_the_job_in_flight_then_exits_0() -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "REPLICA_ID": "drain-test"}
    proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=SERVICE, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        result: dict[str, httpx.Response] = {}
        request = threading.Thread(target=lambda: result.update(
            r=httpx.get(f"{base}/api", params={"n": N}, timeout=30)))
        request.start()
        while httpx.get(f"{base}/readyz").json()["jobs"] == 0:
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        request.join(30)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        logs = proc.stdout.read()
        proc.stdout.close()
    assert result["r"].status_code == 200, logs
    assert result["r"].text == f"Result number is {N * (N + 1) // 2}"
    assert result["r"].headers["x-replica"] == "drain-test"
    assert "draining: /readyz now answers 503" in logs
    assert "got SIGTERM: finishing in-flight requests" in logs
    assert "replica=drain-test job n=10000000 took" in logs
