"""The planner held to measured runs: docs/benchmarks/2core-plan-validation/ is the fixture."""

import json

import pytest

from bench.balance.variants import SHIPPED, VARIANTS
from bench.plan import calibrate, validate, validation_report
from bench.plan.workload import Stack
from tests.bench.conftest import ROOT

pytestmark = pytest.mark.unit

RESULT = json.loads((validate.OUT / "validation.json").read_text())


def test_every_bench_balance_variant_maps_to_the_stack_it_ran():
    stacks = {v.label: validate.stack_of(v.label, 2, 2, 0.001) for v in VARIANTS}
    assert stacks[SHIPPED.label] == Stack(2, "least_conn", cores_per_host=2, host_cpu_per_request_s=0.001)
    assert stacks["round-robin, one lane"].long_job_s == 0 and stacks["round-robin, one lane"].method == "round-robin"
    assert stacks["random two least_conn, one lane"].method == "random two least_conn"
    assert stacks["round-robin, two lanes"].long_job_s > 0
    assert validate.stack_of("uvicorn --workers 2", 2, 2, 0.0) is None
    assert validate.stack_of("Node cluster, 2 workers", 2, 2, 0.0) is None


def test_the_committed_page_is_what_the_committed_numbers_say():
    assert (validate.OUT / "report.md").read_text() == validation_report.markdown(RESULT)
    assert len(RESULT["runs"]) >= 6 and {r["replicas"] for r in RESULT["runs"]} >= {2, 4}


def test_docs_capacity_quotes_the_validation_as_it_stands():
    held = sum(validation_report.within(r) for r in RESULT["runs"])
    text = (ROOT / "docs" / "capacity.md").read_text()
    assert f"{held} of {len(RESULT['runs'])} measured runs" in text


@pytest.mark.parametrize("load", [0.5, 0.7])
@pytest.mark.parametrize("path", validate.RUNS, ids=lambda p: p.parent.name)
def test_a_fresh_simulation_of_the_shipped_stack_predicts_its_measured_p95(path, load):
    """Not the committed numbers: the model run again, against what k6 measured."""
    summary = json.loads(path.read_text())
    entry = next(e for e in summary["entries"] if e["case"] == "methods" and e["stack"] == SHIPPED.label
                 and e["load"] == load)
    row = validate.predict(entry, summary, calibrate.from_file(path), validate.k6_cpu_per_request())
    assert row is not None
    measured, predicted = row["measured"]["all"]["p95_ms"], row["predicted"]["all"]["p95_ms"]
    assert predicted == pytest.approx(measured, rel=validation_report.P95_BAR), (measured, predicted)


def test_rest_of_the_machine_comes_from_the_run_when_it_was_measured():
    k6 = 0.0003
    measured = {"resources": {"other_cores": 0.18}, "achieved_rps": 200.0}
    assert validate.other_cpu(measured, k6) == pytest.approx(0.0009)
    assert validate.other_cpu({"resources": {"proxy_cpu_ms_per_request": 0.1}}, k6) == pytest.approx(0.0004)
    for path in validate.RUNS:  # the committed runs measured it: no fallback in the validation
        runs = [e["run"] for e in json.loads(path.read_text())["entries"] if "run" in e]
        assert all(r["resources"]["other_cores"] is not None for r in runs), path
