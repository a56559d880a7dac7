"""k6/balance.js, the mixed-size load of `make bench-balance`, against the stack as shipped:
each size is sent in its share, answered right, and reported apart."""

import collections
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

K6 = ROOT / ".venv" / "bin" / "k6"
MIX = "0.75:1000,0.25:100000"  # cheap sizes: the stack is shared with the other tests
RATE, SECONDS = 40, 5


def test_the_mixed_load_sends_each_size_in_its_share_and_reports_it_apart(stack: Stack, tmp_path: Path,
                                                                         tally) -> None:
    summary = tmp_path / "k6-summary.json"
    since = time.time()
    run = subprocess.run(
        [str(K6), "run", "--quiet", "-e", f"BASE_URL={stack.base_url}", "-e", f"JOB_MIX={MIX}", "-e", f"RATE={RATE}",
         "-e", f"DURATION={SECONDS}s", "-e", f"SUMMARY_JSON={summary}", str(ROOT / "k6" / "balance.js")],
        capture_output=True, text=True, timeout=120)
    assert summary.exists(), f"k6 wrote no summary (exit {run.returncode}):\n{run.stdout[-2000:]}{run.stderr[-2000:]}"
    result = json.loads(summary.read_text())
    logged = collections.Counter(e["request"].split()[1] for e in stack.access_log(since)
                                 if e["request"].startswith("GET /api?n=") and e["status"] == 200)
    jobs = {j["label"]: j for j in result["jobs"]}
    tally(f"k6/balance.js {MIX} at {RATE} req/s for {SECONDS} s: "
          + ", ".join(f"{j['label']} n={j['n']}: {j['completed']} (p95 {j['p95_ms']:.0f} ms)" for j in result["jobs"])
          + f"; nginx logged {dict(logged)}")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert set(jobs) == {"small", "large"} and (jobs["small"]["n"], jobs["large"]["n"]) == (1000, 100000)
    assert result["failed"] == 0 and result["checks"]["failed"] == 0 and result["dropped"] == 0
    assert sum(j["completed"] for j in jobs.values()) == result["completed"]
    for job in jobs.values():
        assert logged[f"/api?n={job['n']}"] == job["completed"], "k6's count of a size is what nginx served"
        assert abs(job["completed"] / result["completed"] - job["share"]) < 0.15, "each size comes in its share"
        assert 0 < job["p50_ms"] <= job["p95_ms"] <= job["p99_ms"] <= job["max_ms"]
