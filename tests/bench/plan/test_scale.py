"""The planner at scale: the committed page, and one row run again."""

import json

import pytest

from bench.plan import scale, scale_report
from bench.plan.calibrate import from_file
from bench.plan.settings import COMMITTED
from tests.bench.conftest import ROOT

pytestmark = pytest.mark.unit

RESULT = json.loads((scale.OUT / "scale.json").read_text())


def test_the_committed_page_is_what_the_committed_numbers_say():
    assert (scale.OUT / "report.md").read_text() == scale_report.markdown(RESULT)
    assert {r["cores"] for r in RESULT["methods"]} == set(scale.CORES)
    assert {r["nginx"] for r in RESULT["nginx"]} == set(scale.NGINX)
    assert [p["replicas"] for p in RESULT["sweep"]] == list(scale.SWEEP)
    settings = (RESULT["target_ms"], RESULT["load"], RESULT["host_cores"])
    assert settings == (scale.TARGET_MS, scale.LOAD, scale.HOST_CORES), "run python -m bench plan-scale again"
    assert not RESULT["cost_source"].startswith("/"), "a path from the repository's root"


def test_docs_capacity_quotes_the_scale_page():
    text = (ROOT / "docs" / "capacity.md").read_text()
    assert "benchmarks/plan-scale/" in text
    for row in scale_report.methods_table(RESULT, "the mix")[2:7]:
        assert row in text, row


def test_one_row_again_least_conn_needs_no_more_than_round_robin_at_16_cores():
    traffic = scale.workloads(from_file(COMMITTED))["the mix"]
    least = scale.method_row("the mix", traffic, 16, "least_conn", jobs=8000)
    rr = scale.method_row("the mix", traffic, 16, "round-robin", jobs=8000)
    assert least["rate"] == rr["rate"] > 0
    assert least["needed"] <= rr["needed"]
    assert least["at_cores"]["percentiles"]["all"]["p95_ms"] < rr["at_cores"]["percentiles"]["all"]["p95_ms"]
