"""The four ways a client reaches the edge that `bench tls` compares, and what nginx's log
says each one did.

Every mode runs the same stack, replicas and path; only nginx's listener and k6's client
differ. k6 speaks HTTP/2 whenever ALPN offers it, so the HTTP/1.1 modes set
GODEBUG=http2client=0 (k6 >= 0.36 honours it); a new connection per request is k6's
noConnectionReuse (K6_NO_CONNECTION_REUSE). k6 verifies the certificate against the bench's
own CA (SSL_CERT_FILE, which Go reads), and connects to nginx's container address directly
(CONNECT_TO, k6/tls.js's `hosts`), so Docker's userland port proxy is not in the path.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..settings import ROOT, BenchError

# The cheap job of `bench rate`: a real /api request (validation, admission, the job), whose
# own CPU is small, so that the edge's share shows.
PATH = "/api?n=1000"
HOST = "localhost"                 # the name the bench's certificate is for (scripts/certs.sh)


def listen_port(conf: Path) -> int:
    """The port of the one `listen` directive in an nginx file."""
    ports = re.findall(r"^\s*listen\s+(\d+)\b", conf.read_text(), re.MULTILINE)
    if len(ports) != 1:
        raise BenchError(f"expected one `listen PORT` in {conf}, found {ports}: bench/tls/modes.py reads "
                         "nginx's ports from it")
    return int(ports[0])


# nginx's ports inside its container, where the bench measures (its container address, not
# a published port): plain HTTP, and the HTTPS listener that NGINX_TLS=on adds.
PLAIN_PORT = listen_port(ROOT / "nginx" / "sites" / "api.conf")
TLS_PORT = listen_port(ROOT / "nginx" / "tls-on.conf")


@dataclass(frozen=True)
class Mode:
    key: str
    label: str
    tls: bool
    protocol: str                  # what k6's `proto` tag must say for every request
    new_connections: bool = False  # noConnectionReuse: a TCP connection and a full handshake each

    @property
    def port(self) -> int:
        return TLS_PORT if self.tls else PLAIN_PORT

    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    def k6_env(self, address: str, ca_file: str, user_agent: str | None = None) -> dict[str, str | None]:
        """k6's environment for this mode (None: unset, so no other mode's value lingers).
        user_agent (K6_USER_AGENT, k6's own option) marks one run's lines in nginx's log."""
        return {"CONNECT_TO": address, "SSL_CERT_FILE": ca_file if self.tls else None,
                "GODEBUG": "http2client=0" if self.protocol == "HTTP/1.1" else None,
                "K6_NO_CONNECTION_REUSE": "true" if self.new_connections else None,
                "K6_USER_AGENT": user_agent}


PLAIN = Mode("http1", "HTTP/1.1, plain, keep-alive (baseline)", tls=False, protocol="HTTP/1.1")
HTTPS = Mode("https1", "HTTPS, HTTP/1.1, keep-alive", tls=True, protocol="HTTP/1.1")
HTTPS_NEW = Mode("https1-new", "HTTPS, HTTP/1.1, a new connection per request", tls=True, protocol="HTTP/1.1",
                 new_connections=True)
H2 = Mode("h2", "HTTP/2 over TLS (ALPN)", tls=True, protocol="HTTP/2.0")
MODES = (PLAIN, HTTPS, HTTPS_NEW, H2)
TLS_MODES = tuple(m for m in MODES if m.tls)

# What the bench's copy of nginx's access log adds to each line: the protocol nginx spoke, the
# TLS version, cipher and key exchange group, whether the TLS session was resumed ("r") or new
# ("."), and how many requests the connection had carried. The same copy serves every mode,
# the baseline included.
LOG_FIELDS = ('"server_protocol":"$server_protocol","ssl_protocol":"$ssl_protocol",'
              '"ssl_cipher":"$ssl_cipher","ssl_curve":"$ssl_curve",'
              '"ssl_session_reused":"$ssl_session_reused","connection_requests":$connection_requests,')
ANCHOR = '"user_agent":'


def logging_conf(shipped: str) -> str:
    """nginx/conf.d/logging.conf with LOG_FIELDS in its JSON log format."""
    if shipped.count(ANCHOR) != 1:
        raise BenchError(f"nginx/conf.d/logging.conf's log format has no single {ANCHOR} field to add "
                         "the TLS fields before: bench/tls/modes.py and it disagree")
    return shipped.replace(ANCHOR, LOG_FIELDS + ANCHOR, 1)


@dataclass
class Seen:
    """What nginx logged for the measured path during one run."""

    requests: int = 0
    new_connections: int = 0     # requests that were the first on their connection
    resumed: int = 0             # of those over TLS: a resumed session (an abbreviated handshake)
    protocols: Counter[str] = field(default_factory=Counter)
    tls: Counter[str] = field(default_factory=Counter)
    ciphers: Counter[str] = field(default_factory=Counter)  # "TLS_AES_128_GCM_SHA256, X25519"

    def to_dict(self) -> dict[str, object]:
        return {"requests": self.requests, "new_connections": self.new_connections, "resumed": self.resumed,
                "protocols": dict(self.protocols), "tls": dict(self.tls), "ciphers": dict(self.ciphers)}

    def text(self) -> str:
        if not self.requests:
            return "-"
        tls = ", ".join(sorted(self.tls)) or "no TLS"
        if self.ciphers:
            tls += f" ({'; '.join(sorted(self.ciphers))})"
        handshakes = f", {self.resumed} resumed" if self.tls else ""
        return (f"{'/'.join(sorted(self.protocols))}, {tls}; {self.new_connections} connections "
                f"for {self.requests} requests{handshakes}")


def tally(lines: Iterable[str], path: str = PATH, user_agent: str | None = None) -> Seen:
    """Count nginx's JSON access-log lines for `path`, and only user_agent's if given (docker
    logs' output: other lines, such as the error log's, are skipped)."""
    seen = Seen()
    for line in lines:
        try:
            entry = json.loads(line[line.index("{"):])
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("request", "").split(" ")[1:2] != [path]:
            continue
        if user_agent is not None and entry.get("user_agent") != user_agent:
            continue
        seen.requests += 1
        seen.protocols[entry.get("server_protocol", "?")] += 1
        first = entry.get("connection_requests") == 1
        seen.new_connections += first
        if entry.get("ssl_protocol"):
            seen.tls[entry["ssl_protocol"]] += 1
            seen.resumed += first and entry.get("ssl_session_reused") == "r"
            cipher = ", ".join(filter(None, (entry.get("ssl_cipher"), entry.get("ssl_curve"))))
            if cipher:
                seen.ciphers[cipher] += 1
    return seen


# nginx flushes its buffered access log every second (conf.d/logging.conf); Docker's log
# copier can lag behind that on a busy host.
LOG_EVERY_S = 1.5
LOG_DEADLINE_S = 30.0


def settled(read: Callable[[], Seen], served: int, every_s: float = LOG_EVERY_S, quiet_reads: int = 2,
            deadline_s: float = LOG_DEADLINE_S, sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], float] = time.monotonic) -> tuple[Seen, bool]:
    """Read nginx's log every every_s until it counts every request k6 saw answered
    (`served`): that tally and True. Short of that, it gives up once quiet_reads reads in a
    row add nothing (Docker kept less than nginx wrote), or at the deadline: the last tally
    and False."""
    deadline = clock() + deadline_s
    seen, quiet = read(), 0
    while seen.requests < served and quiet < quiet_reads and clock() + every_s <= deadline:
        sleep(every_s)
        before, seen = seen.requests, read()
        quiet = quiet + 1 if seen.requests == before else 0
    return seen, seen.requests >= served
