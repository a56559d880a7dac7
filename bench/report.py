"""The one renderer: the tables of a Compare, a Sweep, a Rate or a Runtimes run, as text and
markdown, and report.md + summary.json in results/<time>/."""

from __future__ import annotations

import json
from collections.abc import Callable
from operator import attrgetter
from pathlib import Path
from typing import Any

from .model import Compare, Point, Run, Sweep, stat
from .profiles import PROFILES
from .resources.report import resources_md, rows_for

Table = list[list[str]]


def _not_served(runs: list[Run]) -> str:
    return stat(runs, lambda r: 100 * (1 - r.served_share), "{:.0f}", "%")


def _spread(runs: list[Run]) -> str:
    ratio = runs[-1].replica_max_min_ratio
    return f"{len(runs[-1].per_replica)} ({'-' if ratio is None else f'{ratio:.2f}'})"


def _thresholds(runs: list[Run]) -> str:
    failed = sum(not r.thresholds_passed for r in runs)
    return "passed" if not failed else f"FAILED ({failed} of {len(runs)} runs)" if len(runs) > 1 else "FAILED"


# (row label, how to print it from a profile's runs); the first eight are the article's rows.
ROWS: list[tuple[str, Callable[[list[Run]], str]]] = [
    ("Target URL", lambda rs: rs[0].target_url),
    ("Total Test Time", lambda rs: stat(rs, lambda r: r.test_time_s, "{:.2f}", " s")),
    ("Requests Per Second", lambda rs: stat(rs, lambda r: r.achieved_rps)),
    ("Concurrency Level", lambda rs: str(rs[0].concurrency)),
    ("Completed requests", lambda rs: stat(rs, lambda r: r.completed, "{:.0f}")),
    ("Total Errors", lambda rs: stat(rs, lambda r: r.failed, "{:.0f}")),
    ("Mean Latency", lambda rs: stat(rs, lambda r: r.mean_ms, unit=" ms")),
    ("Longest Request", lambda rs: stat(rs, lambda r: r.max_ms, unit=" ms")),
    ("Offered rate", lambda rs: f"{rs[0].offered_rate:g} req/s"),
    ("Dropped iterations", lambda rs: stat(rs, lambda r: r.dropped, "{:.0f}")),
    ("Not served", _not_served),
    ("p50 / p95 / p99", lambda rs: " / ".join(stat(rs, attrgetter(k), "{:.0f}")
                                              for k in ("p50_ms", "p95_ms", "p99_ms")) + " ms"),
    ("Replicas (max/min share)", _spread),
    ("k6 thresholds", _thresholds),
]


def column_title(run: Run) -> str:
    return PROFILES[run.profile].title(run.replicas)


def compare_table(summary: Compare) -> Table:
    groups = [summary.runs_of(p) for p in summary.profiles()]
    rows = [["", *(column_title(g[0]) for g in groups)]]
    rows += [[label, *(fmt(g) for g in groups)] for label, fmt in ROWS + rows_for(summary.runs)]
    return rows


def sweep_table(curves: dict[str, list[Point]], p95_bound_ms: float) -> Table:
    rows = [["Profile", "N", "Capacity (req/s)", "Ideal N x capacity(1)", "Efficiency", "p95 at capacity"]]
    for name, points in curves.items():
        for p in points:
            eff = "-" if p.efficiency is None else f"{p.efficiency:.0%}"
            ideal = "-" if p.ideal is None else f"{p.ideal:.0f}"
            p95 = "-" if p.p95_ms is None else f"{p.p95_ms:.0f} ms"
            rows.append([name, str(p.replicas), f"{p.capacity:.0f}", ideal, eff, p95])
    return rows


