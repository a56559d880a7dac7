"""The report's resource and monitoring parts: rows for the comparison table, and one
compact table per profile of what each container used."""

from __future__ import annotations

from collections.abc import Callable

from ..model import Run, stat
from .prometheus import QUERIES, promql
from .usage import REPLICA

Table = list[list[str]]
Row = tuple[str, Callable[[list[Run]], str]]


def _row(label: str, part: str, name: str, fmt: str, unit: str) -> Row:
    """A row of one optional number: run.<part>.<name>, where part (resources, monitoring)
    is None in runs that did not measure it."""
    def value(run: Run) -> float | None:
        measured = getattr(run, part)
        number: float | None = None if measured is None else getattr(measured, name)
        return number
    return label, lambda runs: stat(runs, value, fmt, unit)


def _replica_rates(runs: list[Run]) -> str:
    watched = runs[-1].monitoring
    if watched is None or not watched.api_rps_by_replica:
        return "-"
    return ", ".join(f"{rps:.1f}" for _, rps in sorted(watched.api_rps_by_replica.items())) + " req/s"


ROWS: list[Row] = [
    _row("Replicas' CPU per request", "resources", "cpu_ms_per_request", "{:.2f}", " ms"),
    _row("nginx CPU per request", "resources", "proxy_cpu_ms_per_request", "{:.2f}", " ms"),
    _row("Peak memory (largest replica)", "resources", "peak_mem_mb", "{:.0f}", " MB"),
]
MONITOR_ROWS: list[Row] = [
    ("Prometheus: /api rate by replica", _replica_rates),
    _row("Prometheus: p95 queue wait", "monitoring", "queue_wait_p95_ms", "{:.1f}", " ms"),
    _row("Prometheus: shed rate", "monitoring", "shed_rps", "{:.2f}", " /s"),
    _row("Prometheus: nginx retries", "monitoring", "nginx_retry_rps", "{:.2f}", " /s"),
]


def rows_for(runs: list[Run]) -> list[Row]:
    """The resource rows when any run has resources; the Prometheus rows when any was monitored."""
    rows = ROWS if any(r.resources for r in runs) else []
    return rows + (MONITOR_ROWS if any(r.monitoring for r in runs) else [])


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def usage_table(run: Run) -> Table:
    """One run's containers: CPU seconds during k6, peak memory, and CPU per request: per
    request it served for a replica, per request of the run for the others."""
    res = run.resources
    if res is None:
        return []
    rows = [["Container", "Role", "CPU during the run", "Peak memory", "CPU per request"]]
    for name, u in res.containers.items():
        # A replica's own requests (X-Replica is its hostname, or its name on the host backend).
        served = (run.per_replica.get(u.id) or run.per_replica.get(name)) if u.role == REPLICA else res.requests
        per = None if u.cpu_s is None or not served else u.cpu_s / served * 1000
        rows.append([name, u.role, _num(u.cpu_s, "{:.2f} s"), _num(u.peak_mem_mb, "{:.0f} MB"),
                     _num(per, "{:.2f} ms")])
    rows.append(["all replicas", "replica", _num(res.replicas_cpu_s, "{:.2f} s"), "",
                 _num(res.cpu_ms_per_request, "{:.2f} ms")])
    return rows


def resources_md(runs: list[Run], title: Callable[[Run], str], markdown: Callable[[Table], str]) -> list[str]:
    """A section per profile (its last run), then the PromQL the Prometheus rows came from."""
    last = {r.profile: (r, r.resources) for r in runs if r.resources}
    md: list[str] = []
    for i, (run, res) in enumerate(last.values()):
        if i == 0:
            md += ["## What each container used", "",
                   "CPU: the difference of two readings around the k6 run; peak memory: the highest use "
                   f"during it. Source: {res.source}.", ""]
        md += [f"### {title(run)}: {res.requests} requests completed", "", markdown(usage_table(run)), "",
               *([f"Note: {res.note}.", ""] if res.note else [])]
    if any(r.monitoring for r in runs):
        md += ["## PromQL behind the Prometheus rows", "", "Each evaluated at the run's end over a range as long "
               "as the run (here as a dashboard writes it, with [30s]):", "",
               *(f"- {name}: `{promql(q)}`" for name, q in QUERIES.items()), ""]
    return md
