"""bench/tls/h2load.py: the command for each keep-alive mode, and h2load 1.52's report read back
(data/: real reports from make bench-tls)."""

from pathlib import Path

import pytest

from bench.settings import BenchError
from bench.tls import h2load
from bench.tls.modes import H2, HTTPS, HTTPS_NEW, PLAIN, PLAIN_PORT, TLS_PORT

pytestmark = pytest.mark.unit

DATA = Path(__file__).parent / "data"


def test_http2_multiplexes_what_http1_spreads_over_connections() -> None:
    h2 = h2load.command("h2load", H2, "10.0.0.2", 8000)
    assert h2[:5] == ["h2load", "-c", "8", "-m", "4"] and "--h1" not in h2
    h1 = h2load.command("h2load", HTTPS, "10.0.0.2", 8000)
    assert h1[:6] == ["h2load", "--h1", "-c", "32", "-m", "1"]
    assert h2load.H2_CONNECTIONS * h2load.H2_STREAMS == h2load.CONNECTIONS, "the same requests in flight"
    assert h1[-3:] == ["--connect-to", f"10.0.0.2:{TLS_PORT}", f"https://localhost:{TLS_PORT}/api?n=1000"]
    assert h2load.command("h2load", PLAIN, "10.0.0.2", 8000)[-5:] == [
        "-n", "8000", "--connect-to", f"10.0.0.2:{PLAIN_PORT}", f"http://localhost:{PLAIN_PORT}/api?n=1000"]


def test_no_http2_connection_reaches_nginxs_keepalive_requests(tmp_path: Path) -> None:
    """nginx ends a connection after keepalive_requests; h2load would not reconnect its HTTP/2 client."""
    assert h2load.keepalive_requests(h2load.BASICS.read_text()) == 10000  # nginx/conf.d/basics.conf
    assert h2load.keepalive_requests("# keepalive_requests 5;\n") == 1000, "nginx's default"
    assert h2load.requests(20) == 9000 * h2load.H2_CONNECTIONS
    assert h2load.requests(2) == 1000 * h2load.H2_CONNECTIONS
    low = tmp_path / "basics.conf"
    low.write_text("keepalive_requests 100;\n")
    assert h2load.requests(20, low) == 90 * h2load.H2_CONNECTIONS


def test_h2load_has_no_connection_per_request_mode() -> None:
    with pytest.raises(BenchError, match="keeps its connections"):
        h2load.command("h2load", HTTPS_NEW, "10.0.0.2", 8000)


def test_an_http2_report_over_tls() -> None:
    r = h2load.parse((DATA / "h2load-h2.txt").read_text())
    assert (r.rps, r.done, r.succeeded, r.failed, r.non_2xx) == (6692.5, 13385, 13385, 0, 0)
    assert r.mean_ms == pytest.approx(4.67)
    assert r.protocol == "h2" and r.tls == "TLSv1.3, TLS_AES_128_GCM_SHA256, X25519"
    assert (r.traffic_bytes, r.header_bytes, r.data_bytes) == (1967791, 1418810, 307855)
    assert r.header_savings_pct == pytest.approx(37.28), "HPACK"


def test_a_plain_http1_report_has_no_tls() -> None:
    r = h2load.parse((DATA / "h2load-http1.txt").read_text())
    assert (r.rps, r.protocol, r.tls) == (6427.5, "http/1.1", "")
    assert r.mean_ms == pytest.approx(4.97)
    assert (r.header_bytes, r.header_savings_pct) == (1778406, 0.0)


def test_a_report_without_its_traffic_line_still_reads() -> None:
    text = "\n".join(ln for ln in (DATA / "h2load-h2.txt").read_text().splitlines() if not ln.startswith("traffic:"))
    r = h2load.parse(text)
    assert r.done == 13385 and (r.traffic_bytes, r.header_savings_pct) == (None, None)


def test_times_in_any_unit_and_failures_of_every_kind() -> None:
    text = (DATA / "h2load-h2.txt").read_text()
    text = text.replace("time for request:      348us     21.71ms      4.67ms",
                        "time for request:      348us      1.20s       950us")
    text = text.replace("0 failed, 0 errored, 0 timeout", "2 failed, 3 errored, 4 timeout")
    text = text.replace("13385 2xx, 0 3xx, 0 4xx, 0 5xx", "13380 2xx, 0 3xx, 1 4xx, 4 5xx")
    r = h2load.parse(text)
    assert (r.mean_ms, r.failed, r.non_2xx) == (pytest.approx(0.95), 9, 5)


def test_a_report_without_its_totals_names_the_missing_line() -> None:
    with pytest.raises(BenchError, match="'finished in'"):
        h2load.parse("starting benchmark...\nconnect: Connection refused\n")
