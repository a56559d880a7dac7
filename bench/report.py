"""The side-by-side table (the article's rows), report.md and summary.json."""

from __future__ import annotations

import json
from pathlib import Path


def _ms(v: float) -> str:
    return f"{v:.1f} ms"


def _ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


# (row label, how to print it from one run); the first eight are the article's rows.
ROWS = [
    ("Target URL", lambda r: r["target_url"]),
    ("Total Test Time", lambda r: f"{r['test_time_s']:.2f} s"),
    ("Requests Per Second", lambda r: f"{r['achieved_rps']:.1f}"),
    ("Concurrency Level", lambda r: str(r["concurrency"])),
    ("Completed requests", lambda r: str(r["completed"])),
    ("Total Errors", lambda r: str(r["failed"])),
    ("Mean Latency", lambda r: _ms(r["mean_ms"])),
    ("Longest Request", lambda r: _ms(r["max_ms"])),
    ("Offered rate", lambda r: f"{r['offered_rate']:g} req/s"),
    ("Dropped iterations", lambda r: str(r["dropped"])),
    ("Not served", lambda r: f"{r['not_served']} ({r['not_served'] / max(r['completed'] + r['dropped'], 1):.0%})"),
    ("p50 / p95 / p99", lambda r: f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f} / {r['p99_ms']:.0f} ms"),
    ("Replicas (max/min share)", lambda r: f"{len(r['per_replica'])} ({_ratio(r['replica_max_min_ratio'])})"),
    ("k6 thresholds", lambda r: "passed" if r["thresholds_passed"] else "FAILED"),
]


def column_title(run: dict) -> str:
    unit = "workers" if run["profile"] == "workers" else ("replica" if run["replicas"] == 1 else "replicas")
    return f"{run['profile']} ({run['replicas']} {unit})"


def table_rows(runs: list[dict]) -> list[list[str]]:
    rows = [["", *map(column_title, runs)]]
    rows += [[label, *(fmt(r) for r in runs)] for label, fmt in ROWS]
    return rows


def text_table(runs: list[dict]) -> str:
    rows = table_rows(runs)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def machine_lines(machine: dict) -> list[str]:
    return [f"- CPU: {machine['cpu_model']}, {machine['cores']} core(s) usable",
            f"- Memory: {machine['memory_gib']} GiB; {machine['os']}; Python {machine['python']}"]


def write_compare(out: Path, summary: dict) -> None:
    runs = summary["runs"]
    md = [f"# Benchmark {summary['started']}", "", *machine_lines(summary["machine"]), "",
          f"Offered rate: {summary['rate']['offered']:g} req/s for {summary['duration']} "
          f"with {summary['vus']} VUs (open model). {summary['rate']['why']}", "",
          markdown_table(table_rows(runs)), "",
          "Not served = errors (5xx, e.g. 503 when a replica sheds load) + dropped iterations "
          "(requests k6 could not even start because all VUs were waiting).", "",
          "![throughput and latency](chart.png)", ""]
    _write(out, summary, md)


def sweep_table(curves: dict[str, list[dict]]) -> list[list[str]]:
    rows = [["Profile", "N", "Capacity (req/s)", "Ideal N x capacity(1)", "Efficiency", "p95 at capacity"]]
    for name, points in curves.items():
        for p in points:
            eff = "-" if p["efficiency"] is None else f"{p['efficiency']:.0%}"
            ideal = "-" if p["ideal"] is None else f"{p['ideal']:.0f}"
            p95 = "-" if p["p95_ms"] is None else f"{p['p95_ms']:.0f} ms"
            rows.append([name, str(p["replicas"]), f"{p['capacity']:.0f}", ideal, eff, p95])
    return rows


def sweep_text(curves: dict[str, list[dict]]) -> str:
    rows = sweep_table(curves)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def write_sweep(out: Path, summary: dict) -> None:
    md = [f"# Capacity sweep {summary['started']}", "", *machine_lines(summary["machine"]), "",
          f"Capacity: the highest offered rate with 0 errors, 0 dropped iterations and p95 < "
          f"{summary['p95_bound_ms']} ms, found by a step search of {summary['duration']} k6 runs. "
          "Efficiency = capacity(N) / (N x capacity(1)).", "",
          markdown_table(sweep_table(summary["curves"])), "", "![scaling curve](chart.png)", ""]
    _write(out, summary, md)


def _write(out: Path, summary: dict, md: list[str]) -> None:
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text("\n".join(md))
