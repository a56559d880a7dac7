"""bench/tls/resumption.py: what s_client says, and the probe against openssl s_server on this machine: the
first connection reads an answer before it ends, so its saved session holds the TLS 1.3
ticket, and the next one resumes it, with no wait for the ticket."""

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.settings import BenchError
from bench.tls import resumption
from bench.tls.command import make_certs
from bench.tls.resumption import offer_session_again

pytestmark = [pytest.mark.unit, pytest.mark.skipif(not shutil.which("openssl"), reason="no openssl")]


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    return make_certs(tmp_path)


@pytest.fixture
def s_server(certs: Path) -> Iterator[int]:
    """openssl s_server -www (a status page for any GET) on a free port, for four connections."""
    with subprocess.Popen(["openssl", "s_server", "-accept", "0", "-www", "-naccept", "4",
                           "-cert", str(certs / "fullchain.pem"), "-key", str(certs / "privkey.pem")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        try:
            assert proc.stdout
            lines = []
            for line in proc.stdout:  # ends if s_server exits
                lines.append(line)
                if line.startswith("ACCEPT"):
                    break
            assert lines and lines[-1].startswith("ACCEPT"), f"s_server did not start: {lines}"
            yield int(lines[-1].rsplit(":", 1)[1])
        finally:
            proc.kill()


def test_a_session_saved_after_an_answer_is_resumed_on_tls_1_3_and_1_2(
        s_server: int, certs: Path, tmp_path: Path) -> None:
    found = offer_session_again("127.0.0.1", s_server, certs / "dev-ca.pem", tmp_path)
    assert {v: p["first"].split(",")[:2] for v, p in found.items()} == {
        "tls1_3": ["New", " TLSv1.3"], "tls1_2": ["New", " TLSv1.2"]}
    assert {v: p["offered"].split(",")[:2] for v, p in found.items()} == {
        "tls1_3": ["Reused", " TLSv1.3"], "tls1_2": ["Reused", " TLSv1.2"]}


def test_no_answer_is_an_error_not_a_verdict(certs: Path, tmp_path: Path) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(BenchError, match="no answer to GET /api"):
        offer_session_again("127.0.0.1", port, certs / "dev-ca.pem", tmp_path)


def test_s_client_verdict() -> None:
    out = "CONNECTED(00000003)\n---\nReused, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384\nSecure Renegotiation\n"
    assert resumption.handshake(out) == "Reused, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384"
    assert resumption.handshake("New, TLSv1.2, Cipher is ECDHE-ECDSA-AES256-GCM-SHA384\n").startswith("New, TLSv1.2")
    assert resumption.handshake("connect: Connection refused\n") == ""


def test_s_client_sends_one_request_and_finds_the_answer() -> None:
    request = resumption.s_client_request("/api?n=1000")
    assert request == "GET /api?n=1000 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    out = "CONNECTED(00000003)\n---\nNew, TLSv1.3, Cipher is X\n---\nHTTP/1.1 200 OK\nServer: nginx\n\n{}\nclosed\n"
    assert resumption.status_line(out) == "HTTP/1.1 200 OK"
    assert resumption.status_line("CONNECTED(00000003)\nNew, TLSv1.3, Cipher is X\n") == ""
