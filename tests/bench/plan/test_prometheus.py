"""PLAN_PROMETHEUS: the mix from the replicas' job histogram, against a fake Prometheus."""

import json

import pytest

from bench.plan import calibrate, prometheus
from bench.plan.settings import COMMITTED
from bench.resources import prometheus as promql
from bench.settings import BenchError

pytestmark = pytest.mark.unit

# 80 jobs of at most 2.5 ms, 20 between 25 and 50 ms, over the window
HISTOGRAM = {"0.001": 0, "0.0025": 80, "0.005": 80, "0.01": 80, "0.025": 80, "0.05": 100, "+Inf": 100}


def answer(expr: str) -> list[dict]:
    if "_bucket" in expr:
        return [{"metric": {"le": le}, "value": [0, str(n)]} for le, n in HISTOGRAM.items()]
    if "_sum" in expr:
        return [{"metric": {}, "value": [0, str(80 * 0.002 + 20 * 0.04)]}]
    if "rate(" in expr:
        return [{"metric": {}, "value": [0, "12.5"]}]
    return [{"metric": {}, "value": [0, "100"]}]


def test_each_bucket_with_jobs_is_a_class_and_the_mean_is_the_histograms(monkeypatch):
    asked = []

    def fake_get(url, timeout=5):
        asked.append(url)
        expr = url.split("query=")[1]
        from urllib.parse import unquote_plus
        return json.dumps({"status": "success", "data": {"result": answer(unquote_plus(expr))}}).encode()
    monkeypatch.setattr(promql, "_get", fake_get)
    found = prometheus.calibration("http://prometheus:9090/", "10m", calibrate.from_file(COMMITTED))
    assert all(url.startswith("http://prometheus:9090/api/v1/query?") for url in asked)
    assert [(c.label, c.share) for c in found.mix.classes] == [("<= 2.5 ms", 0.8), ("<= 50 ms", 0.2)]
    mean = sum(c.share * found.cost.demand_s(c) for c in found.mix.classes) - found.cost.fixed_s
    assert mean == pytest.approx((80 * 0.002 + 20 * 0.04) / 100, rel=1e-3)
    assert found.cost.fixed_s == calibrate.FIXED_S  # the histogram times the job alone
    assert found.rate == 12.5
    small, large = (found.cost.demand_s(c) for c in found.mix.classes)
    assert small < 0.0025 < 0.025 < large


def test_no_jobs_or_no_prometheus_says_what_to_do(monkeypatch):
    monkeypatch.setattr(promql, "_get", lambda url, timeout=5: json.dumps(
        {"status": "success", "data": {"result": []}}).encode())
    with pytest.raises(BenchError, match="send traffic first"):
        prometheus.calibration("http://p:9090", "5m", calibrate.from_file(COMMITTED))

    def refused(url, timeout=5):
        raise OSError("connection refused")
    monkeypatch.setattr(promql, "_get", refused)
    with pytest.raises(BenchError, match="make monitor"):
        prometheus.calibration("http://p:9090", "5m", calibrate.from_file(COMMITTED))


def test_jobs_past_the_last_bound_get_a_class_of_their_own():
    mix = prometheus.histogram_mix({"0.01": 50, "10": 90, "+Inf": 100}, mean_s=1.0)
    assert [c.label for c in mix.classes] == ["<= 10 ms", "<= 10000 ms", "<= inf"]
    assert mix.classes[-1].n > mix.classes[-2].n
