"""bench/tls/modes.py: each mode's k6 environment, the log fields it adds to nginx's config,
and what it reads back from nginx's log and openssl s_client."""

import json

import pytest

from bench.settings import BenchError
from bench.tls import modes
from bench.tls.modes import H2, HTTPS, HTTPS_NEW, MODES, PLAIN
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

SHIPPED_LOGGING = (ROOT / "nginx" / "conf.d" / "logging.conf").read_text()


def test_one_baseline_first_then_the_tls_modes_in_the_tables_order() -> None:
    assert MODES == (PLAIN, HTTPS, HTTPS_NEW, H2)
    assert [m.tls for m in MODES] == [False, True, True, True]
    assert PLAIN.base_url() == "http://localhost:8080" and H2.base_url() == "https://localhost:8443"


def test_k6_is_held_to_http1_verifies_tls_and_drops_connections_only_where_asked() -> None:
    env = {m.key: m.k6_env("10.0.0.2", "/ca.pem") for m in MODES}
    assert {k: e["GODEBUG"] for k, e in env.items()} == {
        "http1": "http2client=0", "https1": "http2client=0", "https1-new": "http2client=0", "h2": None}
    assert {k: e["K6_NO_CONNECTION_REUSE"] for k, e in env.items()} == {
        "http1": None, "https1": None, "https1-new": "true", "h2": None}
    assert env["http1"]["SSL_CERT_FILE"] is None
    assert all(env[m.key]["SSL_CERT_FILE"] == "/ca.pem" for m in modes.TLS_MODES)
    assert all(e["CONNECT_TO"] == "10.0.0.2" for e in env.values())


def test_the_log_copy_adds_the_tls_fields_inside_the_shipped_format_once() -> None:
    copy = modes.logging_conf(SHIPPED_LOGGING)
    for variable in ("$server_protocol", "$ssl_protocol", "$ssl_session_reused", "$connection_requests"):
        assert SHIPPED_LOGGING.count(variable) == 0 and copy.count(variable) == 1
    assert copy.replace(modes.LOG_FIELDS, "") == SHIPPED_LOGGING
    assert "'" not in modes.LOG_FIELDS, "the fields go inside one of the format's quoted parts"


def test_a_log_format_without_its_anchor_is_refused() -> None:
    with pytest.raises(BenchError, match="user_agent"):
        modes.logging_conf("log_format json '{\"status\":$status}';")


def _line(request: str, protocol: str, tls: str = "", reused: str = ".", n: int = 1) -> str:
    return json.dumps({"request": request, "status": 200, "server_protocol": protocol, "ssl_protocol": tls,
                       "ssl_session_reused": reused if tls else "", "connection_requests": n, "user_agent": "k6"})


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
    assert seen.text() == "HTTP/1.1/HTTP/2.0, TLSv1.2, TLSv1.3; 2 connections for 4 requests, 1 resumed"


def test_plain_http_and_an_empty_log_read_plainly() -> None:
    plain = modes.tally([_line("GET /api?n=1000 HTTP/1.1", "HTTP/1.1", n=k) for k in (1, 2, 3)])
    assert plain.text() == "HTTP/1.1, no TLS; 1 connections for 3 requests"
    assert plain.to_dict()["tls"] == {} and plain.resumed == 0
    assert modes.tally([]).text() == "-"


def test_s_client_verdict() -> None:
    out = "CONNECTED(00000003)\n---\nReused, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384\nSecure Renegotiation\n"
    assert modes.handshake(out) == "Reused, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384"
    assert modes.handshake("New, TLSv1.2, Cipher is ECDHE-ECDSA-AES256-GCM-SHA384\n").startswith("New, TLSv1.2")
    assert modes.handshake("connect: Connection refused\n") == ""
