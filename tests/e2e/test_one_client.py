"""One load-testing client against the stack as shipped: served at any rate the replicas can
serve, never 429 (issue: `ab -n 1000 -c 10` and k6 at 150 req/s got hundreds of 429s)."""

import collections
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import Ab, Stack

pytestmark = pytest.mark.e2e

K6 = ROOT / ".venv" / "bin" / "k6"
RATE, SECONDS = 500, 10
# Enough in flight that latency spikes on 2 cores (p99 ~200 ms) rarely leave k6 without a
# free VU, and far too few for a replica to shed: 50 jobs of n=1000 (~0.05 ms each) are
# ~3 ms of work, against API_MAX_WAIT_S's 0.5 s. Any failure is a real one.
VUS = 50
PATH = "/api?n=1000"
NEARLY_ALL = 0.95  # of the offered requests completed; measured: 98.7% (492 req/s at 500)


def statuses(stack: Stack, since: float, path: str) -> collections.Counter:
    """Status codes nginx logged for `path` since `since`: the server's own count."""
    return collections.Counter(e["status"] for e in stack.access_log(since) if e["request"].split()[1] == path)


def test_k6_at_500_rps_from_one_client_fails_nothing(stack: Stack, tmp_path: Path, tally) -> None:
    summary = tmp_path / "k6-summary.json"
    since = time.time()
    run = subprocess.run(
        [str(K6), "run", "--quiet", "-e", f"BASE_URL={stack.base_url}", "-e", f"API_PATH={PATH}",
         "-e", f"RATE={RATE}", "-e", f"DURATION={SECONDS}s", "-e", f"VUS={VUS}",
         "-e", f"SUMMARY_JSON={summary}", str(ROOT / "k6" / "api.js")],
        capture_output=True, text=True, timeout=300)
    assert summary.exists(), f"k6 wrote no summary (exit {run.returncode}):\n{run.stdout[-2000:]}{run.stderr[-2000:]}"
    result = json.loads(summary.read_text())
    logged = statuses(stack, since, PATH)
    offered = RATE * SECONDS
    tally(f"k6 {RATE} req/s for {SECONDS} s, {VUS} VUs, {PATH}: {result['completed']} of {offered} completed "
          f"({result['achieved_rps']:.0f} req/s), {result['failed']} failed, {result['dropped']} dropped, "
          f"p95 {result['p95_ms']:.0f} ms; nginx logged {dict(logged)}")
    # 99: k6 ran and a threshold was crossed (a few dropped iterations, or p95); checked below.
    assert run.returncode in (0, 99), run.stdout[-2000:] + run.stderr[-2000:]
    assert result["failed"] == 0 and result["checks"]["failed"] == 0
    assert result["completed"] >= NEARLY_ALL * offered, "one client must get nearly every request served"
    assert logged[429] == 0, "a per-client limit answered the load test"
    assert logged[200] >= result["completed"], f"nginx saw fewer requests than k6 completed: {logged}"


def test_the_issues_ab_command_gets_no_429(stack: Stack, ab: Ab, tally) -> None:
    """The issue's own command: ab -n 1000 -c 10 http://127.0.0.1:8080/api."""
    since = time.time()
    run = ab(1000, 10, f"{stack.base_url}/api")
    report = run.report
    logged = statuses(stack, since, "/api")
    tally(f"ab -n 1000 -c 10 /api: {report.get('Complete requests')} complete, "
          f"{report.get('Failed requests')} failed, {report.get('Non-2xx responses', 0)} non-2xx, "
          f"{report.get('Requests per second')} req/s; nginx logged {dict(logged)}")
    assert run.returncode == 0, run.stderr[-2000:]
    assert report["Complete requests"] == "1000" and report["Failed requests"] == "0"
    assert "Non-2xx responses" not in report
    assert logged == {200: 1000}
