"""bench/tls/modes.py: nginx's ports, each mode's k6 environment, the log fields it adds to
nginx's config, and what it reads back from nginx's log and openssl s_client."""

import json
from pathlib import Path

import pytest

from bench.settings import BenchError
from bench.tls import modes
from bench.tls.modes import H2, HTTPS, HTTPS_NEW, MODES, PLAIN
from tests import rules_kit
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

SHIPPED_LOGGING = (ROOT / "nginx" / "conf.d" / "logging.conf").read_text()


def test_one_baseline_first_then_the_tls_modes_in_the_tables_order() -> None:
    assert MODES == (PLAIN, HTTPS, HTTPS_NEW, H2)
    assert [m.tls for m in MODES] == [False, True, True, True]
    assert PLAIN.base_url() == f"http://localhost:{modes.PLAIN_PORT}"
    assert H2.base_url() == f"https://localhost:{modes.TLS_PORT}"


def test_the_ports_are_nginx_listeners_that_compose_publishes() -> None:
    """Read from nginx's files (the bench measures on its container address); compose
    publishes the same container ports."""
    assert (modes.PLAIN_PORT, modes.TLS_PORT) == (8080, 8443)
    targets = {str(p).rsplit(":", 1)[-1] for p in rules_kit.NGINX["ports"]}
    assert {str(modes.PLAIN_PORT), str(modes.TLS_PORT)} <= targets


def test_a_file_without_one_listen_is_refused(tmp_path: Path) -> None:
    conf = tmp_path / "x.conf"
    conf.write_text("# listen 1;\nlisten 8443 ssl default_server;\n")
    assert modes.listen_port(conf) == 8443, "comments are not directives"
    for text in ("http2 on;\n", "listen 1;\nlisten 2;\n"):
        conf.write_text(text)
        with pytest.raises(BenchError, match="one `listen PORT`"):
            modes.listen_port(conf)


def test_k6_is_held_to_http1_verifies_tls_and_drops_connections_only_where_asked() -> None:
    env = {m.key: m.k6_env("10.0.0.2", "/ca.pem") for m in MODES}
    assert {k: e["GODEBUG"] for k, e in env.items()} == {
        "http1": "http2client=0", "https1": "http2client=0", "https1-new": "http2client=0", "h2": None}
    assert {k: e["K6_NO_CONNECTION_REUSE"] for k, e in env.items()} == {
        "http1": None, "https1": None, "https1-new": "true", "h2": None}
    assert env["http1"]["SSL_CERT_FILE"] is None
    assert all(env[m.key]["SSL_CERT_FILE"] == "/ca.pem" for m in modes.TLS_MODES)
    assert all(e["CONNECT_TO"] == "10.0.0.2" for e in env.values())
    assert all(e["K6_USER_AGENT"] is None for e in env.values())
    assert H2.k6_env("10.0.0.2", "/ca.pem", "bench-tls/cpu-h2")["K6_USER_AGENT"] == "bench-tls/cpu-h2"


def test_the_log_copy_adds_the_tls_fields_inside_the_shipped_format_once() -> None:
    copy = modes.logging_conf(SHIPPED_LOGGING)
    for variable in ("$server_protocol", "$ssl_protocol", "$ssl_cipher", "$ssl_curve", "$ssl_session_reused",
                     "$connection_requests"):
        assert SHIPPED_LOGGING.count(variable) == 0 and copy.count(variable) == 1
    assert copy.replace(modes.LOG_FIELDS, "") == SHIPPED_LOGGING
    assert "'" not in modes.LOG_FIELDS, "the fields go inside one of the format's quoted parts"


def test_a_log_format_without_its_anchor_is_refused() -> None:
    with pytest.raises(BenchError, match="user_agent"):
        modes.logging_conf("log_format json '{\"status\":$status}';")


def _line(request: str, protocol: str, tls: str = "", reused: str = ".", n: int = 1, agent: str = "k6") -> str:
    return json.dumps({"request": request, "status": 200, "server_protocol": protocol, "ssl_protocol": tls,
                       "ssl_cipher": "TLS_AES_128_GCM_SHA256" if tls else "", "ssl_curve": "X25519" if tls else "",
                       "ssl_session_reused": reused if tls else "", "connection_requests": n, "user_agent": agent})


