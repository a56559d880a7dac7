"""MONITOR=1: the compose profile, k6's remote write and the PromQL read back per run."""

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
