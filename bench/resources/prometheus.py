"""MONITOR=1: k6 writes its metrics to the stack's Prometheus, and each run reads the
replicas' metrics back over its own time window.

The PromQL lives here only, so docs/benchmark.md and the README quote these strings.
"""

from __future__ import annotations

import json
import math
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

# `{window}` is the rate's range: 30s on a dashboard (promql()), the run's own duration when
# a run is read back, so that a 20 s run is not averaged with the idle seconds before it.
RATE_BY_REPLICA = 'sum by (instance) (rate(api_requests_total{{route="/api"}}[{window}]))'
QUEUE_WAIT_P95 = "histogram_quantile(0.95, sum by (le) (rate(api_job_wait_seconds_bucket[{window}])))"
SHED_RATE = "sum(rate(api_shed_total[{window}]))"
NGINX_RETRIES = "sum(rate(nginx_log_retried_requests_total[{window}]))"
QUERIES = {"rate_by_replica": RATE_BY_REPLICA, "queue_wait_p95": QUEUE_WAIT_P95, "shed_rate": SHED_RATE,
           "nginx_retries": NGINX_RETRIES}
# The exporter's retry counter has no series before nginx's first retry: up says it was read.
LOG_EXPORTER_UP = 'max(up{job="nginx-log"})'
DASHBOARD_WINDOW = "30s"
TREND_STATS = "p(95),avg,max"


def promql(template: str, window: str = DASHBOARD_WINDOW) -> str:
    return template.format(window=window)


@dataclass(frozen=True)
class Monitoring:
    """Each query evaluated once, at the run's end, over a range as long as the run."""

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


def values(result: list[dict[str, Any]], label: str = "") -> dict[str, float]:
    """An instant vector -> its numbers keyed by `label`; NaN (no traffic) left out."""
    got = {}
    for series in result:
        value = float(series["value"][1])
        if not math.isnan(value):
            got[series.get("metric", {}).get(label, "")] = value
    return got


def query(prometheus: str, expr: str, at: float) -> list[dict[str, Any]]:
    args = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
    answer = json.loads(_get(f"{prometheus}/api/v1/query?{args}"))
    if answer.get("status") != "success":
        raise ValueError(f"Prometheus refused {expr!r}: {answer.get('error')}")
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def _one(got: dict[str, float], scale: float = 1) -> float | None:
    return round(next(iter(got.values())) * scale, 3) if got else None


def collect(prometheus: str, testid: str, start: float, end: float) -> Monitoring:
    window = f"{max(round(end - start), 1)}s"
    time.sleep(1)  # the scrape that was under way when k6 stopped
    try:
        got = {name: values(query(prometheus, promql(q, window), end), "instance") for name, q in QUERIES.items()}
        exporter_up = values(query(prometheus, LOG_EXPORTER_UP, end))
    except (OSError, ValueError) as exc:
        return Monitoring(testid, start, end, note=f"Prometheus did not answer: {exc}")
    if not got["nginx_retries"] and exporter_up.get("") == 1:
        got["nginx_retries"] = {"": 0.0}  # read, and nginx never retried
    empty = [name for name, v in got.items() if not v]
    note = f"no value for {', '.join(empty)} over [{window}] at the run's end" if empty else ""
    return Monitoring(testid, start, end, {k: round(v, 2) for k, v in got["rate_by_replica"].items()},
                      _one(got["queue_wait_p95"], 1000), _one(got["shed_rate"]), _one(got["nginx_retries"]), note)
