"""h2load (nghttp2), the second tool: a closed loop of a fixed number of requests in flight,
as fast as the edge answers, where k6 offers a fixed rate. Its own TLS (OpenSSL) and HTTP/2
code check that k6's numbers are not a Go client's.

h2load does not verify the certificate (it has no option to); it connects to nginx's
container address (--connect-to) and sends the certificate's name as SNI and :authority.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..settings import ROOT, BenchError
from .modes import PATH, Mode

CONNECTIONS = 32  # HTTP/1.1: 32 connections, one request in flight on each
H2_CONNECTIONS, H2_STREAMS = 8, 4  # HTTP/2: the same 32 in flight, as streams on 8 connections
# h2load counts requests, not time: nginx ends a connection after keepalive_requests, and
# h2load does not reconnect an HTTP/2 client (its requests then fail), so each HTTP/2
# connection carries fewer than that. Every mode sends the same total.
PER_CONNECTION_S = 500  # requests per HTTP/2 connection per second of DURATION, up to the limit
BASICS = ROOT / "nginx" / "conf.d" / "basics.conf"
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Result:
    rps: float
    done: int
    succeeded: int
    failed: int        # failed + errored + timeout, as h2load counts them
    non_2xx: int
    mean_ms: float     # "time for request": from sending to the whole answer
    protocol: str      # "Application protocol" (h2, http/1.1), as negotiated
    tls: str           # "TLSv1.3, TLS_AES_128_GCM_SHA256, X25519" or "" over plain HTTP
    # The "traffic:" line: bytes received, of them the answers' headers (as sent, so after
    # HPACK over HTTP/2) and bodies, and how much smaller HPACK made the headers (0 on HTTP/1.1).
    traffic_bytes: int | None = None
    header_bytes: int | None = None
    data_bytes: int | None = None
    header_savings_pct: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def keepalive_requests(basics: str) -> int:
    """nginx's keepalive_requests in conf.d/basics.conf (nginx's default: 1000)."""
    match = re.search(r"^\s*keepalive_requests\s+(\d+)\s*;", basics, re.MULTILINE)
    return int(match[1]) if match else 1000


def requests(seconds: float, basics: Path = BASICS) -> int:
    """The total for each mode: PER_CONNECTION_S a second on each HTTP/2 connection, and
    below nginx's keepalive_requests on each (9 in 10 of it)."""
    per_connection = min(round(PER_CONNECTION_S * seconds), keepalive_requests(basics.read_text()) * 9 // 10)
    return max(per_connection, 1) * H2_CONNECTIONS


def command(h2load: str, mode: Mode, address: str, total: int) -> list[str]:
    """h2load's arguments for a keep-alive mode: HTTP/2 multiplexed, or HTTP/1.1 (--h1)."""
    if mode.new_connections:
        raise BenchError(f"{mode.key}: h2load keeps its connections; it has no connection per request")
    shape = (["-c", str(H2_CONNECTIONS), "-m", str(H2_STREAMS)] if mode.protocol == "HTTP/2.0"
             else ["--h1", "-c", str(CONNECTIONS), "-m", "1"])
    return [h2load, *shape, "-n", str(total),
            "--connect-to", f"{address}:{mode.port}", f"{mode.base_url()}{PATH}"]


def find() -> str:
    found = shutil.which("h2load")
    if not found:
        raise BenchError("h2load not found: `make bench-tls` installs it (nghttp2-client), "
                         "or apt-get install nghttp2-client")
    return found


def _ms(number: str, unit: str) -> float:
    return float(number) * UNITS_MS[unit]


def parse(output: str) -> Result:
    """h2load's report (nghttp2 1.52) as a Result; a BenchError names what is missing."""
    def find_one(pattern: str, what: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if not match:
            raise BenchError(f"h2load's output has no {what} line:\n{output[-1500:]}")
        return match
    finished = find_one(r"^finished in [\d.]+m?s, ([\d.]+) req/s", "'finished in'")
    counts = find_one(r"^requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                      r"(\d+) errored, (\d+) timeout", "'requests:'")
    codes = find_one(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", "'status codes:'")
    request = find_one(r"^time for request:\s+[\d.]+[mu]?s\s+[\d.]+[mu]?s\s+([\d.]+)([mu]?s)", "'time for request:'")
    protocol = re.search(r"^Application protocol: (\S+)", output, re.MULTILINE)
    traffic = re.search(r"^traffic: \S+ \((\d+)\) total, \S+ \((\d+)\) headers \(space savings ([\d.]+)%\), "
                        r"\S+ \((\d+)\) data", output, re.MULTILINE)
    tls = [re.search(rf"^{name}: (.+)$", output, re.MULTILINE)
           for name in ("TLS Protocol", "Cipher", "Server Temp Key")]
    return Result(rps=float(finished[1]), done=int(counts[1]), succeeded=int(counts[2]),
                  failed=sum(int(counts[i]) for i in (3, 4, 5)), non_2xx=sum(int(codes[i]) for i in (2, 3, 4)),
                  mean_ms=_ms(request[1], request[2]), protocol=protocol[1] if protocol else "?",
                  tls=", ".join(m[1].split(" ")[0] for m in tls if m),
                  traffic_bytes=int(traffic[1]) if traffic else None, header_bytes=int(traffic[2]) if traffic else None,
                  data_bytes=int(traffic[4]) if traffic else None,
                  header_savings_pct=float(traffic[3]) if traffic else None)
