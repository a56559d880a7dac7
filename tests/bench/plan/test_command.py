"""`python -m bench plan` from a committed result file: the table, the JSON and the chart."""

import json
import os
import subprocess
from dataclasses import replace

import pytest

from bench.__main__ import main
from bench.plan.command import plan
from bench.plan.settings import COMMITTED, PlanSettings, newest_result
from bench.settings import ROOT, BenchError, Settings

pytestmark = pytest.mark.unit


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in ("RATE", "JOB_MIX", "P95_MS", "PLAN_RESULT", "PLAN_METHODS", "PLAN_NGINX", "PLAN_PROMETHEUS",
                 "PLAN_MAX_SHED", "API_LONG_JOB_S", "API_MAX_WAIT_S", "PLAN_CORES_PER_HOST", "PLAN_REPLICAS_PER_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RESULTS_DIR", str(tmp_path))
    monkeypatch.setenv("PLAN_JOBS", "4000")
    return tmp_path


def test_plan_from_the_committed_balance_run_prints_replicas_per_method(env, monkeypatch, capsys):
    monkeypatch.setenv("PLAN_RESULT", str(COMMITTED))
    monkeypatch.setenv("RATE", "1000")
    monkeypatch.setenv("P95_MS", "200")
    monkeypatch.setenv("PLAN_METHODS", "round-robin,least_conn")
    assert main(["plan"]) == 0
    out = next(env.glob("*-plan"))
    summary = json.loads((out / "plan.json").read_text())
    rows = {m["method"]: m for m in summary["methods"]}
    assert set(rows) == {"round-robin", "least_conn"}
    load = 1000 * summary["inputs"]["per_unit_ns"] * 1e-9 * (0.8 * 100_001 + 0.2 * 2_000_001)
    for row in rows.values():
        assert row["replicas"] > load  # more replicas than the load keeps busy
        assert row["at"]["met"] and row["at"]["percentiles"]["all"]["p95_ms"] <= 200
    assert rows["least_conn"]["replicas"] <= rows["round-robin"]["replicas"]
    text = (out / "report.md").read_text()
    assert "| least_conn |" in text and "small p95 / p99 ms" in text
    assert (out / "chart.png").stat().st_size > 0 and (out / "chart.svg").exists()
    assert "Results:" in capsys.readouterr().out


def test_hosts_follow_the_cores_and_nginx_instances_are_recorded(env):
    s = replace(PlanSettings.from_env(Settings.from_env()), result=COMMITTED, rate=400.0, p95_ms=300,
                methods=("least_conn",), cores_per_host=4, nginx=2)
    out = plan(Settings.from_env(), s)
    row = json.loads((out / "plan.json").read_text())["methods"][0]
    assert row["hosts"] == -(-row["replicas"] // 4)
    assert json.loads((out / "plan.json").read_text())["inputs"]["nginx"] == 2


def test_bad_settings_are_refused_with_the_name(env, monkeypatch, capsys):
    monkeypatch.setenv("PLAN_METHODS", "fastest")
    with pytest.raises(BenchError, match="fastest"):
        PlanSettings.from_env(Settings.from_env())
    monkeypatch.setenv("PLAN_METHODS", "central queue")
    monkeypatch.setenv("PLAN_NGINX", "2")
    assert main(["plan"]) == 1
    assert "one nginx instance" in capsys.readouterr().err
    monkeypatch.delenv("PLAN_METHODS")
    assert "central queue" not in PlanSettings.from_env(Settings.from_env()).methods
    monkeypatch.setenv("PLAN_NGINX", "1.5")
    with pytest.raises(BenchError, match="not a whole number"):
        PlanSettings.from_env(Settings.from_env())
    monkeypatch.setenv("PLAN_NGINX", "1")
    monkeypatch.setenv("PLAN_MAX_SHED", "5")
    with pytest.raises(BenchError, match="below 1"):
        PlanSettings.from_env(Settings.from_env())
    monkeypatch.delenv("PLAN_MAX_SHED")
    monkeypatch.setenv("PLAN_NGINX", "two")
    assert main(["plan"]) == 1
    assert "PLAN_NGINX='two' is not a number" in capsys.readouterr().err


def test_without_results_of_its_own_the_committed_run_is_read(tmp_path):
    assert newest_result(tmp_path) == COMMITTED
    run = tmp_path / "20990101-000000"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"kind": "balance"}))
    (tmp_path / "20990102-000000").mkdir()
    (tmp_path / "20990102-000000" / "summary.json").write_text(json.dumps({"kind": "sweep"}))
    (tmp_path / "20990103-000000").mkdir()
    (tmp_path / "20990103-000000" / "summary.json").write_text("{")  # a run cut short
    assert newest_result(tmp_path) == run / "summary.json"


def test_make_plan_runs_the_planner_with_the_settings_it_is_given(env):
    settings = {"RESULTS_DIR": str(env), "PLAN_JOBS": "3000", "PLAN_RESULT": str(COMMITTED)}
    # SETUP=true: the venv this test runs in is the one make would set up
    done = subprocess.run(["make", "-s", "plan", "SETUP=true", "RATE=300", "P95_MS=250", "PLAN_METHODS=least_conn"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, **settings})
    assert done.returncode == 0, done.stderr
    assert "plan: least_conn:" in done.stderr and "Capacity plan: 300 req/s, p95 <= 250 ms" in done.stdout
    assert json.loads(next(env.glob("*-plan/plan.json")).read_text())["inputs"]["rate"] == 300
