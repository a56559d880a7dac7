"""bench balance's report, from the committed 2-core run (docs/benchmarks/2core-balance/)."""

import json

import pytest

from bench.balance import report
from bench.balance.variants import VARIANTS
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

SUMMARY = json.loads((ROOT / "docs" / "benchmarks" / "2core-balance" / "summary.json").read_text())


def entry(stack: str, load: float, case: str = "methods", slowed: bool = False) -> dict:
    return next(e for e in SUMMARY["entries"] if (e["case"], e["stack"], e.get("load"), e.get("slowed")) ==
                (case, stack, load, slowed))


def test_every_stack_has_a_row_at_every_load() -> None:
    text = report.markdown(SUMMARY)
    for load in (0.5, 0.7, 0.9):
        section = text.split(f"## {load:.0%} load")[1].split("\n## ")[0]
        rows = [line.split(" | ")[0].lstrip("| ") for line in section.splitlines() if line.startswith("| ")][1:]
        assert rows == [v.label for v in VARIANTS] + ["uvicorn --workers 2", "Node cluster, 2 workers"], rows


def test_the_verdict_reads_the_ratios_off_the_runs() -> None:
    shipped, rr = entry(VARIANTS[-1].label, 0.7), entry("round-robin, one lane", 0.7)
    small95 = shipped["jobs"][0]["p95_ms"] / rr["jobs"][0]["p95_ms"]
    large99 = shipped["jobs"][-1]["p99_ms"] / rr["jobs"][-1]["p99_ms"]
    verdict = "\n".join(report.verdict(SUMMARY))
    assert f"small-job p95 {small95:.2f}x" in verdict and f"large-job p99 {large99:.2f}x" in verdict
    healthy = entry(VARIANTS[-1].label, 0.7, "slowed")["run"]["p99_ms"]
    slowed = entry(VARIANTS[-1].label, 0.7, "slowed", slowed=True)["run"]["p99_ms"]
    assert f"({slowed / healthy:.2f}x)" in verdict


def test_the_figures_the_docs_quote_are_the_committed_runs() -> None:
    """README, docs/benchmark.md and nginx/upstream.conf quote this run: each figure must be
    what the report of docs/benchmarks/2core-balance/ says."""
    verdict, text = "\n".join(report.verdict(SUMMARY)), report.markdown(SUMMARY)
    readme, upstream = (ROOT / "README.md").read_text(), (ROOT / "nginx" / "upstream.conf").read_text()
    for ratio in ("small-job p95 0.13x", "large-job p99 0.64x"):
        assert ratio in verdict
    assert "0.13x of round-robin's" in readme and "large jobs' p99 to 0.64x" in readme
    rr, shipped = report._row(entry("round-robin, one lane", 0.7)), report._row(entry(VARIANTS[-1].label, 0.7))
    assert "| 10 / 89 / 173 | 43 / 132 / 224 |" in rr and "| 2 / 11 / 17 | 42 / 110 / 144 |" in shipped
    assert "small 89 / 173   large p99 224" in upstream and "11 /  17             144   (shipped)" in upstream
    assert "(1.78x)" in verdict and "1.78x" in text


def test_a_row_shows_small_and_large_jobs_apart() -> None:
    e = entry("round-robin, one lane", 0.5)
    small, large = e["jobs"]
    assert (small["label"], large["label"]) == ("small", "large") and small["n"] < large["n"]
    row = report._row(e)
    assert f"| {small['p50_ms']:.0f} / {small['p95_ms']:.0f} / {small['p99_ms']:.0f} |" in row
    assert f"| {large['p50_ms']:.0f} / {large['p95_ms']:.0f} / {large['p99_ms']:.0f} |" in row
