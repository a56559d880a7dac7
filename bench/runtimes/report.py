"""The tables of `bench runtimes`: the article's test beside its published rows, the
capacities and their ratios; report.md + summary.json as bench/report.py writes the others."""

from __future__ import annotations

from pathlib import Path

from ..profiles import PROFILES
from ..report import Table, machine_lines, markdown, write_files
from .summary import ARTICLE_ROWS, RuntimeResult, Runtimes


def runtime_label(result: RuntimeResult) -> str:
    return PROFILES[result.profile].label(result.replicas)


RUNTIMES_HEADER = ["", "Runtime", "Offered", "Requests Per Second", "Completed requests", "Total Errors",
                   "Dropped iterations", "Mean Latency", "p95", "Longest Request"]


def runtimes_table(summary: Runtimes) -> Table:
    """The article's two published rows (its machine), then each profile's run of the same
    test on this machine, in the same columns."""
    rows = [RUNTIMES_HEADER]
    for a in ARTICLE_ROWS:
        rows.append([a.label, "Node.js, the article's machine", "150 req/s, 20s", "", str(a.completed),
                     str(a.errors), "", f"{a.mean_ms:.1f} ms", "", f"{a.max_ms:.1f} ms"])
    for r in summary.results:
        run = r.article
        rows.append([runtime_label(r), r.version, f"{run.offered_rate:g} req/s, {summary.duration}",
                     f"{run.achieved_rps:.1f}", str(run.completed), str(run.failed), str(run.dropped),
                     f"{run.mean_ms:.1f} ms", f"{run.p95_ms:.1f} ms", f"{run.max_ms:.1f} ms"])
    return rows


def _capacity(r: RuntimeResult, p95_bound_ms: float) -> str:
    if not r.capacity:
        return "0 (no rate sustained)"
    return f"{r.capacity:g}" + ("" if r.bounded(p95_bound_ms) else "+ (never refused: a lower bound)")


def capacity_table(summary: Runtimes) -> Table:
    rows = [["", f"Capacity at {summary.capacity_vus} VUs (req/s)", "Per replica or worker",
             "Mean / p95 at capacity", "Steps"]]
    for r in summary.results:
        best = r.at_capacity(summary.p95_bound_ms)
        at = f"{best.mean_ms:.1f} / {best.p95_ms:.1f} ms" if best else "-"
        rows.append([runtime_label(r), _capacity(r, summary.p95_bound_ms), f"{r.capacity / r.replicas:.1f}", at,
                     str(len(r.capacity_runs))])
    return rows


def ratios_table(summary: Runtimes) -> Table:
    rows = [["Ratio of capacities", "Value", "What it says"]]
    rows += [[r.label, r.text(), r.meaning] for r in summary.ratios()]
    return rows


def runtimes_intro(summary: Runtimes) -> str:
    return (f"The article's test: {summary.rate:g} req/s for {summary.duration} with {summary.vus} VUs (open "
            "model: a request k6 cannot start because every VU waits is a dropped iteration, not served). "
            "The article's rows come from its own machine, with another load tool: compare the shape, not "
            "the absolute numbers.")


def capacity_intro(summary: Runtimes) -> str:
    return (f"Capacity: the highest offered rate with 0 errors, 0 dropped iterations and p95 < "
            f"{summary.p95_bound_ms:g} ms, found by a step search of {summary.capacity_duration} k6 runs, "
            f"every step of every profile with the same {summary.capacity_vus} VUs (constant-arrival-rate, "
            "preAllocatedVUs = maxVUs). A ratio with >= or <= has a capacity that the search never saw "
            "refused (a lower bound); - : a profile was not run, or sustained nothing.")


def write_runtimes(out: Path, summary: Runtimes) -> None:
    md = [f"# Runtimes {summary.started}", "", *machine_lines(summary.machine), "",
          "## The article's test", "", runtimes_intro(summary), "", markdown(runtimes_table(summary)), "",
          f"## Capacity at {summary.capacity_vus} VUs", "", capacity_intro(summary), "",
          markdown(capacity_table(summary)), "", markdown(ratios_table(summary)), "",
          "![the article's test and capacity](chart.png)", ""]
    write_files(out, summary.to_dict(), md)
