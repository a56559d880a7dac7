"""Bad and hostile input through the real front door: clear 4xx answers, never a 5xx."""

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import MAX_N, Stack

pytestmark = pytest.mark.e2e


def raw_request(stack: Stack, payload: bytes) -> bytes:
    host, port = stack.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(payload)
        return sock.recv(65536)


def test_schemathesis_fuzzing_through_nginx_finds_no_server_error(stack: Stack, tmp_path: Path, tally) -> None:
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [str(st), "run", f"{stack.base_url}/openapi.json", "--checks", "all", "--max-examples", "40",
         "--request-timeout", "15", "--seed", "1", "--no-color"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its cache stays out of the repo
    summary = [line.strip() for line in result.stdout.splitlines() if " generated" in line]
    tally(f"schemathesis: {' '.join(summary).strip()}")
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.mark.parametrize(("query", "problem"), [
    ("n=-1", "Input should be greater than or equal to 0"),
    (f"n={MAX_N + 1}", f"Input should be less than or equal to {MAX_N}"),
    ("n=lots", "Input should be a valid integer"),
])
def test_bad_n_gets_422_with_the_allowed_range(stack: Stack, query: str, problem: str) -> None:
    response = httpx.get(f"{stack.base_url}/api?{query}", timeout=10)
    assert response.status_code == 422
    message = response.json()["message"]
    assert problem in message
    assert message.endswith(f"Allowed: n is a whole number from 0 to {MAX_N}.")


def test_oversized_body_gets_413_json(stack: Stack) -> None:
    response = httpx.post(f"{stack.base_url}/api", content=b"x" * 100_000, timeout=10)
    assert response.status_code == 413
    assert "at most 64 KiB" in response.json()["detail"]


def test_oversized_header_is_refused(stack: Stack) -> None:
    response = httpx.get(f"{stack.base_url}/api", headers={"X-Big": "y" * 10_000}, timeout=10)
    assert response.status_code in {400, 431, 494}
    assert "header over 8 KiB" in response.json()["detail"]


def test_content_length_with_transfer_encoding_is_refused(stack: Stack) -> None:
    reply = raw_request(stack, b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 "), reply[:200]


def test_unknown_path_and_method(stack: Stack) -> None:
    missing = httpx.get(f"{stack.base_url}/no/such/thing", timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    trace = httpx.request("TRACE", f"{stack.base_url}/api", timeout=10)
    assert trace.status_code == 405
    assert trace.headers["allow"] == "GET"
    assert trace.json()["detail"].startswith("Method Not Allowed")


def test_an_http10_request_without_host_is_served(stack: Stack) -> None:
    """HTTP/1.0 needs no Host header; nginx sends the replica its own name instead of none
    (h11, the replicas' parser on PyPy, refuses an HTTP/1.1 request without one)."""
    host, port = stack.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /api?n=3 HTTP/1.0\r\n\r\n")
        reply = b"".join(iter(lambda: sock.recv(65536), b""))  # HTTP/1.0: nginx closes when done
    assert reply.startswith(b"HTTP/1.1 200 "), reply[:300]
    assert reply.endswith(b"Result number is 6"), reply[-100:]
