"""The chart of `bench runtimes` (PNG and SVG, off-screen like bench/chart.py's)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # as bench/chart.py: this module may be the first to load pyplot
import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter, ScalarFormatter

from ..chart import save
from .report import runtime_label
from .summary import ARTICLE_ROWS, Runtimes


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
    save(fig, out)
