"""python -m bench {compare,sweep,rate,balance,runtimes,breakdown,warmup,cost,tls,plan,plan-validate,
plan-scale}: the Makefile's bench targets show the calls."""

from __future__ import annotations

import argparse
import sys

from . import backends, profiles
from .compare import compare
from .progress import note
from .rate import rate
from .runtimes import command as runtimes
from .settings import BenchError, Settings
from .sweep import sweep


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(
        "Benchmark the api with k6. Settings come from the environment: RATE, DURATION, VUS, SCALE "
        "(default: one replica per core), REPEAT, PROBE_DURATION, HTTP_PORT, WORKERS_PORT, P95_MS, P99_MS, "
        "RATE_P95_MS, JOB_MIX, BALANCE_LOADS, SLOW_CPUS, "
        "SWEEP_SCALES, SWEEP_DURATION, SWEEP_RUNS, RUNTIMES_VUS, NODE_PORT, API_IMAGE, BENCH_PROJECT, "
        "RESULTS_DIR, K6, NGINX, HOST_REPLICA_PORT, COST_REQUESTS, COST_CHEAP_REQUESTS, COST_PORT; MONITOR=1 "
        "(Docker: compose's monitoring profile, k6 remote write to Prometheus on PROMETHEUS_PORT, PromQL values "
        "per run)."))
    parser.add_argument("--backend", choices=backends.CHOICES, default="auto",
                        help="docker: compose profiles; host: replicas as host processes behind a host nginx")
    sub = parser.add_subparsers(dest="command", required=True)
    cmp_ = sub.add_parser("compare", help="the same load against each profile, side by side")
    cmp_.add_argument("--profiles", default="one,many", help=f"comma-separated: {', '.join(profiles.PROFILES)}")
    sw = sub.add_parser("sweep", help="capacity at each of SWEEP_SCALES replicas vs ideal linear scaling")
    sw.add_argument("--with-workers", action="store_true", help="also sweep uvicorn --workers N")
    sub.add_parser("rate", help="nginx + SCALE replicas vs uvicorn --workers SCALE on cheap requests")
    sub.add_parser("balance", help="balancing methods on mixed job sizes (JOB_MIX, BALANCE_LOADS, SLOW_CPUS), "
                                   "against uvicorn --workers, one slowed replica of 4, 8 on few cores (Docker)")
    rt = sub.add_parser("runtimes", help="the article's test, then capacity at RUNTIMES_VUS VUs: CPython and PyPy "
                                         "(1 and SCALE replicas) and the Node cluster (Docker unless --backend host)")
    rt.add_argument("--profiles", default="", help="comma-separated subset, default all: "
                                                   f"{', '.join(p.name for p in profiles.RUNTIME_PROFILES)}")
    sub.add_parser("breakdown", help="CPU per request of the replica and nginx, layer by layer, CPython vs PyPy")
    sub.add_parser("warmup", help="the first seconds of a PyPy replica: API_WARMUP_S=0 against the default")
    sub.add_parser("tls", help="capacity and CPU per request of plain HTTP/1.1, HTTPS (kept and new connections) "
                               "and HTTP/2 at nginx, on the cheap job (Docker)")
    sub.add_parser("cost", help="server CPU per /api request against the bare loop, and metrics on vs off (no Docker)")
    sub.add_parser("plan", help="replicas needed per balancing method for p95 <= P95_MS at RATE, simulated from a "
                                "result file (PLAN_RESULT, JOB_MIX, PLAN_NGINX, PLAN_CORES_PER_HOST, PLAN_PROMETHEUS; "
                                "docs/capacity.md)")
    sub.add_parser("plan-validate", help="the planner's predictions against the committed bench-balance runs "
                                         "(docs/benchmarks/2core-plan-validation)")
    sub.add_parser("plan-scale", help="the planner at 16, 64 and 256 cores, 1-4 nginx, a 16-core sweep "
                                      "(docs/benchmarks/plan-scale, for docs/capacity.md)")
    args = parser.parse_args(argv)
    if args.command == "compare":
        try:
            args.profiles = profiles.parse(args.profiles)
        except ValueError as exc:
            parser.error(str(exc))
    if args.command == "runtimes":
        try:
            args.profiles = runtimes.parse(args.profiles)
        except ValueError as exc:
            parser.error(str(exc))
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        settings = Settings.from_env()
        if args.command == "compare":
            compare(settings, args.backend, args.profiles)
        elif args.command == "sweep":
            sweep(settings, args.backend, args.with_workers)
        elif args.command == "rate":
            rate(settings, args.backend)
        elif args.command == "balance":
            from .balance.command import balance

            balance(settings, args.backend)
        elif args.command == "runtimes":
            # PyPy and Node run in containers: auto means Docker here, never host processes.
            runtimes.runtimes(settings, "docker" if args.backend == "auto" else args.backend, args.profiles)
        elif args.command == "warmup":
            from .studies.warmup import warmup

            warmup(settings)
        elif args.command == "breakdown":
            from .studies.breakdown import breakdown

            breakdown(settings)
        elif args.command == "plan":
            from .plan.command import plan

            plan(settings)
        elif args.command == "plan-validate":
            from .plan.validate import validate

            validate(settings)
        elif args.command == "plan-scale":
            from .plan.scale import plan_scale

            plan_scale(settings)
        elif args.command == "tls":
            from .tls.command import tls

            tls(settings)
        else:
            from .studies.stack_cost import cost  # imports the service and uvicorn: only when asked

            cost(settings)
    except BenchError as exc:
        note(f"ERROR: {exc}")
        return 1
    except KeyboardInterrupt:
        note("interrupted; the profile that was up has been taken down")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
