"""MONITOR=1: the compose profile, k6's remote write and the PromQL read back per run."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from bench.backends import docker_stack
from bench.model import Compare, Run
from bench.profiles import MANY, NODE, WORKERS
from bench.progress import Progress
from bench.report import compare_table
from bench.resources import prometheus
from bench.resources.prometheus import Monitoring
from bench.settings import Settings
from tests.conftest import ROOT

pytestmark = pytest.mark.unit


def test_k6_writes_to_prometheus_with_a_testid_tag() -> None:
    args, env = prometheus.k6_remote_write("http://127.0.0.1:29090", "20261129-1200-many")
    assert args == ["-o", "experimental-prometheus-rw", "--tag", "testid=20261129-1200-many"]
    assert env["K6_PROMETHEUS_RW_SERVER_URL"] == "http://127.0.0.1:29090/api/v1/write"
    assert env["K6_PROMETHEUS_RW_TREND_STATS"] == "p(95),avg,max"


def test_values_skip_nan_and_key_by_label() -> None:
    result = [{"metric": {"instance": "172.18.0.3:8000"}, "value": [1, "15"]},
              {"metric": {"instance": "172.18.0.4:8000"}, "value": [1, "NaN"]}]
    assert prometheus.values(result, "instance") == {"172.18.0.3:8000": 15.0}


def test_dashboards_get_30s_and_a_run_its_own_window() -> None:
    assert prometheus.promql(prometheus.RATE_BY_REPLICA) == \
        'sum by (instance) (rate(api_requests_total{route="/api"}[30s]))'
    assert prometheus.promql(prometheus.SHED_RATE, "20s") == "sum(rate(api_shed_total[20s]))"


def test_monitor_adds_the_compose_profile_except_for_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR", "1")
    monkeypatch.setenv("PROMETHEUS_PORT", "29090")
    settings = Settings.from_env()
    backend = docker_stack.DockerBackend(settings, Progress(0))
    assert backend._compose(MANY)[-2:] == ["--profile", "monitoring"]
    assert "--profile" not in backend._compose(NODE)
    assert docker_stack.compose_env(settings, WORKERS, 2, {})["PROMETHEUS_PORT"] == "29090"
    monkeypatch.setenv("MONITOR", "maybe")
    with pytest.raises(Exception, match="MONITOR"):
        Settings.from_env()


def test_monitored_runs_round_trip_and_show_the_promql_rows(compare_80rps: dict) -> None:
    watched = Monitoring("t", 1.0, 21.0, {"a:8000": 14.2, "b:8000": 14.0}, 3.5, 0.0, 0.1)
    run = Run.from_dict({**compare_80rps["runs"][0], "monitoring": watched.to_dict()})
    assert Run.from_dict(run.to_dict()) == run
    rows = {row[0]: row[1:] for row in compare_table(Compare.from_dict({**compare_80rps, "runs": [run.to_dict()]}))}
    assert rows["Prometheus: /api rate by replica"] == ["14.2, 14.0 req/s"]
    assert rows["Prometheus: p95 queue wait"] == ["3.5 ms"]


class FakePrometheus(BaseHTTPRequestHandler):
    """Answers instant queries the way Prometheus' HTTP API does."""

    asked: ClassVar[list[tuple[str, str]]] = []
    retries: ClassVar[list[dict[str, object]]] = []

    def do_GET(self) -> None:
        args = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        query, at = args["query"][0], args["time"][0]
        FakePrometheus.asked.append((query, at))
        window = prometheus.promql
        series = {window(prometheus.RATE_BY_REPLICA, "20s"): [{"metric": {"instance": "a:8000"}, "value": [1, "10"]}],
                  window(prometheus.QUEUE_WAIT_P95, "20s"): [{"metric": {}, "value": [1, "0.005"]}],
                  window(prometheus.SHED_RATE, "20s"): [{"metric": {}, "value": [1, "0"]}],
                  window(prometheus.NGINX_RETRIES, "20s"): FakePrometheus.retries,
                  prometheus.LOG_EXPORTER_UP: [{"metric": {}, "value": [1, "1"]}]}.get(query, [])
        data = json.dumps({"status": "success", "data": {"resultType": "vector", "result": series}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


def _collect(monkeypatch: pytest.MonkeyPatch) -> Monitoring:
    server = HTTPServer(("127.0.0.1", 0), FakePrometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(prometheus.time, "sleep", lambda _s: None)
    try:
        return prometheus.collect(f"http://127.0.0.1:{server.server_port}", "t1", 100.0, 120.2)
    finally:
        server.shutdown()
        server.server_close()


def test_collect_reads_each_query_over_the_run_at_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    FakePrometheus.asked.clear()
    got = _collect(monkeypatch)
    assert {at for _, at in FakePrometheus.asked} == {"120.200"}
    assert {q for q, _ in FakePrometheus.asked} >= {prometheus.promql(q, "20s") for q in prometheus.QUERIES.values()}
    assert got.api_rps_by_replica == {"a:8000": 10.0} and got.queue_wait_p95_ms == 5.0 and got.shed_rps == 0.0
    assert got.nginx_retry_rps == 0.0 and got.note == "", "no retry series while its exporter is up: none retried"


def test_collect_keeps_the_retries_it_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    FakePrometheus.retries = [{"metric": {}, "value": [1, "0.25"]}]
    try:
        assert _collect(monkeypatch).nginx_retry_rps == 0.25
    finally:
        FakePrometheus.retries = []


def test_collect_says_when_prometheus_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prometheus.time, "sleep", lambda _s: None)
    got = prometheus.collect("http://127.0.0.1:9", "t1", 1.0, 2.0)
    assert got.api_rps_by_replica == {} and got.note.startswith("Prometheus did not answer")


def test_the_docs_quote_the_promql_the_benchmark_runs() -> None:
    doc = (ROOT / "docs" / "benchmark.md").read_text()
    missing = [name for name, q in prometheus.QUERIES.items() if f"`{prometheus.promql(q)}`" not in doc]
    assert not missing, f"docs/benchmark.md lacks the PromQL of {missing} (bench/resources/prometheus.py)"
