"""`python -m bench plan-validate`: the planner against what `make bench-balance` measured.

Each measured run is simulated as it ran: its replicas on the machine's cores, its method
and lanes (and the slowed replica's `--cpus`), arrivals at its rate for its duration from a
cold start, and on the same cores the CPU that the rest of the machine
spent per request in that run (/proc/stat less the replicas: k6, nginx, Docker's port
proxy, the kernel). The job cost comes from the same run's cgroup CPU, never from its
latencies. Five seeds are pooled: the prediction of one 20 s run. Twice: with Poisson
arrivals, as the planner plans (independent users), and with k6's schedule, one request
every 1/rate s, which k6 keeps only when it gets a core on time: on 2 busy cores its
timers slip and late requests leave in bunches. The measured p95 should lie between the
two, nearer the Poisson one the busier the cores. uvicorn --workers and
the Node cluster are not modelled (the kernel deals their connections). The measured runs
live in docs/benchmarks/2core-plan-validation/balance-*/; the page is written beside them.
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.settings import Settings as ReplicaDefaults

from ..progress import note
from ..report import publish
from ..settings import ROOT, BenchError, Settings, duration_s
from . import calibrate, validation_report
from .search import capacity, percentiles
from .sim import Traffic, simulate
from .workload import Cost, Stack, method_name

OUT = ROOT / "docs" / "benchmarks" / "2core-plan-validation"
RUNS = sorted(OUT.glob("balance-*/summary.json"))
TLS = ROOT / "docs" / "benchmarks" / "2core-tls" / "tls.json"
SEEDS = 5


def k6_cpu_per_request() -> float:
    """k6's own CPU per request, from the plain HTTP/1.1 row of `make bench-tls`."""
    mode = next(m for m in json.loads(TLS.read_text())["modes"] if m["key"] == "http1")
    return float(mode["cpu"]["client_cpu_s"]) / float(mode["cpu"]["requests"])


def stack_of(label: str, replicas: int, cores: int, host_cpu_s: float, caps: tuple[float, ...] = ()) -> Stack | None:
    """bench/balance/variants.py's labels -> the stack they ran; None for what is not nginx."""
    if label.startswith(("uvicorn", "Node")):
        return None
    method, lanes = label.removeprefix("shipped: ").split(", ")
    return Stack(replicas, method_name(method), cores_per_host=cores, caps=caps, host_cpu_per_request_s=host_cpu_s,
                 long_job_s=0.0 if lanes == "one lane" else ReplicaDefaults.long_job_s)


def own_cost(run: dict[str, Any], source: calibrate.Calibration) -> Cost:
    """The cost of a unit in this run, from its own cgroup CPU: it grows with the load
    (7.8 to 8.2 ms a request from 50% to 90% in 2core-balance), as caches and the
    hypervisor's other tenants share the cores."""
    cpu = (run.get("resources") or {}).get("cpu_ms_per_request")
    if not cpu:
        return source.cost
    unit = calibrate.per_unit([cpu / 1000], source.cost.fixed_s, source.mix.mean_units, "a run")
    return replace(source.cost, per_unit_s=unit)


def other_cpu(run: dict[str, Any], k6_cpu: float) -> float:
    """CPU per request the rest of the machine took from the replicas' cores: measured in the
    run's steady part (/proc/stat, bench/resources/steady.py), else what nginx (its cgroup)
    and k6 (bench-tls) alone took."""
    resources = run.get("resources") or {}
    if resources.get("other_cores") is not None and run.get("achieved_rps"):
        return float(resources["other_cores"]) / float(run["achieved_rps"])
    return float(resources.get("proxy_cpu_ms_per_request") or 0.0) / 1000 + k6_cpu


