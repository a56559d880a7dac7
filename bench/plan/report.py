"""The plan as a table (report.md) and a chart: p95 against replicas, one line per method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt

from ..chart import save

# Above this share of the cores busy, a plan is flagged: the validation's runs of one stack
# at one rate differed by ~20% in p95 from run to run, and near full load that noise decides.
BUSY_WARN = 0.9


def classes(row: dict[str, Any]) -> list[str]:
    return [label for label in row["percentiles"] if label != "all"]


def cells(row: dict[str, Any] | None, labels: list[str]) -> list[str]:
    if row is None:
        return ["-"] * (len(labels) + 3)
    p = row["percentiles"]
    return [f"{p['all']['p50_ms']:.0f} / {p['all']['p95_ms']:.0f} / {p['all']['p99_ms']:.0f}",
            *(f"{p[label]['p95_ms']:.0f} / {p[label]['p99_ms']:.0f}" for label in labels),
            f"{row['shed_share']:.2%}", f"{row['utilization']:.0%}" + (" !" if row["utilization"] > BUSY_WARN else "")]


def markdown(summary: dict[str, Any]) -> str:
    i = summary["inputs"]
    rows = [m for m in summary["methods"] if m["at"]]
    labels = classes(rows[0]["at"]) if rows else []
    hosts = "a core for each replica" if not i["cores_per_host"] else (
        f"{i['cores_per_host']} cores a host, {i['replicas_per_host'] or i['cores_per_host']} replicas a host")
    out = [f"# Capacity plan: {i['rate']:g} req/s, p95 <= {i['p95_target_ms']:g} ms", "",
           f"Simulated (bench/plan), not measured. Mix `JOB_MIX={i['job_mix']}`; a job costs "
           f"{i['fixed_ms']:.2f} ms + {i['per_unit_ns']:.2f} ns per unit of n+1, from {i['cost_source']}. "
           f"{i['nginx']} nginx instance(s); {hosts}; replicas with API_LONG_JOB_S={i['long_job_s']:g} "
           f"({'two lanes' if i['long_job_s'] else 'one lane'}), API_MAX_WAIT_S={i['max_wait_s']:g}. "
           f"Met: p95 of all requests within the target and at most {i['max_shed']:.2%} answered 503. "
           f"{i['jobs_per_trial']} jobs a trial; {summary['took_s']:g} s on {summary['machine']['cores']} cores.", "",
           "| " + " | ".join(["method", "replicas", "hosts", "all p50 / p95 / p99 ms",
                              *(f"{label} p95 / p99 ms" for label in labels), "503", "busy"]) + " |",
           "|---" * (len(labels) + 6) + "|"]
    for m in summary["methods"]:
        replicas = m["replicas"] if m["replicas"] is not None else f"> {max(t['replicas'] for t in m['trials'])}"
        out.append(f"| {m['method']} | {replicas} | {m['hosts'] or '-'} | " + " | ".join(cells(m["at"], labels)) + " |")
    out += ["", "`central queue` is not an nginx method: one FIFO at the proxy, a request to each idle replica "
            "(nginx Plus's `queue`), the floor for replicas that run one job at a time. busy: the offered load "
            f"on the replicas' cores; `!` over {BUSY_WARN:.0%}: the simulation meets the target there, a real "
            "machine's noise may not (docs/capacity.md#validation).", ""]
    return "\n".join(out)


def chart(out: Path, summary: dict[str, Any]) -> None:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for m in summary["methods"]:
        trials = sorted(m["trials"], key=lambda t: t["replicas"])
        ax.plot([t["replicas"] for t in trials], [t["percentiles"]["all"]["p95_ms"] for t in trials],
                marker="o", label=m["method"])
    i = summary["inputs"]
    ax.axhline(i["p95_target_ms"], color="tab:red", linestyle="--", label="target")
    ax.set_yscale("log")
    ax.set_xlabel("replicas")
    ax.set_ylabel("p95 of all requests, ms (simulated)")
    ax.set_title(f"{i['rate']:g} req/s of {i['job_mix']}")
    ax.legend(fontsize=8)
    save(fig, out)
