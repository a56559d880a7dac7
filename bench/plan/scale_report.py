"""docs/benchmarks/plan-scale/report.md: the tables docs/capacity.md quotes."""

from __future__ import annotations

from typing import Any


def _p95(row: dict[str, Any]) -> str:
    at = row["at_cores"]
    text = f"{at['percentiles']['all']['p95_ms']:.0f}"
    return text + (f" ({at['shed_share']:.1%} 503)" if at["shed_share"] else "")


def _needed(row: dict[str, Any]) -> str:
    return str(row["needed"]) if row["needed"] is not None else f"> {row['ceiling']}"


def methods_table(result: dict[str, Any], workload: str) -> list[str]:
    rows = [r for r in result["methods"] if r["workload"] == workload]
    cores = sorted({r["cores"] for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    head = "| method | " + " | ".join(f"{c} cores: p95 ms / replicas needed" for c in cores) + " |"
    out = [head, "|---|" + "---|" * len(cores)]
    for m in methods:
        cells = []
        for c in cores:
            row = next(r for r in rows if r["method"] == m and r["cores"] == c)
            cells.append(f"{_p95(row)} / {_needed(row)}")
        out.append(f"| {m} | " + " | ".join(cells) + " |")
    rates = ", ".join(f"{c} cores {next(r['rate'] for r in rows if r['cores'] == c)} req/s" for c in cores)
    return [*out, "", f"Offered: {rates}."]


def markdown(result: dict[str, Any]) -> str:
    out = ["# The planner at scale (simulated)", "",
           f"Calibrated by {result['cost_source']}: {result['fixed_ms']:.2f} ms + {result['per_unit_ns']:.2f} ns "
           f"a unit of work (CPython on the 2-core VM). Traffic keeps C cores {result['load']:.0%} busy; "
           f"hosts of {result['host_cores']} cores, one replica a core; one nginx unless said. Cells: p95 of all "
           f"requests with C replicas / the replicas needed for p95 <= {result['target_ms']:g} ms and <= "
           f"{result['max_shed']:.1%} 503. "
           "`python -m bench plan-scale` writes this page.", ""]
    for workload in dict.fromkeys(r["workload"] for r in result["methods"]):
        mix = "`1:823543`" if workload == "article's job" else f"`JOB_MIX={result['mix']}`"
        out += [f"## {workload[0].upper()}{workload[1:]} ({mix})", "", *methods_table(result, workload), ""]
    out += ["## nginx instances: the mix at 64 cores", "",
            "| method | nginx | p95 ms at 64 replicas | replicas needed |", "|---|---|---|---|"]
    out += [f"| {r['method']} | {r['nginx']} | {_p95(r)} | {_needed(r)} |" for r in result["nginx"]]
    one = next((p["capacity"] for p in result["sweep"] if p["replicas"] == 1), None)
    out += ["", "## `make bench-sweep` on a 16-core box: a prediction", "",
            f"The article's job; k6, nginx and the rest of the box on the same cores ({result['other_cpu_ms']:.2f} ms "
            f"a request); capacity as bench/capacity.py defines it (no 503, p95 < {result['sweep_p95_ms']:g} ms, "
            f"{result['sweep_step_s']:g} s steps).", "",
            "| replicas | capacity req/s | vs 1 replica |", "|---|---|---|"]
    out += [f"| {p['replicas']} | {p['capacity']:g} | {p['capacity'] / one:.2f}x |" if one else
            f"| {p['replicas']} | {p['capacity']:g} | - |" for p in result["sweep"]]
    return "\n".join([*out, ""])
