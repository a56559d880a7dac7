"""docs/benchmarks/2core-plan-validation/report.md: predicted against measured, with errors."""

from __future__ import annotations

from typing import Any

# The bar for the p95 of all requests in each measured run.
P95_BAR = 0.25


def error(predicted: float, measured: float) -> float:
    return (predicted - measured) / measured if measured else float("inf")


def pair(row: dict[str, Any], label: str, q: str) -> str:
    measured, predicted = row["measured"][label][q], row["predicted"][label][q]
    return f"{measured:.0f} / {predicted:.0f} ({error(predicted, measured):+.0%})"


def within(row: dict[str, Any], key: str = "predicted") -> bool:
    return abs(error(row[key]["all"]["p95_ms"], row["measured"]["all"]["p95_ms"])) <= P95_BAR


def between(row: dict[str, Any]) -> bool:
    """The measured p95 between the two predictions (even arrivals, Poisson)."""
    low, high = sorted((float(row["even"]["all"]["p95_ms"]), float(row["predicted"]["all"]["p95_ms"])))
    return low <= float(row["measured"]["all"]["p95_ms"]) <= high


def mean_error(runs: list[dict[str, Any]], key: str) -> float:
    errors = [error(r[key]["all"]["p95_ms"], r["measured"]["all"]["p95_ms"]) for r in runs]
    return sum(errors) / len(errors) if errors else 0.0


def markdown(result: dict[str, Any]) -> str:
    runs = result["runs"]
    held, even = sum(within(r) for r in runs), sum(within(r, "even") for r in runs)
    worst = max(runs, key=lambda r: abs(error(r["predicted"]["all"]["p95_ms"], r["measured"]["all"]["p95_ms"])),
                default=None)
    out = ["# The planner against measured runs", "",
           f"Each `make bench-balance` run simulated as it ran ({result['seeds']} seeds of its duration pooled), "
           "calibrated by that run's CPU only: the replicas' cgroup CPU per request sets the job cost, and the "
           "rest of the machine's (/proc/stat less the replicas: k6, nginx, Docker's port proxy, the kernel) "
           "is taken from the same 2 cores. Never by its latencies. Cells: measured / predicted ms (error), "
           "with Poisson arrivals unless the column says k6's even schedule. "
           "`python -m bench plan-validate` writes this page from the runs in this folder.", "",
           f"p95 of all requests within {P95_BAR:.0%}: {held} of {len(runs)} runs with Poisson arrivals (the "
           f"planner's), {even} with k6's even schedule; the measured p95 lies between the two in "
           f"{sum(between(r) for r in runs)}. Mean error of p95: {mean_error(runs, 'predicted'):+.0%} (Poisson), "
           f"{mean_error(runs, 'even'):+.0%} (even)."]
    if worst:
        e = error(worst["predicted"]["all"]["p95_ms"], worst["measured"]["all"]["p95_ms"])
        out.append(f"Largest p95 error: {e:+.0%} ({worst['source']}, {worst['stack']}, {worst['replicas']} replicas, "
                   f"{worst['rate']:g} req/s{', one slowed' if worst['slowed'] else ''}).")
    out += ["", "| run | stack | replicas | req/s | cost ns, other ms | all p95 | all p95, even | all p99 | "
            "small p50 | small p95 | large p95 | large p99 | 503 |", "|---" * 13 + "|"]
    for r in runs:
        labels = [label for label in ("small", "large") if label in r["measured"] and label in r["predicted"]]
        even_p95 = r["even"]["all"]["p95_ms"]
        cells = [pair(r, "all", "p95_ms"), f"{even_p95:.0f} ({error(even_p95, r['measured']['all']['p95_ms']):+.0%})",
                 pair(r, "all", "p99_ms")]
        cells += [pair(r, "small", q) for q in ("p50_ms", "p95_ms")] if "small" in labels else ["-", "-"]
        cells += [pair(r, "large", q) for q in ("p95_ms", "p99_ms")] if "large" in labels else ["-", "-"]
        mark = "" if within(r) else " **"
        cells.append(f"{r['shed']['measured']} / {r['shed']['predicted']}")
        out.append(f"| {r['source']}{' slowed' if r['slowed'] else ''} | {r['stack']}{mark} | {r['replicas']} | "
                   f"{r['rate']:g} | {r['per_unit_ns']:.1f}, {r['other_cpu_ms']:.2f} | " + " | ".join(cells) + " |")
    out += ["", "## Capacity on the mix (no 503, p95 under the bound)", "",
            "| run | stack | replicas | measured req/s | predicted (error) | even (error) |", "|---" * 6 + "|"]
    for c in result["capacities"]:
        cells = [f"{c[key]:g} ({error(c[key], c['measured']):+.0%})" for key in ("predicted", "even")]
        out.append(f"| {c['source']} | {c['stack']} | {c['replicas']} | {c['measured']:g} | {' | '.join(cells)} |")
    out += ["", "`**`: p95 of all requests off by more than the bar; docs/capacity.md says why.", ""]
    return "\n".join(out)
