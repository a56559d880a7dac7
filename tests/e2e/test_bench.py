"""`make bench`, end to end but tiny: both profiles run, and every file is written.

Only the shape of the results is checked, never a speed: CI machines differ too much.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests import ports
from tests.conftest import ROOT
from tests.e2e.conftest import make_bench

PROJECT = "pycluster-bench-e2e"
RUN_FIELDS = {
    "profile", "replicas", "cores", "offered_rate", "achieved_rps", "completed", "failed", "dropped",
    "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms", "per_replica", "thresholds", "thresholds_passed",
}
ARTICLE_ROWS = ["Target URL", "Total Test Time", "Requests Per Second", "Concurrency Level",
                "Completed requests", "Total Errors", "Mean Latency", "Longest Request"]


@pytest.fixture(scope="module")
def bench(docker: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    results = tmp_path_factory.mktemp("results")
    done = make_bench("bench", PROJECT, results, SCALE="2", DURATION="5s", RATE="5",
                      HTTP_PORT=str(ports.BENCH_HTTP), WORKERS_PORT=str(ports.BENCH_WORKERS))
    runs = list(results.iterdir())
    assert len(runs) == 1, f"expected one results/<timestamp>/ folder, found {runs}"
    return done, runs[0]


@pytest.mark.e2e
def test_summary_has_both_profiles_with_every_field(bench: tuple) -> None:
    _, out = bench
    summary = json.loads((out / "summary.json").read_text())
    assert [(r["profile"], r["replicas"]) for r in summary["runs"]] == [("one", 1), ("many", 2)]
    for run in summary["runs"]:
        assert RUN_FIELDS <= run.keys(), f"{run['profile']} lacks {RUN_FIELDS - run.keys()}"
        assert run["offered_rate"] == 5
        assert run["completed"] > 0
        assert sum(run["per_replica"].values()) > 0
    assert summary["machine"]["cores"] >= 1 and summary["machine"]["cpu_model"]


@pytest.mark.e2e
def test_k6_thresholds_were_evaluated(bench: tuple) -> None:
    _, out = bench
    for run in json.loads((out / "summary.json").read_text())["runs"]:
        names = " ".join(run["thresholds"])
        for metric in ("http_req_failed", "http_req_duration", "dropped_iterations", "p(95)", "p(99)"):
            assert metric in names, f"no k6 threshold on {metric} in {run['profile']}: {run['thresholds']}"
        assert isinstance(run["thresholds_passed"], bool)
        assert run["k6_exit_code"] in (0, 99)  # 99: k6 ran, a threshold was crossed


@pytest.mark.e2e
def test_report_chart_and_side_by_side_table(bench: tuple) -> None:
    done, out = bench
    for name in ("report.md", "chart.png", "chart.svg", "k6-one.html", "k6-many.html"):
        assert (out / name).stat().st_size > 0, f"{name} is empty"
    table = done.stdout[done.stdout.index("Side by side"):]
    for row in ARTICLE_ROWS:
        assert row in table, f"the side-by-side table lacks the article's row {row!r}"
    assert "one (1 replica)" in table and "many (2 replicas)" in table
    assert "| Mean Latency |" in (out / "report.md").read_text()


@pytest.mark.e2e
def test_make_plan_sizes_replicas_from_this_result_alone(bench: tuple, tmp_path: Path) -> None:
    """A user's path: `make bench`, then `make plan` from its summary. The rest of the
    machine's cores (k6, nginx, the kernel) were measured in each run for the planner."""
    _, out = bench
    runs = json.loads((out / "summary.json").read_text())["runs"]
    for run in runs:  # read from cgroup files; a meter on docker top (rootless, Desktop) has none
        measured = run["resources"]["other_cores"]
        assert (measured is not None and measured >= 0) or "cgroup" not in run["resources"]["source"], run["resources"]
    done = subprocess.run(["make", "-s", "plan", f"PLAN_RESULT={out / 'summary.json'}", "RATE=40", "P95_MS=400",
                           "PLAN_METHODS=round-robin,least_conn", "PLAN_JOBS=3000"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "RESULTS_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    plan = json.loads(next(tmp_path.glob("*-plan/plan.json")).read_text())
    assert plan["inputs"]["job_mix"] == "1:823543" and plan["inputs"]["cost_source"].startswith(str(out))
    assert [m["method"] for m in plan["methods"]] == ["round-robin", "least_conn"]
    assert all(m["replicas"] >= 1 and m["at"]["met"] for m in plan["methods"]), plan["methods"]
    assert "| least_conn |" in done.stdout
