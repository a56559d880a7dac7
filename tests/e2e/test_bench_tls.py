"""`make bench-tls`, end to end but tiny: every row runs and every file is written, and the
rows are what they say (k6's protocol, nginx's connections and TLS, h2load's ALPN).

Only the shape of the results is checked, never a speed: CI machines differ too much.
"""

import json
import subprocess
from pathlib import Path

import pytest

from tests import ports
from tests.e2e.conftest import make_bench

PROJECT = "pycluster-bench-tls-e2e"


@pytest.fixture(scope="module")
def bench(docker: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    results = tmp_path_factory.mktemp("results")
    # HTTPS is published on a free port (the bench sets HTTPS_PORT empty) and measured on
    # nginx's container address: only the plain HTTP port needs to be this test's own.
    done = make_bench("bench-tls", PROJECT, results, SCALE="2", SWEEP_RUNS="1", SWEEP_DURATION="2s",
                      DURATION="2s", HTTP_PORT=str(ports.BENCH_TLS_HTTP))
    runs = list((results / "tls").iterdir())
    assert len(runs) == 1, f"expected one results/tls/<timestamp>/ folder, found {runs}"
    return done, runs[0]


def _summary(out: Path) -> dict:
    return json.loads((out / "tls.json").read_text())


@pytest.mark.e2e
def test_every_row_ran_on_the_protocol_it_names(bench: tuple) -> None:
    _, out = bench
    modes = {m["key"]: m for m in _summary(out)["modes"]}
    assert list(modes) == ["http1", "https1", "https1-new", "h2"]
    for key, mode in modes.items():
        k6 = mode["cpu"]["k6"]
        assert {p for p, n in k6["protocols"].items() if n} == {mode["protocol"]}, key
        assert mode["cpu"]["requests"] > 0 and mode["search"], key
        assert mode["cpu"]["resources"]["proxy_cpu_s"] is not None, key
        assert (k6["tls_handshaking_ms"] > 0) == mode["tls"], key
        seen = mode["cpu"]["nginx_log"]
        assert seen["complete"] and seen["requests"] >= mode["cpu"]["requests"], key
        assert set(seen["tls"]) == ({"TLSv1.3"} if mode["tls"] else set()), key
        assert len(seen["ciphers"]) == mode["tls"], f"{key}: one cipher and group for every TLS request"


@pytest.mark.e2e
def test_a_new_connection_per_request_is_a_full_handshake_each(bench: tuple) -> None:
    _, out = bench
    summary = _summary(out)
    seen = next(m for m in summary["modes"] if m["key"] == "https1-new")["cpu"]["nginx_log"]
    assert seen["complete"] and seen["requests"] > 0 and seen["new_connections"] == seen["requests"]
    assert seen["resumed"] == 0, "k6 offers no session to resume"
    assert {v: p["offered"].split(",")[0] for v, p in summary["resumption_offered"].items()} == {
        "tls1_3": "Reused", "tls1_2": "Reused"}, "nginx resumes a session that is offered (shared cache, no tickets)"


@pytest.mark.e2e
def test_h2load_negotiated_each_protocol_on_kept_connections(bench: tuple) -> None:
    _, out = bench
    runs = {r["key"]: r for r in _summary(out)["h2load"]}
    assert {k: r["result"]["protocol"] for k, r in runs.items()} == {
        "http1": "http/1.1", "https1": "http/1.1", "h2": "h2"}
    for key, run in runs.items():
        assert run["result"]["succeeded"] == run["requests"] > 0 and run["result"]["failed"] == 0, key
    assert runs["h2"]["result"]["tls"].startswith("TLSv1.3")
    assert runs["h2"]["result"]["header_savings_pct"] > 0, "HPACK"
    assert runs["https1"]["result"]["header_savings_pct"] == 0, "HTTP/1.1 sends its headers as they are"


@pytest.mark.e2e
def test_report_and_table(bench: tuple) -> None:
    done, out = bench
    report = (out / "report.md").read_text()
    for text in ("| HTTP/1.1, plain, keep-alive (baseline) | ", "| HTTP/2 over TLS (ALPN) | ", "Session resumption:",
                 "| h2load, closed loop |", "h2load's traffic per answer: "):
        assert text in report
    assert "HTTPS, HTTP/1.1, a new connection per request" in done.stdout
