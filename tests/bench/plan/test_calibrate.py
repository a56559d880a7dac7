"""Job costs and mixes read from result files: the committed benchmark runs are the fixtures."""

import json

import pytest

from bench.plan import calibrate
from bench.plan.workload import parse_mix
from bench.settings import BenchError
from tests.bench.conftest import ROOT, read

pytestmark = pytest.mark.unit

BENCHMARKS = ROOT / "docs" / "benchmarks"


def test_the_fixed_cost_and_outside_latency_are_what_bench_tls_measured():
    mode = next(m for m in read(BENCHMARKS / "2core-tls" / "tls.json")["modes"] if m["key"] == "http1")
    replica_cpu_s = mode["cpu"]["resources"]["cpu_ms_per_request"] / 1000
    assert calibrate.FIXED_S == pytest.approx(replica_cpu_s, rel=0.15)
    assert calibrate.OUTSIDE_S == pytest.approx(mode["cpu"]["run"]["p50_ms"] / 1000 - replica_cpu_s, rel=0.25)


def test_a_balance_run_gives_its_mix_and_the_cost_of_a_unit_from_cgroup_cpu():
    path = BENCHMARKS / "2core-balance" / "summary.json"
    data = read(path)
    found = calibrate.from_file(path)
    assert found.mix.text() == data["job_mix"] == "0.8:100000,0.2:2000000"
    assert found.rate == data["capacity"]
    cpu = sorted(e["run"]["resources"]["cpu_ms_per_request"] for e in data["entries"]
                 if e["case"] == "methods" and not e["stack"].startswith(("uvicorn", "Node")))
    mean_units = 0.8 * 100_001 + 0.2 * 2_000_001
    assert found.cost.per_unit_s == pytest.approx((cpu[len(cpu) // 2] / 1000 - calibrate.FIXED_S) / mean_units)
    assert 5e-9 < found.cost.per_unit_s < 50e-9  # CPython: tens of ns a loop step


def test_a_compare_run_divides_the_replicas_cpu_by_the_requests_they_served():
    path = BENCHMARKS / "2core-compare-monitor" / "summary.json"
    runs = read(path)["runs"]
    found = calibrate.from_file(path)
    per_request = sorted(r["resources"]["replicas_cpu_s"] / (r["completed"] - r["failed"]) for r in runs)
    assert found.mix.text() == "1:823543"
    assert found.cost.demand_s(found.mix.classes[0]) == pytest.approx(sum(per_request) / len(per_request))


def test_a_file_without_cpu_or_of_another_kind_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(BenchError, match="resources"):
        calibrate.from_file(BENCHMARKS / "2core-compare-80rps" / "summary.json")
    with pytest.raises(BenchError, match="make bench-balance"):
        calibrate.from_file(BENCHMARKS / "2core-sweep" / "summary.json")
    broken = tmp_path / "summary.json"
    broken.write_text("{")
    with pytest.raises(BenchError, match="cannot read"):
        calibrate.from_file(broken)


def test_a_job_cheaper_than_the_fixed_cost_is_refused(tmp_path):
    data = read(BENCHMARKS / "2core-compare-monitor" / "summary.json")
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BenchError, match="too cheap"):
        calibrate.from_file(path, fixed_s=1.0)


def test_job_size_comes_from_the_url():
    assert calibrate.job_size("http://localhost:8080/api?n=1000") == 1000
    assert calibrate.job_size("http://localhost:8080/api") == 7**7


def test_job_mix_reads_as_k6_balance_js_does():
    mix = parse_mix("0.2:2000000, 0.7:100000,0.1:500000")
    assert [(c.label, c.share, c.n) for c in mix.classes] == [
        ("small", 0.7, 100000), ("n500000", 0.1, 500000), ("large", 0.2, 2000000)]
    assert parse_mix("1:5").classes[0].label == "all"
    for bad, says in (("0.5:1,0.4:2", "add up"), ("0.5:1,0.5:1", "twice"), ("half:1", "share:n")):
        with pytest.raises(BenchError, match=says):
            parse_mix(bad)
