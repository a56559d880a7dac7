"""bench/model.py reads every summary.json the benchmark has written, with one definition of sustained."""

import re

import pytest

from bench import model
from bench.model import Compare, Run, Sweep
from bench.runtimes.summary import Runtimes
from tests.bench.conftest import SUMMARIES, read
from tests.conftest import ROOT

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("path", SUMMARIES, ids=lambda p: p.parent.name)
def test_every_committed_summary_loads_and_round_trips(path) -> None:
    data = read(path)
    if data["kind"] == "balance":  # bench/balance/: its own entries, each with one Run
        runs = [Run.from_dict(e["run"]) for e in data["entries"] if "run" in e]
        assert runs and all(Run.from_dict(r.to_dict()) == r for r in runs)
        return
    kinds: dict[str, type[Compare | Sweep | Runtimes]] = {"compare": Compare, "runtimes": Runtimes}
    summary = kinds.get(data["kind"], Sweep).from_dict(data)
    assert type(summary).from_dict(summary.to_dict()) == summary
    if isinstance(summary, Compare):
        runs = summary.runs
    elif isinstance(summary, Runtimes):
        runs = [run for r in summary.results for run in (r.article, *r.capacity_runs)]
    else:
        runs = [r for points in summary.curves.values() for p in points for r in p.runs]
    assert runs, f"{path} holds no run"


def test_sustained_needs_no_error_no_drop_and_p95_under_the_bound(compare_80rps: dict) -> None:
    one, many = Compare.from_dict(compare_80rps).runs
    assert (one.dropped, many.dropped) == (230, 0)
    assert not one.sustained(500) and many.sustained(500)
    assert not many.sustained(many.p95_ms), "p95 must be strictly under the bound"
    assert not Run.from_dict({**many.to_dict(), "failed": 1}).sustained(500)


def test_a_summary_without_run_fields_is_refused(compare_80rps: dict) -> None:
    run = dict(compare_80rps["runs"][0])
    del run["p95_ms"]
    with pytest.raises(ValueError, match="p95_ms"):
        Run.from_dict(run)
    with pytest.raises(ValueError, match="compare"):
        Compare.from_dict({**compare_80rps, "kind": "sweep"})


def test_sweep_efficiency_is_against_one_replica(sweep_2core: dict) -> None:
    sweep = Sweep.from_dict(sweep_2core)
    recomputed = model.with_efficiency({name: [model.Point(p.replicas, p.capacity, p.p95_ms, p.runs)
                                               for p in points] for name, points in sweep.curves.items()})
    nginx = recomputed["nginx + replicas"]
    one = nginx[0].capacity
    assert [p.ideal for p in nginx] == [one * p.replicas for p in nginx]
    assert [p.efficiency for p in nginx] == pytest.approx([p.efficiency for p in sweep.curves["nginx + replicas"]])
    assert nginx[0].efficiency == 1.0


def test_k6_summary_js_writes_exactly_the_run_fields() -> None:
    """k6/lib/summary.js and bench/model.py must agree field by field: nothing is renamed."""
    source = (ROOT / "k6" / "lib" / "summary.js").read_text()
    body = source[source.index("export function buildResult"):]
    body = body[body.index("return {"):body.index("\n  };")]
    written = set(re.findall(r"^    (\w+)[:,]", body, re.MULTILINE))
    assert set(model.K6_FIELDS) <= written, f"summary.js does not write {set(model.K6_FIELDS) - written}"


def test_process_cpu_counts_user_and_system_ticks_after_the_command_name() -> None:
    from bench.resources.cpu import TICK_S, process_cpu_s

    # pid (comm) state ppid ... utime=250 stime=50 (fields 14 and 15); the name has a ") ".
    line = "4242 (python -m app) ) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 3 0"
    assert process_cpu_s(line) == pytest.approx(300 * TICK_S)
