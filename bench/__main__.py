"""python -m bench {compare,sweep,cost}: see the Makefile's bench targets for the usual calls."""

from __future__ import annotations

import argparse
import sys

from .progress import note
from .run import compare
from .settings import BenchError, Settings
from .sweep import sweep

PROFILES = ("one", "many", "workers")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(
        "Benchmark the api with k6. Settings come from the environment: RATE, DURATION, VUS, "
        "SCALE, HTTP_PORT, WORKERS_PORT, P95_MS, P99_MS, SWEEP_SCALES, SWEEP_DURATION, "
        "SWEEP_RUNS, BENCH_PROJECT, RESULTS_DIR, K6, NGINX."))
    parser.add_argument("--backend", choices=("auto", "docker", "host"), default="auto",
                        help="docker: compose profiles; host: replicas as host processes behind a host nginx")
    sub = parser.add_subparsers(dest="command", required=True)
    cmp_ = sub.add_parser("compare", help="the same load against each profile, side by side")
    cmp_.add_argument("--profiles", default="one,many", help="comma-separated: one, many, workers")
    sw = sub.add_parser("sweep", help="capacity at each of SWEEP_SCALES replicas vs ideal linear scaling")
    sw.add_argument("--with-workers", action="store_true", help="also sweep uvicorn --workers N")
    sub.add_parser("cost", help="server CPU per /api request against the bare loop (no Docker)")
    args = parser.parse_args(argv)
    if args.command == "compare":
        args.profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
        unknown = set(args.profiles) - set(PROFILES)
        if unknown or not args.profiles:
            parser.error(f"unknown profile(s) {sorted(unknown)}; choose from {', '.join(PROFILES)}")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        settings = Settings.from_env()
        if args.command == "compare":
            compare(settings, args.backend, args.profiles)
        elif args.command == "cost":
            from .cost import cost

            cost(settings)
        else:
            sweep(settings, args.backend, args.with_workers)
    except BenchError as exc:
        note(f"ERROR: {exc}")
        return 1
    except KeyboardInterrupt:
        note("interrupted; the profile that was up has been taken down")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
