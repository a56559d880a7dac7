"""Run a k6 script once (k6/api.js unless told): its JSON summary becomes a Run, its HTML
report lands next to it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .model import K6_FIELDS, Run
from .progress import Progress
from .settings import ROOT, BenchError, duration_s

SCRIPT = ROOT / "k6" / "api.js"
THRESHOLDS_FAILED = 99  # k6's exit code when the run completed but a threshold was crossed


@dataclass(frozen=True)
class Load:
    """What k6 is asked to do: its environment, as k6/api.js reads it."""

    base_url: str
    rate: float
    duration: str
    vus: int
    p95_ms: float
    p99_ms: float
    path: str = "/api"
    script: Path = SCRIPT  # e.g. k6/balance.js, which reads the same variables and its own (JOB_MIX)

    def env(self) -> dict[str, str]:
        return {"BASE_URL": self.base_url, "API_PATH": self.path, "SCENARIO": "load", "RATE": f"{self.rate:g}",
                "DURATION": self.duration, "VUS": str(self.vus), "P95_MS": f"{self.p95_ms:g}",
                "P99_MS": f"{self.p99_ms:g}"}


@dataclass(frozen=True)
class Context:
    """What k6 cannot know about the run: which profile, how many replicas, where."""

    profile: str
    backend: str
    replicas: int
    cores: int


def dashboard_env(html: Path) -> dict[str, str]:
    # k6's built-in web dashboard writes a self-contained HTML report at the end. Its HTTP
    # server is off (port -1): nothing to leave open. Its default 10 s period leaves a
    # short run with too few points to report ("not enough data"), hence 1 s.
    # https://grafana.com/docs/k6/latest/results-output/web-dashboard/
    return {"K6_WEB_DASHBOARD": "true", "K6_WEB_DASHBOARD_PORT": "-1",
            "K6_WEB_DASHBOARD_PERIOD": "1s", "K6_WEB_DASHBOARD_EXPORT": str(html)}


def run(k6: str, load: Load, context: Context, out_dir: Path, name: str, progress: Progress,
        html: bool = True, output: tuple[list[str], dict[str, str]] | None = None) -> Run:
    """Files: out_dir/k6-<name>.json (the summary), .log (k6's output) and .html (the report).
    `output`: more k6 arguments and environment, e.g. Prometheus remote write (bench/resources/prometheus.py)."""
    summary, log_path = out_dir / f"k6-{name}.json", out_dir / f"k6-{name}.log"
    summary.unlink(missing_ok=True)
    report = dashboard_env(out_dir / f"k6-{name}.html") if html else {}
    args, output_env = output or ([], {})
    env = {**os.environ, **load.env(), **report, **output_env, "SUMMARY_JSON": str(summary)}
    planned, started = duration_s(load.duration), time.monotonic()
    with log_path.open("w") as log:
        try:
            proc = subprocess.Popen([k6, "run", "--quiet", "--no-color", *args, str(load.script)],
                                    stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        except FileNotFoundError:
            raise BenchError(f"k6 not found at {k6!r}: run `make setup` (it installs k6 into .venv) "
                             "or set K6=") from None
        while proc.poll() is None:
            if _tick(started, proc):
                left = max(planned - (time.monotonic() - started), 0)
                progress.say(f"k6 at {load.rate:g} req/s on {load.path}: {left:.0f} s of {planned:.0f} s left")
    if proc.returncode not in (0, THRESHOLDS_FAILED) or not summary.exists():
        raise BenchError(f"k6 exited with code {proc.returncode} before writing its summary.\n"
                         f"{_tail(log_path)}\nFull log: {log_path}")
    return to_run(json.loads(summary.read_text()), context, proc.returncode)


def to_run(k6_summary: dict[str, Any], context: Context, exit_code: int) -> Run:
    missing = [f for f in K6_FIELDS if f not in k6_summary]
    if missing:
        raise BenchError(f"k6's summary lacks {missing}: k6/lib/summary.js and bench/model.py disagree")
    fields = {f: k6_summary[f] for f in K6_FIELDS}
    return Run(**fields, profile=context.profile, backend=context.backend, replicas=context.replicas,
               cores=context.cores, k6_exit_code=exit_code)


def _tick(started: float, proc: subprocess.Popen[bytes], every_s: float = 5.0) -> bool:
    """Wait up to every_s; True when it is time for a progress line."""
    try:
        proc.wait(timeout=every_s - (time.monotonic() - started) % every_s)
        return False
    except subprocess.TimeoutExpired:
        return True


def _tail(path: Path, n: int = 15) -> str:
    return "\n".join(path.read_text().splitlines()[-n:])