def test_the_tally_counts_the_measured_path_its_connections_and_resumed_sessions() -> None:
    lines = [
        "2026/12/06 04:00:00 [notice] 1#1: signal process started",       # the error log: skipped
        _line("GET / HTTP/2.0", "HTTP/2.0", "TLSv1.3"),                  # k6's discovery: another path
        _line("GET /api?n=1000 HTTP/2.0", "HTTP/2.0", "TLSv1.3", ".", 1),
        _line("GET /api?n=1000 HTTP/2.0", "HTTP/2.0", "TLSv1.3", ".", 2),
        _line("GET /api?n=1000 HTTP/1.1", "HTTP/1.1", "TLSv1.2", "r", 1),  # a resumed session
        _line("GET /api?n=1000 HTTP/1.1", "HTTP/1.1", "TLSv1.2", "r", 2),  # ...its second request
        "{not json",
    ]
    seen = modes.tally(lines)
    assert (seen.requests, seen.new_connections, seen.resumed) == (4, 2, 1)
    assert seen.protocols == {"HTTP/2.0": 2, "HTTP/1.1": 2}
    assert seen.tls == {"TLSv1.3": 2, "TLSv1.2": 2}
    assert seen.ciphers == {"TLS_AES_128_GCM_SHA256, X25519": 4}
    assert seen.text() == ("HTTP/1.1/HTTP/2.0, TLSv1.2, TLSv1.3 (TLS_AES_128_GCM_SHA256, X25519); "
                           "2 connections for 4 requests, 1 resumed")


def test_the_tally_keeps_to_one_runs_user_agent() -> None:
    """Each CPU run sends its own User-Agent, so lines of the run before it that reach the
    log late are not counted as its own."""
    lines = [_line("GET /api?n=1000 HTTP/1.1", "HTTP/1.1", agent=agent, n=n)
             for agent, n in (("bench-tls/cpu-https1", 9), ("bench-tls/cpu-h2", 1), ("bench-tls/cpu-h2", 2))]
    assert modes.tally(lines).requests == 3
    mine = modes.tally(lines, user_agent="bench-tls/cpu-h2")
    assert (mine.requests, mine.new_connections) == (2, 1)


def test_plain_http_and_an_empty_log_read_plainly() -> None:
    plain = modes.tally([_line("GET /api?n=1000 HTTP/1.1", "HTTP/1.1", n=k) for k in (1, 2, 3)])
    assert plain.text() == "HTTP/1.1, no TLS; 1 connections for 3 requests"
    assert plain.to_dict()["tls"] == {} == plain.to_dict()["ciphers"] and plain.resumed == 0
    assert modes.tally([]).text() == "-"


class Log:
    """nginx's log as docker logs returns it over successive reads, on a clock the test moves."""

    def __init__(self, counts: list[int]) -> None:
        self.counts, self.now, self.reads = counts, 0.0, 0

    def read(self) -> modes.Seen:
        self.reads += 1
        return modes.Seen(requests=self.counts[min(self.reads, len(self.counts)) - 1])

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _settle(log: Log, served: int) -> tuple[int, bool]:
    seen, complete = modes.settled(log.read, served, every_s=1.5, deadline_s=30, sleep=log.sleep, clock=lambda: log.now)
    return seen.requests, complete


def test_the_log_is_read_until_it_counts_every_request_served() -> None:
    log = Log([0, 4000, 9000, 10000, 10000])
    assert _settle(log, 10000) == (10000, True) and log.reads == 4
    log = Log([10000])
    assert _settle(log, 10000) == (10000, True) and log.reads == 1, "no wait once it is all there"


def test_a_log_that_stops_short_is_incomplete_and_says_so() -> None:
    log = Log([0, 4000, 9000, 9000, 9000, 9500])
    assert _settle(log, 10000) == (9000, False)
    assert log.reads == 5, "two reads in a row that add nothing: Docker kept no more"


def test_a_log_that_keeps_growing_too_slowly_stops_at_the_deadline() -> None:
    log = Log(list(range(0, 100000, 10)))
    requests, complete = _settle(log, 10**6)
    assert not complete and requests == 200 and log.now <= 30 and log.reads == 21
