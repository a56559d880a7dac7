"""`make chaos`: overload at ~3x capacity, and a slow-client flood. Not part of `make test`.

Both run the stack as shipped (2 replicas): per-client limits are off, and the load comes
from one address. The slow clients are cut off by client_header_timeout alone; limit_conn
(NGINX_LIMITS=on) would not count them anyway, as it counts a connection only once its
request header has been read.
"""

import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import ports
from tests.conftest import ROOT
from tests.e2e.conftest import Stack
from tests.e2e.load import LoadLoop

pytestmark = pytest.mark.chaos

K6 = ROOT / ".venv" / "bin" / "k6"


@pytest.fixture(scope="module")
def chaos_stack(docker: None) -> Iterator[Stack]:
    stack = Stack("pycluster-chaos", ports.CHAOS_HTTP)
    stack.compose("down", "--volumes", "--remove-orphans", "-t", "5")
    stack.up(2)
    yield stack
    stack.compose("down", "--volumes", "--remove-orphans", "-t", "10")


def capacity(stack: Stack, seconds: float = 3) -> float:
    """Requests per second the stack serves with 8 concurrent clients."""
    with LoadLoop(f"{stack.base_url}/api", threads=8, pause_s=0) as load:
        time.sleep(seconds)  # the window the rate is measured over
        done = len(load.results)
    return done / seconds


def test_overload_is_answered_fast_and_recovers_in_seconds(chaos_stack: Stack, tmp_path: Path, tally) -> None:
    rate = max(30, round(3 * capacity(chaos_stack)))
    summary = tmp_path / "overload.json"
    run = subprocess.run([str(K6), "run", "--quiet", "-e", f"BASE_URL={chaos_stack.base_url}",
                          "-e", f"RATE={rate}", "-e", "DURATION=10s", "-e", f"SUMMARY_JSON={summary}",
                          str(ROOT / "k6" / "overload.js")], capture_output=True, text=True, timeout=300)
    stopped = time.monotonic()
    statuses = []
    with httpx.Client(base_url=chaos_stack.base_url, timeout=10) as client:
        while time.monotonic() - stopped < 8:  # a window: when the errors stop is what is measured
            statuses.append((time.monotonic() - stopped, client.get("/api").status_code))
            time.sleep(0.1)  # 10 probes a second, not a flood of its own
    result = json.loads(summary.read_text())
    last_error = max((t for t, code in statuses if code != 200), default=0.0)
    tally(f"{run.stdout.strip()}; after the flood, last error at {last_error:.1f} s")
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert result["shed"]["count"] > 0, "3x capacity must shed something"
    assert result["shed"]["p95_ms"] < 500 and result["health"]["p95_ms"] < 500
    assert last_error < 3, f"errors went on {last_error:.1f} s after the load stopped"
    assert statuses[-20:] and all(code == 200 for _, code in statuses[-20:])


def slow_client(stack: Stack) -> socket.socket:
    host, port = stack.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    return sock


def test_slow_clients_are_cut_off_while_others_are_served(chaos_stack: Stack, tally) -> None:
    slow = [slow_client(chaos_stack) for _ in range(300)]
    started = time.monotonic()
    with LoadLoop(f"{chaos_stack.base_url}/api", threads=2, pause_s=0.2) as load:
        for tick in range(6):  # a header line every 2 s: slower than any real client
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.sendall(f"X-Slow-{tick}: 1\r\n".encode())
            time.sleep(2)
        closed_at = []
        for sock in slow:
            sock.settimeout(max(1, 15 - (time.monotonic() - started)))
            try:
                reply = sock.recv(1024)
            except OSError:
                reply = b"timeout"
            closed_at.append(time.monotonic() - started)
            assert reply == b"" or reply.startswith(b"HTTP/1.1 408"), reply[:100]
            sock.close()
    tally(f"300 slow clients all cut off by {max(closed_at):.1f} s; meanwhile {load.summary()}")
    assert max(closed_at) < 15, "nginx's client_header_timeout (10 s) did not cut them off"
    assert len(load.results) > 10 and load.failed == [], chaos_stack.explain(load.failed)
