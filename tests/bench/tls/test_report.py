"""bench/tls/report.py and the search's start points: ratios against the plain baseline, CPU
per request, and the committed 2-core runs (docs/benchmarks/2core-tls/, and the one before it
in earlier/) rendered again."""

import json

import pytest

from bench.tls import report
from bench.tls.command import start_of_search
from bench.tls.modes import H2, HTTPS, HTTPS_NEW, PLAIN
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

COMMITTED = ROOT / "docs" / "benchmarks" / "2core-tls"


def _measured(requests: int, nginx_s: float, replicas_s: float, client_s: float) -> dict:
    return {"requests": requests, "client_cpu_s": client_s,
            "resources": {"proxy_cpu_s": nginx_s, "replicas_cpu_s": replicas_s}}


def test_cpu_per_request_in_microseconds() -> None:
    us = report.cpu_us(_measured(2000, 0.1, 0.3, 0.5))
    assert us == pytest.approx({"nginx": 50, "replicas": 150, "edge": 200, "client": 250})
    assert report.cpu_us({**_measured(0, 0.1, 0.3, 0.5)})["nginx"] is None
    missing = report.cpu_us({"requests": 10, "client_cpu_s": 0.1, "resources": None})
    assert (missing["nginx"], missing["edge"]) == (None, None)


def _mode(key: str, label: str, capacity: float, nginx_s: float, new: bool = False) -> dict:
    cpu = {**_measured(1000, nginx_s, 0.2, 0.4), "k6": {"protocols": {"HTTP/1.1": 1000, "HTTP/2.0": 0},
                                                         "tls_handshaking_ms": 0.5 if new else 0.0},
           "nginx_log": {"text": "seen", "resumed": 0, "new_connections": 1000 if new else 10}}
    return {"key": key, "label": label, "capacity": capacity, "p50_ms": 1.25, "new_connections": new, "cpu": cpu}


def test_every_row_is_read_against_the_plain_baseline() -> None:
    summary = {"p95_bound_ms": 100, "modes": [_mode("http1", "plain", 1000, 0.05),
                                              _mode("https1-new", "new", 250, 0.2, new=True)],
               "resumption_offered": {"tls1_3": {"first": "New, TLSv1.3", "offered": "Reused, TLSv1.3"}}}
    header, plain, new = report.capacity_table(summary)
    assert header[1] == "Capacity (p95 < 100 ms)"
    assert plain[1:7] == ["1000 req/s", "1.00x", "1.2 ms", "50 us", "1.00x", "200 us"]
    assert new[1:3] == ["250 req/s", "0.25x"] and new[4:6] == ["200 us", "4.00x"]
    assert new[7:9] == ["400 us", "1.60x"]  # nginx + replicas: (200 + 200) / (50 + 200)
    assert new[10] == "HTTP/1.1 1000; TLS handshake 0.50 ms/req"
    line = report.resumption_line(summary)
    assert "resumed 0 of the 1000 TLS sessions" in line and 'tls1_3: "Reused, TLSv1.3"' in line


def test_each_search_starts_from_the_row_it_should_be_near() -> None:
    found = {"http1": {"capacity": 1000.0}, "https1": {"capacity": 800.0}}
    assert start_of_search(PLAIN, found, 123.0) == 123.0
    assert start_of_search(HTTPS, found, 123.0) == 1000.0
    assert start_of_search(HTTPS_NEW, found, 123.0) == 400.0
    assert start_of_search(H2, found, 123.0) == 800.0


def test_h2loads_traffic_per_answer_when_the_run_recorded_it() -> None:
    def run(label: str, headers: int, saved: float) -> dict:
        return {"label": label, "requests": 1000,
                "result": {"header_bytes": headers, "data_bytes": 23000, "header_savings_pct": saved}}
    summary = {"h2load": [run("plain", 133000, 0.0), run("h2", 106000, 37.28)]}
    assert report.traffic_line(summary) == ("h2load's traffic per answer: plain: 133 bytes of headers, 23 of body; "
                                            "h2: 106 bytes of headers (HPACK saved 37%), 23 of body.")
    assert report.traffic_line({"h2load": [{"label": "old", "requests": 1000, "result": {}}]}) == ""


@pytest.mark.parametrize("folder", [COMMITTED, COMMITTED / "earlier"], ids=["last", "earlier"])
def test_the_committed_run_renders_with_every_row_and_ratio(folder) -> None:
    summary = json.loads((folder / "tls.json").read_text())
    assert [m["key"] for m in summary["modes"]] == ["http1", "https1", "https1-new", "h2"]
    assert summary["machine"]["cores"] == 2
    rows = report.capacity_table(summary)
    assert rows[1][2] == "1.00x"
    assert len(report.h2load_table(summary)) == 4
    md = report.markdown(summary)
    assert md.splitlines()[0] == f"# HTTPS and HTTP/2 at the edge {summary['started']}"
    assert md == (folder / "report.md").read_text(), "report.md is tls.json rendered"
