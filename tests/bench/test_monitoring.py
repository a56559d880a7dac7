"""MONITOR=1: the compose profile, k6's remote write and the PromQL read back per run."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from bench import docker_stack, monitoring
from bench.model import Compare, Run
from bench.monitoring import Monitoring
from bench.profiles import MANY, NODE, WORKERS
from bench.progress import Progress
from bench.report import compare_table
from bench.settings import Settings

pytestmark = pytest.mark.unit


def test_k6_writes_to_prometheus_with_a_testid_tag() -> None:
    args, env = monitoring.k6_remote_write("http://127.0.0.1:29090", "20261129-1200-many")
    assert args == ["-o", "experimental-prometheus-rw", "--tag", "testid=20261129-1200-many"]
    assert env["K6_PROMETHEUS_RW_SERVER_URL"] == "http://127.0.0.1:29090/api/v1/write"
    assert env["K6_PROMETHEUS_RW_TREND_STATS"] == "p(95),avg,max"


def test_series_means_skip_nan_and_key_by_label() -> None:
    result = [{"metric": {"instance": "172.18.0.3:8000"}, "values": [[1, "10"], [3, "NaN"], [5, "20"]]},
              {"metric": {"instance": "172.18.0.4:8000"}, "values": [[1, "NaN"]]}]
    assert monitoring.series_means(result, "instance") == {"172.18.0.3:8000": 15.0}


def test_scrape_interval_from_prometheus_config() -> None:
    assert monitoring.scrape_interval_s("global:\n  scrape_interval: 5s\n") == 5
    assert monitoring.scrape_interval_s("global: {}\n") == 15


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
    """Answers the two calls collect() makes, the way Prometheus' HTTP API does."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/api/v1/status/config":
            body = {"status": "success", "data": {"yaml": "global:\n  scrape_interval: 5s\n"}}
        else:
            query = urllib.parse.parse_qs(url.query)["query"][0]
            FakePrometheus.asked.append(query)
            series = {monitoring.RATE_BY_REPLICA: [{"metric": {"instance": "a:8000"}, "values": [[1, "9"], [3, "11"]]}],
                      monitoring.QUEUE_WAIT_P95: [{"metric": {}, "values": [[1, "0.004"], [3, "0.006"]]}],
                      monitoring.SHED_RATE: [{"metric": {}, "values": [[1, "0"]]}]}.get(query, [])
            body = {"status": "success", "data": {"resultType": "matrix", "result": series}}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


def test_collect_averages_each_query_over_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    server = HTTPServer(("127.0.0.1", 0), FakePrometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    slept: list[float] = []
    monkeypatch.setattr(monitoring.time, "sleep", slept.append)
    try:
        got = monitoring.collect(f"http://127.0.0.1:{server.server_port}", "t1", 100.0, 120.0)
    finally:
        server.shutdown()
        server.server_close()
    assert slept == [6], "one scrape interval and a second, so the run's last samples are in"
    assert sorted(FakePrometheus.asked) == sorted(monitoring.QUERIES.values())
    assert got.api_rps_by_replica == {"a:8000": 10.0} and got.queue_wait_p95_ms == 5.0 and got.shed_rps == 0.0
    assert got.nginx_retry_rps is None and got.note == "no samples for nginx_retries in the window"


def test_collect_says_when_prometheus_is_gone() -> None:
    got = monitoring.collect("http://127.0.0.1:9", "t1", 1.0, 2.0)
    assert got.api_rps_by_replica == {} and got.note.startswith("Prometheus did not answer")
