"""The no-Docker backend runs for real: host replicas behind Debian's nginx, 1 against 2.

This is what a many-core box without Docker runs (make bench-host, make bench-host-sweep);
it rewrites a copy of nginx/ for host ports, so a change there that it cannot follow fails here.
"""

import json
import os
import subprocess
import sys

import pytest

from bench.backends.host import find_nginx
from bench.settings import BenchError
from tests import ports
from tests.conftest import IN_CI, ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def nginx() -> str:
    try:
        return find_nginx(os.environ.get("NGINX", ""))
    except BenchError as exc:
        if IN_CI:
            pytest.fail(f"CI needs an nginx binary for the host backend: {exc}", pytrace=False)
        pytest.skip(f"SKIPPED, NOT PASSED: {exc}. Run `make setup`.")


def test_host_backend_compares_one_replica_with_two(nginx: str, tmp_path) -> None:
    env = {**os.environ, "NGINX": nginx, "SCALE": "2", "RATE": "8", "DURATION": "3s",
           "HTTP_PORT": str(ports.HOST_HTTP), "HOST_REPLICA_PORT": str(ports.HOST_REPLICA),
           "RESULTS_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bench", "--backend", "host", "compare"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    (out,) = tmp_path.iterdir()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["backend"] == "host"
    runs = {r["profile"]: r for r in summary["runs"]}
    assert (runs["one"]["replicas"], runs["many"]["replicas"]) == (1, 2)
    for run in runs.values():
        assert run["completed"] > 0 and run["failed"] == 0, run
        assert run["target_url"] == f"http://127.0.0.1:{ports.HOST_HTTP}/api", "k6 did not go through the host nginx"
    assert sorted(runs["many"]["per_replica"]) == ["replica-1", "replica-2"], "nginx did not balance over both"
    assert (out / "k6-one.html").stat().st_size > 10_000, "k6's HTML report is missing"
    assert "Side by side" in done.stdout
