"""The one renderer: the article's rows, medians and spreads, the sweep and the rate tables."""

import pytest

from bench import report
from bench.model import Compare, Point, Run, Sweep
from tests.bench.conftest import SUMMARIES

pytestmark = pytest.mark.unit

ARTICLE_ROWS = ["Target URL", "Total Test Time", "Requests Per Second", "Concurrency Level",
                "Completed requests", "Total Errors", "Mean Latency", "Longest Request"]


def test_compare_table_has_the_article_rows_in_order(compare_80rps: dict) -> None:
    rows = report.compare_table(Compare.from_dict(compare_80rps))
    assert rows[0] == ["", "one (1 replica)", "many (8 replicas)"]
    assert [r[0] for r in rows[1:9]] == ARTICLE_ROWS
    table = dict((r[0], r[1:]) for r in rows)
    assert table["Requests Per Second"] == ["68.2", "80.0"]
    assert table["Dropped iterations"] == ["230", "0"]
    assert table["k6 thresholds"] == ["FAILED", "passed"]
    assert "| Mean Latency | 134.2 ms | 24.5 ms |" in report.markdown(rows)


def test_repeated_runs_show_the_median_and_the_spread(compare_80rps: dict) -> None:
    summary = Compare.from_dict(compare_80rps)
    one = summary.runs[0]
    runs = [Run.from_dict({**one.to_dict(), "achieved_rps": rps, "thresholds_passed": rps > 60})
            for rps in (50, 70, 62)]
    repeated = Compare.from_dict({**compare_80rps, "repeat": 3, "runs": [r.to_dict() for r in runs]})
    table = {r[0]: r[1:] for r in report.compare_table(repeated)}
    assert table["Requests Per Second"] == ["62.0 (50.0-70.0)"]
    assert table["k6 thresholds"] == ["FAILED (1 of 3 runs)"]


def test_sweep_table_from_the_committed_sweep(sweep_2core: dict) -> None:
    sweep = Sweep.from_dict(sweep_2core)
    rows = report.sweep_table(sweep.curves, sweep.p95_bound_ms)
    nginx = [r for r in rows if r[0] == "nginx + replicas"]
    assert [(r[1], r[2], r[4]) for r in nginx] == [("1", "64", "100%"), ("2", "114", "89%"),
                                                  ("4", "122", "48%"), ("8", "111", "22%")]


def test_rate_table_gives_the_ratio_per_path(sweep_2core: dict) -> None:
    run = Sweep.from_dict(sweep_2core).curves["nginx + replicas"][0].runs[0]
    def point(capacity: float) -> list[Point]:
        best = Run.from_dict({**run.to_dict(), "offered_rate": capacity, "dropped": 0, "failed": 0, "p95_ms": 20.0})
        return [Point(2, capacity, 20.0, [best])]
    curves = {"nginx + replicas: /": point(1300), "uvicorn --workers: /": point(1500),
              "nginx + replicas: /api?n=1000": point(900), "uvicorn --workers: /api?n=1000": point(900)}
    summary = Sweep("t", "docker", {"cores": 2, "cpu_model": "x", "memory_gib": 1, "os": "L", "python": "3"},
                    [2], "5s", 100, curves, kind="rate")
    rows = report.rate_table(summary)
    assert [r[0] for r in rows[1:]] == ["/", "/api?n=1000"]
    assert [r[3] for r in rows[1:]] == ["0.87", "1.00"]
    assert Sweep.from_dict(summary.to_dict()) == summary


def test_text_and_markdown_tables_line_up() -> None:
    rows = [["", "a"], ["long label", "1"]]
    assert report.text(rows).splitlines() == ["            a", "----------  -", "long label  1"]
    assert report.markdown(rows).splitlines()[1] == "|---|---|"
    assert SUMMARIES, "no committed summary.json to test against"
