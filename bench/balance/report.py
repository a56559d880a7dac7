"""`bench balance`'s report.md and chart, from its summary.json (bench/balance/command.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .variants import ROUND_ROBIN

Entry = dict[str, Any]


def _ms(job: dict[str, float]) -> str:
    return f"{job['p50_ms']:.0f} / {job['p95_ms']:.0f} / {job['p99_ms']:.0f}"


def _row(e: Entry) -> str:
    run, small, large = e["run"], e["jobs"][0], e["jobs"][-1]
    return (f"| {e['stack']}{' (one slowed)' if e['slowed'] else ''} | {run['achieved_rps']:.1f} | {_ms(small)} | "
            f"{_ms(large)} | {run['p99_ms']:.0f} | {e['shed_503']} | {run['failed']} | {run['dropped']} |")


HEAD = ("| stack | req/s | small p50 / p95 / p99 ms | large p50 / p95 / p99 ms | all p99 ms | 503 | failed "
        "| dropped |\n|---|---|---|---|---|---|---|---|")


def _find(entries: list[Entry], **match: Any) -> Entry | None:
    return next((e for e in entries if all(e.get(k) == v for k, v in match.items())), None)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def verdict(summary: dict[str, Any]) -> list[str]:
    """The issue's bars, read from this run: the shipped stack against round-robin and the workers."""
    entries = summary["entries"]
    methods = [e for e in entries if e["case"] == "methods"]
    loads = sorted({e["load"] for e in methods})
    load = min(loads, key=lambda x: abs(x - 0.7))
    shipped = next(e for e in methods if e["stack"].startswith("shipped") and e["load"] == load)
    rr = _find(methods, stack=ROUND_ROBIN.label, load=load)
    lines = []
    if rr:
        s, r = shipped["jobs"], rr["jobs"]
        small95, small99 = _ratio(s[0]["p95_ms"], r[0]["p95_ms"]), _ratio(s[0]["p99_ms"], r[0]["p99_ms"])
        lines.append(f"- At {load:.0%} load ({shipped['rate']:g} req/s), shipped against round-robin: small-job p95 "
                     f"{small95}, small-job p99 {small99}, large-job p99 {_ratio(s[-1]['p99_ms'], r[-1]['p99_ms'])}; "
                     f"shipped: {shipped['run']['failed']} failed, {shipped['run']['dropped']} dropped.")
    for e in methods:
        ours = _find(methods, stack=shipped["stack"], load=e["load"])
        if ours and e["stack"].startswith("uvicorn"):
            mine, theirs = ours["run"]["p95_ms"], e["run"]["p95_ms"]
            lines.append(f"- At {e['load']:.0%} load, p95 of all jobs: shipped {mine:.0f} ms, "
                         f"{e['stack']} {theirs:.0f} ms ({_ratio(mine, theirs)}).")
        elif ours and e["stack"].startswith("Node"):
            # Node runs the same loop far faster (docs/runtimes.md): at these rates it idles.
            lines.append(f"- At {e['load']:.0%} load, {e['stack']}: p95 of all jobs {e['run']['p95_ms']:.1f} ms, "
                         f"large jobs {e['jobs'][-1]['p95_ms']:.1f} ms: its JIT runs each job far faster.")
    for stack in sorted({e["stack"] for e in entries if e["case"] == "slowed"}):
        healthy = _find(entries, case="slowed", stack=stack, slowed=False)
        slow = _find(entries, case="slowed", stack=stack, slowed=True)
        if healthy and slow:
            lines.append(f"- One of 4 replicas slowed ({stack}): p99 of all jobs {healthy['run']['p99_ms']:.0f} -> "
                         f"{slow['run']['p99_ms']:.0f} ms ({_ratio(slow['run']['p99_ms'], healthy['run']['p99_ms'])}).")
    over = [e for e in entries if e["case"] == "oversubscribed"]
    if len(over) == 2:
        (a, b), cores = over, summary["machine"]["cores"]
        lines.append(f"- 8 on {cores} cores: {a['stack']} {a['capacity']:g} req/s, {b['stack']} {b['capacity']:g} "
                     f"req/s ({_ratio(a['capacity'], b['capacity'])}).")
    return lines


def markdown(summary: dict[str, Any]) -> str:
    m, entries = summary["machine"], summary["entries"]
    out = [f"# Balancing on mixed job sizes ({summary['started']})", "",
           f"{m['cores']} cores, {m['cpu_model']}. Mix `JOB_MIX={summary['job_mix']}` (small = the smallest n, "
           f"large = the largest), open model, {summary['duration']} per run. The round-robin stack sustains "
           f"{summary['capacity']:g} req/s of it (capacity search); every stack gets the same shares of that.", "",
           "## Verdict", "", *verdict(summary), ""]
    methods = [e for e in entries if e["case"] == "methods"]
    for load in sorted({e["load"] for e in methods}):
        group = [e for e in methods if e["load"] == load]
        out += [f"## {load:.0%} load: {group[0]['rate']:g} req/s, {summary['scale']} replicas or workers", "",
                HEAD, *map(_row, group), ""]
    slowed = [e for e in entries if e["case"] == "slowed"]
    if slowed:
        out += [f"## One slow server: 4 replicas, one at `docker update --cpus {summary['slow_cpus']:g}`, "
                f"{slowed[0]['rate']:g} req/s", "", HEAD, *map(_row, slowed), ""]
    over = [e for e in entries if e["case"] == "oversubscribed"]
    if over:
        out += [f"## 8 on {m['cores']} cores: capacity on the mix", "", "| stack | req/s sustained |", "|---|---|",
                *(f"| {e['stack']} | {e['capacity']:g} |" for e in over), ""]
    return "\n".join(out)


def chart(out: Path, summary: dict[str, Any]) -> None:
    import matplotlib.pyplot as plt

    from ..chart import save  # matplotlib, drawn off-screen: only when drawing

    methods = [e for e in summary["entries"] if e["case"] == "methods"]
    loads = sorted({e["load"] for e in methods})
    stacks = list(dict.fromkeys(e["stack"] for e in methods))
    fig, axes = plt.subplots(1, len(loads), figsize=(5 * len(loads), 4.8), sharey=True, squeeze=False)
    width = 0.8 / len(stacks)
    for ax, load in zip(axes[0], loads, strict=True):
        for i, stack in enumerate(stacks):
            e = _find(methods, stack=stack, load=load)
            if e is None:
                continue
            values = [e["jobs"][0]["p95_ms"], e["jobs"][0]["p99_ms"], e["jobs"][-1]["p99_ms"]]
            ax.bar([x + i * width for x in range(3)], values, width, label=stack)
        ax.set_xticks([x + 0.4 - width / 2 for x in range(3)], ["small p95", "small p99", "large p99"])
        ax.set_title(f"{load:.0%} load ({_find(methods, load=load)['rate']:g} req/s)")  # type: ignore[index]
        ax.set_yscale("log")
    axes[0][0].set_ylabel("ms (log scale)")
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))  # beside the bars, not on them
    fig.suptitle(f"Mixed job sizes {summary['job_mix']}, {summary['machine']['cores']} cores")
    save(fig, out)