def rate_table(summary: Sweep) -> Table:
    """`rate`: per path, nginx + N replicas against uvicorn --workers N, and their ratio."""
    rows = [["Path", "nginx + N replicas", "uvicorn --workers N", "nginx / workers",
             "p50 at capacity (nginx, workers)"]]
    paths = list(dict.fromkeys(name.split(": ", 1)[1] for name in summary.curves))
    for path in paths:
        nginx, workers = (summary.curves[f"{c}: {path}"][0] for c in ("nginx + replicas", "uvicorn --workers"))
        p50 = [_p50_at(p, summary.p95_bound_ms) for p in (nginx, workers)]
        ratio = f"{nginx.capacity / workers.capacity:.2f}" if workers.capacity else "-"
        rows.append([path, f"{nginx.capacity:.0f} req/s", f"{workers.capacity:.0f} req/s", ratio, ", ".join(p50)])
    return rows


def _p50_at(point: Point, p95_bound_ms: float) -> str:
    best = [r for r in point.runs if r.sustained(p95_bound_ms) and r.offered_rate == point.capacity]
    return f"{best[0].p50_ms:.1f} ms" if best else "-"


def text(rows: Table) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows: Table) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def machine_lines(machine: dict[str, object]) -> list[str]:
    return [f"- CPU: {machine['cpu_model']}, {machine['cores']} core(s) usable",
            f"- Memory: {machine['memory_gib']} GiB; {machine['os']}; Python {machine['python']}"]


def write_compare(out: Path, summary: Compare) -> None:
    repeat = f", each profile {summary.repeat} times: median (min-max)" if summary.repeat > 1 else ""
    md = [f"# Benchmark {summary.started}", "", *machine_lines(summary.machine), "",
          f"Offered rate: {summary.rate.offered:g} req/s for {summary.duration} with {summary.vus} VUs "
          f"(open model){repeat}. {summary.rate.why}", "",
          markdown(compare_table(summary)), "",
          "Not served = errors (5xx, e.g. 503 when a replica sheds load) + dropped iterations "
          "(requests k6 could not even start because all VUs were waiting). "
          "k6's own HTML report of each run: k6-*.html.", "",
          "![throughput and latency](chart.png)", "",
          *resources_md(summary.runs, column_title, markdown)]
    write_files(out, summary.to_dict(), md)


def write_sweep(out: Path, summary: Sweep) -> None:
    md = [f"# Capacity sweep {summary.started}", "", *machine_lines(summary.machine), "",
          f"Capacity: the highest offered rate with 0 errors, 0 dropped iterations and p95 < "
          f"{summary.p95_bound_ms:g} ms, found by a step search of {summary.duration} k6 runs. "
          "Efficiency = capacity(N) / (N x capacity(1)).", "",
          markdown(sweep_table(summary.curves, summary.p95_bound_ms)), "", "![scaling curve](chart.png)", ""]
    write_files(out, summary.to_dict(), md)


def write_rate(out: Path, summary: Sweep) -> None:
    n = summary.scales[0]
    md = [f"# High-rate comparison {summary.started}", "", *machine_lines(summary.machine), "",
          f"N = {n}. Capacity: the highest offered rate with 0 errors, 0 dropped iterations and p95 < "
          f"{summary.p95_bound_ms:g} ms, found by a step search of {summary.duration} k6 runs. "
          "Cheap requests make the proxy and the HTTP path the load, not the job.", "",
          markdown(rate_table(summary)), ""]
    write_files(out, summary.to_dict(), md)


def write_files(out: Path, summary: dict[str, Any], md: list[str], name: str = "summary.json") -> None:
    (out / name).write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text("\n".join(md))


def publish(out: Path, name: str, data: dict[str, Any], text: str,
            chart: Callable[[Path, dict[str, Any]], None] | None = None, more: tuple[str, ...] = ()) -> None:
    """write_files, and the chart, for the commands that print their report whole: the
    report and where it went on stdout."""
    out.mkdir(parents=True, exist_ok=True)
    write_files(out, data, [text], name)
    files = [name, "report.md"]
    if chart is not None:
        chart(out, data)
        files += ["chart.png", "chart.svg"]
    print(f"\n{text}\nResults: {out}/ ({', '.join([*files, *more])})", flush=True)
