"""Run k6/api.js once and return its handleSummary JSON."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from .progress import Progress
from .settings import ROOT, BenchError, duration_s

SCRIPT = ROOT / "k6" / "api.js"
THRESHOLDS_FAILED = 99  # k6's exit code when the run completed but a threshold was crossed


def run(k6: str, env: dict[str, str], out_dir: Path, name: str, progress: Progress) -> dict:
    """env holds BASE_URL, SCENARIO, RATE, DURATION, VUS...; logs go to out_dir/k6-<name>.log."""
    summary = out_dir / f"k6-{name}.json"
    log_path = out_dir / f"k6-{name}.log"
    summary.unlink(missing_ok=True)
    full_env = {**os.environ, **env, "SUMMARY_JSON": str(summary)}
    planned = duration_s(env.get("DURATION", "20s"))
    started = time.monotonic()
    with log_path.open("w") as log:
        try:
            proc = subprocess.Popen([k6, "run", "--quiet", "--no-color", str(SCRIPT)],
                                    stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=ROOT)
        except FileNotFoundError:
            raise BenchError(f"k6 not found at {k6!r}: run `make setup` (it installs k6 into .venv) or set K6=") from None
        while proc.poll() is None:
            if _tick(started, proc):
                left = max(planned - (time.monotonic() - started), 0)
                progress.say(f"k6 {env['SCENARIO']} at {env.get('RATE', '-')} req/s: {left:.0f} s of {planned:.0f} s left")
    if proc.returncode not in (0, THRESHOLDS_FAILED) or not summary.exists():
        raise BenchError(f"k6 exited with code {proc.returncode} before writing its summary.\n"
                         f"{_tail(log_path)}\nFull log: {log_path}")
    result = json.loads(summary.read_text())
    result["k6_exit_code"] = proc.returncode
    result["text"] = _report_text(log_path)
    return result


def _tick(started: float, proc: subprocess.Popen, every_s: float = 5.0) -> bool:
    """Wait up to every_s; True when it is time for a progress line."""
    try:
        proc.wait(timeout=every_s - (time.monotonic() - started) % every_s)
        return False
    except subprocess.TimeoutExpired:
        return True


def _report_text(log_path: Path) -> str:
    # handleSummary's readable text, without k6's own log lines.
    lines = log_path.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("k6 ") and line.endswith("summary")), len(lines))
    return "\n".join(line for line in lines[start:] if not line.startswith("time="))


def _tail(path: Path, n: int = 15) -> str:
    return "\n".join(path.read_text().splitlines()[-n:])
