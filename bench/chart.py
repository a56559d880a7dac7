"""Charts (PNG and SVG) with matplotlib, drawn off-screen."""

from __future__ import annotations

from operator import attrgetter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

from .model import Compare, Sweep, median_of
from .model_runtimes import ARTICLE_ROWS, Runtimes
from .report import column_title, runtime_label


def _save(fig: Figure, out: Path) -> None:
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(out / f"chart.{ext}", dpi=120)
    plt.close(fig)


def compare(out: Path, summary: Compare) -> None:
    groups = [summary.runs_of(p) for p in summary.profiles()]
    names = [column_title(g[0]) for g in groups]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    served = [median_of(g, lambda r: r.achieved_rps) for g in groups]
    left.bar(names, served, color="tab:blue", label="served req/s (median)")
    left.axhline(summary.rate.offered, color="tab:red", linestyle="--", label="offered req/s")
    for x, g in enumerate(groups):
        share = 1 - median_of(g, lambda r: r.served_share)
        left.annotate(f"{share:.0%} not served", (x, served[x]), ha="center", va="bottom", fontsize=9)
    left.set_title("Throughput")
    left.set_ylabel("requests per second")
    left.legend(loc="lower right")

    stats = [("mean", "mean_ms"), ("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"), ("max", "max_ms")]
    width = 0.8 / len(groups)
    for i, g in enumerate(groups):
        xs = [k + i * width for k in range(len(stats))]
        right.bar(xs, [median_of(g, attrgetter(key)) for _, key in stats], width, label=names[i])
    right.set_xticks([k + width * (len(groups) - 1) / 2 for k in range(len(stats))], [s for s, _ in stats])
    right.set_yscale("log")
    right.yaxis.set_major_formatter(ScalarFormatter())
    right.yaxis.set_minor_formatter(NullFormatter())
    right.set_title("Latency (log scale)")
    right.set_ylabel("ms")
    right.legend()
    fig.suptitle(f"{summary.rate.offered:g} req/s for {summary.duration}, "
                 f"{summary.machine['cores']} cores ({summary.machine['cpu_model']})", fontsize=10)
    _save(fig, out)


def sweep(out: Path, summary: Sweep) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, points in summary.curves.items():
        ns = [p.replicas for p in points]
        ax.plot(ns, [p.capacity for p in points], marker="o", label=name)
        for p in points:
            if p.efficiency is not None:
                ax.annotate(f"{p.efficiency:.0%}", (p.replicas, p.capacity),
                            textcoords="offset points", xytext=(0, 8), ha="center", fontsize=9)
    first = next(iter(summary.curves.values()))
    if first and first[0].ideal is not None:
        ax.plot([p.replicas for p in first], [p.ideal or 0 for p in first], linestyle="--", color="grey",
                label="ideal linear")
    ax.set_xscale("log", base=2)
    ax.set_xticks(summary.scales, [str(n) for n in summary.scales])
    ax.set_xlabel("replicas (or workers)")
    ax.set_ylabel(f"capacity, req/s (0 errors, p95 < {summary.p95_bound_ms:g} ms)")
    ax.set_title(f"Scaling on {summary.machine['cores']} cores ({summary.machine['cpu_model']}); "
                 "labels: efficiency", fontsize=10)
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, out)


def runtimes(out: Path, summary: Runtimes) -> None:
    """The article's test (its two published rows, hatched, beside ours) and the capacities."""
    names = [a.label for a in ARTICLE_ROWS] + [runtime_label(r) for r in summary.results]
    article = len(ARTICLE_ROWS)
    # No red among the profiles: red is what was not served.
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:cyan", "tab:olive"]
    colors = ["lightgrey"] * article + [palette[i % len(palette)] for i in range(len(summary.results))]
    hatches = ["//"] * article + [""] * len(summary.results)
    ys = list(range(len(names)))
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 0.45 * len(names) + 3), sharey=True)

    completed = [a.completed for a in ARTICLE_ROWS] + [r.article.completed - r.article.failed for r in summary.results]
    lost = [a.errors for a in ARTICLE_ROWS] + [r.article.failed + r.article.dropped for r in summary.results]
    left.barh(ys, completed, color=colors, hatch=hatches, edgecolor="grey", label="served (200)")
    left.barh(ys, lost, left=completed, color="tab:red", alpha=0.6, label="errors + dropped")
    left.set_yticks(ys, names)
    left.invert_yaxis()
    left.set_title(f"The article's test: {summary.rate:g} req/s, {summary.duration}, {summary.vus} VUs", fontsize=10)
    left.set_xlabel("requests")
    left.legend(loc="lower right", fontsize=8)

    means = [a.mean_ms for a in ARTICLE_ROWS] + [r.article.mean_ms for r in summary.results]
    longest = [a.max_ms for a in ARTICLE_ROWS] + [r.article.max_ms for r in summary.results]
    middle.barh([y - 0.2 for y in ys], means, 0.4, color=colors, hatch=hatches, edgecolor="grey", label="mean")
    middle.barh([y + 0.2 for y in ys], longest, 0.4, color=colors, hatch=hatches, edgecolor="black", alpha=0.5,
                label="longest")
    middle.set_xscale("log")
    middle.xaxis.set_major_formatter(ScalarFormatter())
    middle.xaxis.set_minor_formatter(NullFormatter())
    middle.set_title("Latency, ms (log scale): mean, then longest", fontsize=10)

    capacities = [r.capacity for r in summary.results]
    cap_ys = ys[article:]
    right.barh(cap_ys, capacities, color=colors[article:])
    for y, r in zip(cap_ys, summary.results, strict=True):
        mark = "" if r.bounded(summary.p95_bound_ms) or not r.capacity else "+"
        right.annotate(f"{r.capacity:g}{mark}", (r.capacity, y), xytext=(3, 0), textcoords="offset points",
                       va="center", fontsize=9)
    ratios = "; ".join(f"{r.label} {r.text()}" for r in summary.ratios() if r.value is not None)
    right.margins(x=0.15)  # room for the labels
    right.set_title(f"Capacity at {summary.capacity_vus} VUs, req/s", fontsize=10)
    right.set_xlabel(ratios, fontsize=8, wrap=True)
    fig.suptitle(f"{summary.machine['cores']} cores ({summary.machine['cpu_model']}); "
                 "hatched: the article's published rows (its machine)", fontsize=10)
    _save(fig, out)
