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
from .report import column_title


def save(fig: Figure, out: Path) -> None:
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
    save(fig, out)


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
    save(fig, out)
