"""The monitoring profile on a real stack: Prometheus finds every replica by DNS, follows
`make scale`, sees a hung replica go down and a killed one leave, and nginx keeps the
replicas' metrics off its public port."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests import ports
from tests.conftest import ROOT
from tests.e2e.conftest import MAX_N, Stack
from tests.e2e.load import LoadLoop
from tests.e2e.prom import Prometheus

pytestmark = pytest.mark.e2e

PROMETHEUS_PORT = ports.PROMETHEUS
SCALE_DEADLINE_S = 45  # the issue's bound for `make scale` to show in Prometheus' targets
REQUESTS_PER_REPLICA = 'sum by (instance) (api_requests_total{route="/api",status="200"})'


@pytest.fixture(scope="module")
def monitored(docker: None) -> Iterator[Stack]:
    stack = Stack("pycluster-e2e-mon", ports.MON_HTTP)
    stack.env.update(COMPOSE_PROFILES="monitoring", PROMETHEUS_PORT=str(PROMETHEUS_PORT), PROMETHEUS_BIND="127.0.0.1")
    stack.compose("down", "--remove-orphans", "--volumes", "-t", "5")
    stack.up(3)
    yield stack
    logs = ROOT / "results" / "e2e" / f"{stack.project}.log"
    logs.parent.mkdir(parents=True, exist_ok=True)
    logs.write_text(stack.compose("logs", "--no-color", "--timestamps"))
    stack.compose("down", "--remove-orphans", "--volumes", "-t", "10")


@pytest.fixture(scope="module")
def prometheus(monitored: Stack) -> Iterator[Prometheus]:
    prometheus = Prometheus(f"http://127.0.0.1:{PROMETHEUS_PORT}")
    yield prometheus
    prometheus.client.close()


def all_up(count: int):  # type: ignore[no-untyped-def]
    return lambda targets: len(targets) == count and set(targets.values()) == {"up"}


def at(stack: Stack, prometheus: Prometheus, count: int) -> dict[str, str]:
    """The stack at `count` replicas, each an api target that is up."""
    stack.scale(count)
    targets, _ = prometheus.wait(f"{count} api targets up", lambda: prometheus.targets("api"), all_up(count), 60)
    return targets


def test_prometheus_scrapes_every_replica_and_nginx_under_load(monitored: Stack, prometheus: Prometheus,
                                                              tally) -> None:
    targets = at(monitored, prometheus, 3)
    with LoadLoop(f"{monitored.base_url}/api?n=1000") as load:
        load.wait_for(90)
        counts, _ = prometheus.wait("an /api request series for each replica", lambda: prometheus.query(
            REQUESTS_PER_REPLICA), lambda c: c.keys() == targets.keys() and min(c.values()) > 0, 30)
    served = load.per_replica()
    replica_of = {s["instance"]: s["replica"] for s in prometheus.series('api_runtime_info{job="api"}')}
    tally(f"3 replicas under load: client saw {served}; Prometheus counted "
          f"{ {replica_of[i]: int(v) for i, v in counts.items()} }")
    assert not load.failed, load.summary()
    assert set(replica_of.values()) == monitored.replicas(), "one target per running replica, named as in X-Replica"
    for instance, count in counts.items():
        assert 0 < count <= served[replica_of[instance]], (instance, count, served)
    # The exporter may have been restarted (it exits when nginx does not answer at its start):
    # wait for a scrape that found it, and nginx, up.
    prometheus.wait("the nginx exporter scraped, nginx up", lambda: (
        prometheus.query('up{job="nginx"}'), prometheus.query("nginx_up")),
        lambda v: v == ({"nginx-exporter:9113": 1.0},) * 2, 20)
    # stub_status counts every request nginx took; its exporter is scraped on its own beat.
    prometheus.wait("nginx's request counter to pass the load's", lambda: prometheus.query(
        "nginx_http_requests_total")["nginx-exporter:9113"], lambda n: n >= len(load.results), 15)


def test_make_scale_to_5_gives_5_targets_in_time(monitored: Stack, prometheus: Prometheus, tally) -> None:
    at(monitored, prometheus, 3)
    compose = f"docker compose --project-directory {monitored.root} -p {monitored.project}"
    started = time.monotonic()
    done = subprocess.run(["make", "-C", str(ROOT), "scale", "SCALE=5", f"COMPOSE={compose}"],
                          capture_output=True, text=True, env=monitored.env, timeout=120)
    assert done.returncode == 0, done.stderr
    remaining = SCALE_DEADLINE_S - (time.monotonic() - started)
    prometheus.wait("5 api targets up", lambda: prometheus.targets("api"), all_up(5), remaining)
    took = time.monotonic() - started
    tally(f"make scale SCALE=5: 5 api targets up {took:.1f} s after the command started")
    assert took <= SCALE_DEADLINE_S


def instance_of(stack: Stack, container: str) -> str:
    networks = stack.inspect(container)["NetworkSettings"]["Networks"]
    (ip,) = [n["IPAddress"] for name, n in networks.items() if name.endswith("_backend")]
    return f"{ip}:8000"


def test_a_hung_replica_is_down_and_a_killed_one_leaves(monitored: Stack, prometheus: Prometheus, tally) -> None:
    at(monitored, prometheus, 3)
    victim = monitored.container_ids("api")[0]
    instance = instance_of(monitored, victim)
    # A hung replica (frozen, as by `docker pause`) keeps its DNS record: a target that is down.
    subprocess.run(["docker", "pause", victim], check=True, capture_output=True)
    try:
        _, down_after = prometheus.wait(f"{instance} down", lambda: prometheus.targets("api").get(instance),
                                        lambda health: health == "down", 30)
        up = prometheus.query(f'up{{job="api",instance="{instance}"}}')
        alert, _ = prometheus.wait("the replica-down alert", lambda: prometheus.series(
            f'ALERTS{{alertname="ApiReplicaDown",instance="{instance}"}}'), bool, 15)
    finally:
        subprocess.run(["docker", "kill", victim], check=True, capture_output=True)
    # A stopped container leaves Docker's DNS, so the next DNS refresh drops the target.
    left, left_after = prometheus.wait(f"{instance} leaves", lambda: prometheus.targets("api"),
                                       lambda targets: instance not in targets, 30)
    tally(f"paused replica down after {down_after:.1f} s, alert {[a['alertstate'] for a in alert]}; "
          f"killed, it left the targets after {left_after:.1f} s")
    assert up == {instance: 0.0}
    assert alert[0]["alertstate"] in {"pending", "firing"}
    assert all_up(2)(left), left


def retried(line: dict) -> bool:
    """nginx lists each try: "503, 200" within one proxy_pass, "502 : 200" across @second_try."""
    return "," in line["upstream_status"] or ":" in line["upstream_status"]


def test_nginx_retries_are_counted_from_its_access_log(monitored: Stack, prometheus: Prometheus, tally) -> None:
    at(monitored, prometheus, 3)
    # No waiting allowed: a job sent to a busy replica is shed, and nginx retries it elsewhere.
    with monitored.with_api_env(API_MAX_WAIT_S="0"), \
            LoadLoop(f"{monitored.base_url}/api?n={MAX_N // 10}", threads=6, pause_s=0) as load:
        load.wait_for(150, timeout=60)
    def both() -> tuple[dict[str, float], dict[str, float]]:
        """nginx's log and the exporter's counts, read together: the probes of with_api_env's
        exit may still be on their way into the log, so one early read is not the total."""
        log = monitored.access_log()
        return ({"requests": len(log), "retried": sum(map(retried, log))},
                {"requests": prometheus.query("sum(nginx_log_requests_total)").get("", 0),
                 "retried": prometheus.query("sum(nginx_log_retried_requests_total)").get("", 0)})
    (expected, _), took = prometheus.wait("the exporter's counts to match nginx's log", both,
                                          lambda pair: pair[0] == pair[1], 30)
    why = {s["first_status"] for s in prometheus.series("nginx_log_retried_requests_total > 0")}
    tally(f"nginx logged {expected['requests']} requests, {expected['retried']} retried (first try: {why}); "
          f"Prometheus had the same counts {took:.1f} s later")
    assert expected["retried"] > 0, "the load must make nginx retry, or this proves nothing"
    assert "503" in why


def test_k6_writes_its_own_metrics_into_prometheus(monitored: Stack, prometheus: Prometheus, tmp_path: Path,
                                                    tally) -> None:
    """What `MONITOR=1 make bench` does (bench/resources/prometheus.py): k6's view beside the replicas'."""
    at(monitored, prometheus, 3)
    summary = tmp_path / "k6-summary.json"
    env = {**os.environ, "K6_PROMETHEUS_RW_SERVER_URL": f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/write"}
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "k6"), "run", "--quiet", "-o", "experimental-prometheus-rw",
         "--tag", "testid=e2e-remote-write", "-e", f"BASE_URL={monitored.base_url}", "-e", "API_PATH=/api?n=1000",
         "-e", "RATE=20", "-e", "DURATION=3s", "-e", f"SUMMARY_JSON={summary}", str(ROOT / "k6" / "api.js")],
        capture_output=True, text=True, timeout=120, env=env)
    assert summary.exists(), f"k6 wrote no summary (exit {run.returncode}):\n{run.stdout[-2000:]}{run.stderr[-2000:]}"
    completed = json.loads(summary.read_text())["completed"]
    written, _ = prometheus.wait("k6's requests in Prometheus", lambda: prometheus.query(
        'sum(k6_http_reqs_total{testid="e2e-remote-write"})').get("", 0), lambda n: n >= completed, 20)
    tally(f"k6 completed {completed} requests; Prometheus holds {written:.0f} k6 requests under its testid")
    assert completed > 0


def raw_get(port: int, target: str) -> tuple[int, dict[str, str], str]:
    """GET the request-target exactly as written: no client normalizes it first."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        connection.close()