def nginx_runs(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The measured runs of stacks behind nginx, all replicas healthy."""
    return [e for e in summary["entries"] if "rate" in e and not e["slowed"]
            and not e["stack"].startswith(("uvicorn", "Node"))]


def measured_other_cpu() -> float:
    """The median over the validation runs of the rest of the machine's CPU per request."""
    k6_cpu = k6_cpu_per_request()
    found = [other_cpu(e["run"], k6_cpu) for path in RUNS for e in nginx_runs(json.loads(path.read_text()))]
    if not found:
        raise BenchError(f"no measured run in {OUT}/balance-*/summary.json: `make bench-balance` writes one")
    return statistics.median(found)


def predict(entry: dict[str, Any], summary: dict[str, Any], source: calibrate.Calibration,
            k6_cpu: float) -> dict[str, Any] | None:
    run = entry["run"]
    caps = (summary["slow_cpus"],) if entry["slowed"] else ()
    stack = stack_of(entry["stack"], entry["replicas"], summary["machine"]["cores"], other_cpu(run, k6_cpu), caps)
    if stack is None:
        return None
    traffic = Traffic(entry["rate"], source.mix, own_cost(run, source))
    outcome = simulate(stack, traffic, run["duration_s"], seeds=SEEDS)
    even = simulate(stack, replace(traffic, arrivals="even"), run["duration_s"], seeds=SEEDS)
    measured = {"all": {"p50_ms": run["p50_ms"], "p95_ms": run["p95_ms"], "p99_ms": run["p99_ms"]}}
    measured |= {j["label"]: {k: j[k] for k in ("p50_ms", "p95_ms", "p99_ms")} for j in entry["jobs"]}
    return {"file": summary["started"], "case": entry["case"], "stack": entry["stack"], "replicas": entry["replicas"],
            "load": entry["load"], "rate": entry["rate"], "slowed": entry["slowed"], "measured": measured,
            "per_unit_ns": round(traffic.cost.per_unit_s * 1e9, 3),
            "other_cpu_ms": round(stack.host_cpu_per_request_s * 1000, 3),
            "predicted": percentiles(outcome, source.mix), "even": percentiles(even, source.mix),
            "shed": {"measured": entry["shed_503"], "predicted": round(outcome.shed_share * run["completed"])}}


def capacities(summary: dict[str, Any], source: calibrate.Calibration, k6_cpu: float,
               p95_bound_ms: float, step_s: float) -> list[dict[str, Any]]:
    """The capacity search's result on the mix (the round-robin stack's, which set the
    loads) and the 8-replica one, against the same search on the model, in steps of
    step_s as bench balance's search (PROBE_DURATION)."""
    cores, scale = summary["machine"]["cores"], summary["scale"]
    # The capacity searches record no CPU: the median of the file's measured runs stands in.
    host_cpu = statistics.median(other_cpu(e["run"], k6_cpu) for e in nginx_runs(summary))
    rows = [("round-robin, one lane", scale, summary["capacity"])]
    rows += [(e["stack"], e["replicas"], e["capacity"]) for e in summary["entries"]
             if e["case"] == "oversubscribed" and not e["stack"].startswith("uvicorn")]
    found = []
    for label, replicas, measured in rows:
        stack = stack_of(label, replicas, cores, host_cpu)
        if stack is None:
            continue
        traffic = Traffic(measured, source.mix, source.cost)
        found.append({"file": summary["started"], "stack": label, "replicas": replicas, "measured": measured,
                      "predicted": round(capacity(stack, traffic, p95_bound_ms, step_s)),
                      "even": round(capacity(stack, replace(traffic, arrivals="even"), p95_bound_ms, step_s))})
    return found


def validate(settings: Settings, files: list[Path] | None = None, out: Path | None = None) -> Path:
    out = out or Path(os.environ.get("PLAN_VALIDATION_DIR", "").strip() or OUT)
    k6_cpu = k6_cpu_per_request()
    rows: list[dict[str, Any]] = []
    caps: list[dict[str, Any]] = []
    files = files or RUNS
    if not files:
        raise BenchError(f"no measured run in {OUT}/balance-*/summary.json: copy a `make bench-balance` result there")
    for path in files:
        summary = json.loads(path.read_text())
        source = calibrate.from_summary(summary, path)
        note(f"plan-validate: {path.parent.name}: {source.cost.per_unit_s * 1e9:.2f} ns a unit from its cgroup CPU")
        for entry in summary["entries"]:
            if "rate" in entry and (row := predict(entry, summary, source, k6_cpu)):
                rows.append(row | {"source": path.parent.name})
        caps += [c | {"source": path.parent.name}
                 for c in capacities(summary, source, k6_cpu, settings.p95_ms, duration_s(settings.probe_duration))]
    result = {"kind": "plan-validation", "seeds": SEEDS, "k6_cpu_ms": round(k6_cpu * 1000, 3), "runs": rows,
              "capacities": caps}
    publish(out, "validation.json", result, validation_report.markdown(result))
    return out
