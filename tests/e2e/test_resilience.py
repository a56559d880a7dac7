"""Nothing lost: kill, stop, roll, scale and reload under a steady GET load, counting every request."""

import concurrent.futures
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import MAX_N, Stack
from tests.e2e.load import LoadLoop
from tests.wait import until

pytestmark = pytest.mark.e2e

HEAVY_N = MAX_N  # the largest job, ~0.5 s: surely in flight when the replica is stopped


def steady_load(stack: Stack, **options: object) -> LoadLoop:
    return LoadLoop(f"{stack.base_url}/api?n=20000", **options)


def test_kill_9_one_of_4_replicas_mid_run(stack: Stack, tally) -> None:
    stack.scale(4)
    stack.wait_serving(stack.replicas())
    victim = stack.container_ids("api")[0]
    with steady_load(stack) as load:
        load.wait_for(40)
        subprocess.run(["docker", "kill", "-s", "KILL", victim], check=True, capture_output=True)
        load.wait_for(len(load.results) + 120)
    tally(f"docker kill -s KILL 1 of 4: {load.summary()}")
    assert load.failed == [], stack.explain(load.failed)
    assert stack.inspect(victim)["State"]["ExitCode"] == 137


def test_docker_stop_lets_in_flight_jobs_finish_and_exits_0(stack: Stack, tally) -> None:
    stack.scale(4)
    stack.wait_serving(stack.replicas())
    victim = stack.container_ids("api")[0]
    with steady_load(stack) as load, concurrent.futures.ThreadPoolExecutor(8) as pool:
        load.wait_for(20)
        heavy = [pool.submit(httpx.get, f"{stack.base_url}/api", params={"n": HEAVY_N}, timeout=60)
                 for _ in range(8)]
        until("a heavy job on the victim (or nothing is proven)", lambda: stack.readyz(victim),
              lambda ready: bool(ready.get("jobs")), 10)
        subprocess.run(["docker", "stop", "-t", "30", victim], check=True, capture_output=True)
        responses = [f.result() for f in heavy]
        load.wait_for(len(load.results) + 60)
    served_by = [r.headers.get("x-replica") for r in responses]
    tally(f"docker stop 1 of 4 with 8 jobs of n={HEAVY_N} in flight, served by {served_by}; "
          f"steady load: {load.summary()}")
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    assert all(r.text == f"Result number is {HEAVY_N * (HEAVY_N + 1) // 2}" for r in responses)
    assert victim[:12] in served_by, "no heavy job ran on the stopped replica: nothing was proven"
    assert stack.inspect(victim)["State"]["ExitCode"] == 0, "the replica did not drain cleanly"
    assert load.failed == [], stack.explain(load.failed)


def test_rolling_restart_of_every_replica_under_load(stack: Stack, tally) -> None:
    stack.scale(4)
    before = set(stack.container_ids("api"))
    env = {**stack.env, "COMPOSE_PROJECT_NAME": stack.project, "SETTLE_S": "3",
           "COMPOSE": f"docker compose --project-directory {ROOT}"}
    with steady_load(stack, max_seconds=660) as load:
        load.wait_for(20)
        rollout = subprocess.run([sys.executable, str(ROOT / "scripts" / "rollout.py")], env=env,
                                 capture_output=True, text=True, timeout=600)
        if rollout.returncode == 0:
            # The new replicas come into DNS within resolver valid=2s: wait until each serves.
            load.wait_reaches({cid[:12] for cid in stack.container_ids("api")})
        load.wait_for(len(load.results) + 40)
    tally(f"make rollout of 4 replicas: {load.summary()}")
    assert rollout.returncode == 0, rollout.stderr
    assert "exited with" not in rollout.stderr, rollout.stderr
    after = set(stack.container_ids("api"))
    assert len(after) == 4 and not after & before, "every replica must be replaced"
    assert load.failed == [], stack.explain(load.failed)
    assert {cid[:12] for cid in after} <= set(load.per_replica()), "the new replicas serve"


def test_scale_4_to_8_to_4_under_load(stack: Stack, tally) -> None:
    stack.scale(4)
    with steady_load(stack) as load:
        load.wait_for(20)
        stack.scale(8)
        eight = stack.replicas()
        load.wait_reaches(eight)
        stack.scale(4)
        load.wait_for(len(load.results) + 60)
    tally(f"scale 4 -> 8 -> 4: {load.summary()}")
    assert len(eight) == 8
    assert eight <= set(load.per_replica())
    assert load.failed == [], stack.explain(load.failed)


def nginx_workers(container: str) -> set[str]:
    """Process ids of nginx's worker processes: a reload replaces them all."""
    top = subprocess.run(["docker", "top", container, "-o", "pid,args"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in top.stdout.splitlines()
            if "nginx: worker process" in line and "shutting down" not in line}


def reload(stack: Stack, nginx: str, workers: set[str]) -> set[str]:
    """The stock reload; then the new workers, once none of `workers` is left (the old ones
    finish their in-flight requests first, and for a moment no worker may be listed)."""
    stack.compose("exec", "-T", "nginx", "nginx", "-s", "reload")
    new, _ = until("a reload to replace nginx's workers", lambda: nginx_workers(nginx),
                   lambda now: bool(now) and not now & workers, 10, every_s=0.2,
                   describe=lambda now: f"a reload did not replace the workers: {sorted(workers)} -> {sorted(now)}")
    return new


def test_nginx_reload_every_2s_under_keepalive_load(stack: Stack, tally) -> None:
    """The stock `docker compose exec nginx nginx -s reload`, as an operator types it. The
    clients retry a GET whose idle connection the reload closed, as real clients do (load.py)."""
    stack.scale(4)
    (nginx,) = stack.container_ids("nginx")
    workers = nginx_workers(nginx)
    with steady_load(stack, retry_closed_idle=True) as load:
        load.wait_for(20)
        for _ in range(5):
            workers = reload(stack, nginx, workers)
            time.sleep(2)  # the pace under test: a reload every 2 s
    tally(f"5 nginx reloads, 2 s apart: {load.summary()}")
    assert stack.container_ids("nginx") == [nginx], "reload must not restart the container"
    assert load.failed == [], stack.explain(load.failed)


def test_keepalive_reuse_past_both_idle_timeouts_gets_no_502(stack: Stack, tally) -> None:
    """Upstream connections idle past nginx's 10 s, then past uvicorn's 15 s, are reused."""
    stack.scale(4)
    statuses: list[int] = []
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        for idle in (0, 10.5, 15.5):
            time.sleep(idle)  # the idle gap is what is under test
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                statuses += [r.status_code for r in pool.map(lambda _: client.get("/api?n=1000"), range(16))]
    tally(f"{len(statuses)} requests after idle gaps of 10.5 s and 15.5 s: "
          f"{statuses.count(200)} ok, {statuses.count(502)} 502")
    assert statuses == [200] * 48
