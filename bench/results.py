"""One run's numbers, flattened from k6's summary JSON into what summary.json keeps."""

from __future__ import annotations


def flatten(profile: str, replicas: int, cores: int, backend: str, k6: dict) -> dict:
    lat = k6["latency_ms"]
    spread = k6["replicas"]
    return {
        "profile": profile,
        "backend": backend,
        "target_url": k6["target_url"],
        "replicas": replicas,
        "cores": cores,
        "offered_rate": k6["offered_rate"],
        "duration_s": k6["duration_s"],
        "concurrency": k6["concurrency"],
        "test_time_s": round(k6["test_time_s"], 3),
        "achieved_rps": round(k6["rps"], 2),
        "completed": k6["completed"],
        "failed": k6["failed"],
        "dropped": k6["dropped"],
        "not_served": k6["not_served"],
        "mean_ms": round(lat["mean"], 3),
        "p50_ms": round(lat["p50"], 3),
        "p95_ms": round(lat["p95"], 3),
        "p99_ms": round(lat["p99"], 3),
        "max_ms": round(lat["max"], 3),
        "per_replica": spread["counts"],
        "replica_max_min_ratio": spread["max_min_ratio"],
        "without_replica_header": spread["without_replica"],
        "thresholds": k6["thresholds"],
        "thresholds_passed": k6["thresholds_passed"],
        "k6_exit_code": k6["k6_exit_code"],
    }


def sustained(run: dict, p95_ms: float) -> bool:
    """The capacity criterion: 0 errors, 0 dropped iterations, p95 under the bound."""
    return run["failed"] == 0 and run["dropped"] == 0 and run["p95_ms"] < p95_ms and run["completed"] > 0