@pytest.mark.parametrize("target", ["/metrics", "/metrics?format=prometheus", "/%6Detrics", "//metrics",
                                    "/./metrics", "/api/../metrics"])
def test_metrics_are_404_on_the_public_port(monitored: Stack, prometheus: Prometheus, target: str) -> None:
    at(monitored, prometheus, 3)  # and Prometheus scrapes each of them inside
    status, headers, body = raw_get(int(monitored.env["HTTP_PORT"]), target)
    assert status == 404, (status, body[:200])
    assert "api_requests_total" not in body and "x-replica" not in headers, "nginx answers, no replica"


def dashboard_and_rule_queries() -> list[str]:
    dashboard = json.loads((ROOT / "monitoring" / "grafana" / "dashboards" / "pycluster.json").read_text())
    panels = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", []) if t.get("expr")]
    rules = yaml.safe_load((ROOT / "monitoring" / "prometheus" / "alerts.yml").read_text())["groups"]
    return [e.replace("$__rate_interval", "1m") for e in panels] + [r["expr"] for g in rules for r in g["rules"]]


def test_every_dashboard_and_rule_query_runs_on_this_prometheus(monitored: Stack, prometheus: Prometheus) -> None:
    """Grafana cannot run offline, but its queries can: Prometheus itself parses each one."""
    queries = dashboard_and_rule_queries()
    assert len(queries) >= 15
    for promql in queries:
        prometheus.series(promql)  # asserts status "success": a bad query is a 400 with an error
