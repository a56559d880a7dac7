"""Does nginx resume a TLS session a client offers again? `openssl s_client` answers it, as
k6 (Go's client) never offers one: a connection saves its session once it has read an
answer, the next offers it, and s_client says "New" or "Reused"."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ..settings import BenchError
from .modes import HOST, PATH

S_CLIENT_S = 30          # one openssl s_client connection, answer included


def s_client_request(path: str = PATH) -> str:
    """What openssl s_client sends (with -ign_eof, it reads until nginx closes): one request
    that asks nginx to close after answering. Its answer comes after any TLS 1.3 session
    ticket, which the server sends right after the handshake, so once it is read, a session
    saved with -sess_out holds the ticket."""
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"


def status_line(s_client_output: str) -> str:
    """The answer's status line in s_client's output ("HTTP/1.1 200 OK"; "" if none came)."""
    return next((ln.strip() for ln in s_client_output.splitlines() if re.match(r"HTTP/\d(\.\d)? \d{3}", ln)), "")


def handshake(s_client_output: str) -> str:
    """`openssl s_client`'s verdict: "New, TLSv1.3, Cipher is ..." or "Reused, ..." ("" if none)."""
    return next((ln for ln in s_client_output.splitlines() if ln.startswith(("New, ", "Reused, "))), "")


def _s_client(cmd: list[str], path: str) -> str:
    """s_client's verdict line ("New, ..." or "Reused, ...") on a connection that sends one
    request and reads its answer, so that a TLS 1.3 session ticket, sent before the answer,
    has been read (and saved, with -sess_out) when it ends."""
    try:
        done = subprocess.run([*cmd, "-ign_eof"], input=s_client_request(path), capture_output=True,
                              text=True, timeout=S_CLIENT_S)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"openssl s_client got no complete answer in {S_CLIENT_S} s: {' '.join(cmd)}") from e
    if not status_line(done.stdout):
        raise BenchError(f"openssl s_client got no answer to GET {path}: {' '.join(cmd)}\n"
                         f"{done.stdout[-1500:]}{done.stderr[-1500:]}")
    return handshake(done.stdout)


def offer_session_again(address: str, port: int, ca_file: Path, folder: Path,
                        path: str = PATH) -> dict[str, dict[str, str]]:
    """Over TLS 1.3 and 1.2, one openssl s_client connection saves its session (-sess_out)
    once it has read an answer, and the next offers it (-sess_in): each one's verdict. (Not
    -reconnect: over TLS 1.3 it reconnects before the session ticket arrives, and so offers
    nothing.)"""
    found = {}
    for version in ("tls1_3", "tls1_2"):
        session = folder / f"{version}.session"
        cmd = ["openssl", "s_client", "-connect", f"{address}:{port}", "-servername", HOST,
               "-CAfile", str(ca_file), "-verify_return_error", f"-{version}"]
        first = _s_client([*cmd, "-sess_out", str(session)], path)
        found[version] = {"first": first, "offered": _s_client([*cmd, "-sess_in", str(session)], path)}
    return found
