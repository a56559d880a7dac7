"""MONITOR=1: k6 writes its metrics to the stack's Prometheus, and each run reads the
replicas' metrics back over its own time window.

The PromQL lives here only, so docs/benchmark.md and the README quote these strings.
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

# One line each: what a reader pastes into Prometheus' expression browser.
RATE_BY_REPLICA = 'sum by (instance) (rate(api_requests_total{route="/api"}[30s]))'
QUEUE_WAIT_P95 = "histogram_quantile(0.95, sum by (le) (rate(api_job_wait_seconds_bucket[30s])))"
SHED_RATE = "sum(rate(api_shed_total[30s]))"
NGINX_RETRIES = "sum(rate(nginx_log_retried_requests_total[30s]))"
QUERIES = {"rate_by_replica": RATE_BY_REPLICA, "queue_wait_p95": QUEUE_WAIT_P95, "shed_rate": SHED_RATE,
           "nginx_retries": NGINX_RETRIES}
STEP_S = 2
TREND_STATS = "p(95),avg,max"


@dataclass(frozen=True)
class Monitoring:
    """Each query evaluated every STEP_S over the run's window, then averaged."""

    testid: str
    start: float            # unix seconds
    end: float
    api_rps_by_replica: dict[str, float] = field(default_factory=dict)
    queue_wait_p95_ms: float | None = None
    shed_rps: float | None = None
    nginx_retry_rps: float | None = None
    note: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Monitoring:
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def k6_remote_write(prometheus: str, testid: str) -> tuple[list[str], dict[str, str]]:
    """k6's arguments and environment for Prometheus remote write (built into k6 >= 0.42)."""
    env = {"K6_PROMETHEUS_RW_SERVER_URL": f"{prometheus}/api/v1/write",
           "K6_PROMETHEUS_RW_TREND_STATS": TREND_STATS}
    return ["-o", "experimental-prometheus-rw", "--tag", f"testid={testid}"], env


def _get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        body: bytes = answer.read()
        return body


def ready(prometheus: str, wait_s: float = 60) -> bool:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            _get(f"{prometheus}/-/ready", timeout=2)
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(1)


def scrape_interval_s(config_yaml: str, default: float = 15) -> float:
    """global.scrape_interval from /api/v1/status/config (its YAML as a string)."""
    match = re.search(r"scrape_interval:\s*(\d+)(ms|s|m)\b", config_yaml)
    if not match:
        return default
    return int(match[1]) * {"ms": 0.001, "s": 1, "m": 60}[match[2]]


def series_means(result: list[dict[str, Any]], label: str = "") -> dict[str, float]:
    """A query_range matrix -> the mean of each series' numeric values, keyed by `label`."""
    means = {}
    for series in result:
        values = [float(v) for _, v in series.get("values", [])]
        values = [v for v in values if math.isfinite(v)]
        if values:
            means[series.get("metric", {}).get(label, "")] = sum(values) / len(values)
    return means


def query_range(prometheus: str, query: str, start: float, end: float) -> list[dict[str, Any]]:
    args = urllib.parse.urlencode({"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": STEP_S})
    answer = json.loads(_get(f"{prometheus}/api/v1/query_range?{args}"))
    if answer.get("status") != "success":
        raise ValueError(f"Prometheus refused {query!r}: {answer.get('error')}")
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def _one(means: dict[str, float], scale: float = 1) -> float | None:
    return round(next(iter(means.values())) * scale, 3) if means else None


def collect(prometheus: str, testid: str, start: float, end: float) -> Monitoring:
    """Waits one scrape interval, so the run's last seconds are in, then asks each query."""
    try:
        config = json.loads(_get(f"{prometheus}/api/v1/status/config")).get("data", {}).get("yaml", "")
        time.sleep(min(scrape_interval_s(config), 15) + 1)
        got = {name: query_range(prometheus, q, start, end) for name, q in QUERIES.items()}
    except (OSError, ValueError) as exc:
        return Monitoring(testid, start, end, note=f"Prometheus did not answer: {exc}")
    rates = {k: round(v, 2) for k, v in series_means(got["rate_by_replica"], "instance").items()}
    empty = [name for name, result in got.items() if not series_means(result)]
    note = f"no samples for {', '.join(empty)} in the window" if empty else ""
    return Monitoring(testid, start, end, rates, _one(series_means(got["queue_wait_p95"]), 1000),
                      _one(series_means(got["shed_rate"])), _one(series_means(got["nginx_retries"])), note)
