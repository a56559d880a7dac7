"""The report's resource and monitoring parts: rows for the comparison table, and one
compact table per profile of what each container used."""

from __future__ import annotations

from collections.abc import Callable

from .model import Run, median_of, spread_of
from .monitoring import QUERIES, promql
from .usage import REPLICA

Table = list[list[str]]


def _stat(runs: list[Run], value: Callable[[Run], float | None], fmt: str, unit: str) -> str:
    """Median (min-max) over the runs that have the value; "-" when none has it."""
    have = [r for r in runs if value(r) is not None]
    if not have:
        return "-"
    def num(r: Run) -> float:
        v = value(r)
        return 0.0 if v is None else v
    text = fmt.format(median_of(have, num)) + unit
    if len(have) > 1:
        low, high = spread_of(have, num)
        text += f" ({fmt.format(low)}-{fmt.format(high)})"
    return text


def _replica_rates(runs: list[Run]) -> str:
    watched = runs[-1].monitoring
    if watched is None or not watched.api_rps_by_replica:
        return "-"
    return ", ".join(f"{rps:.1f}" for _, rps in sorted(watched.api_rps_by_replica.items())) + " req/s"


ROWS: list[tuple[str, Callable[[list[Run]], str]]] = [
    ("Replicas' CPU per request", lambda rs: _stat(
        rs, lambda r: r.resources.cpu_ms_per_request if r.resources else None, "{:.2f}", " ms")),
    ("nginx CPU per request", lambda rs: _stat(
        rs, lambda r: r.resources.proxy_cpu_ms_per_request if r.resources else None, "{:.2f}", " ms")),
    ("Peak memory (largest replica)", lambda rs: _stat(
        rs, lambda r: r.resources.peak_mem_mb if r.resources else None, "{:.0f}", " MB")),
]
MONITOR_ROWS: list[tuple[str, Callable[[list[Run]], str]]] = [
    ("Prometheus: /api rate by replica", _replica_rates),
    ("Prometheus: p95 queue wait", lambda rs: _stat(
        rs, lambda r: r.monitoring.queue_wait_p95_ms if r.monitoring else None, "{:.1f}", " ms")),
    ("Prometheus: shed rate", lambda rs: _stat(
        rs, lambda r: r.monitoring.shed_rps if r.monitoring else None, "{:.2f}", " /s")),
    ("Prometheus: nginx retries", lambda rs: _stat(
        rs, lambda r: r.monitoring.nginx_retry_rps if r.monitoring else None, "{:.2f}", " /s")),
]


def rows_for(runs: list[Run]) -> list[tuple[str, Callable[[list[Run]], str]]]:
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
