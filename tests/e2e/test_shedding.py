"""Balancing and shedding through nginx: a busy replica gets no new request while another
idles; a replica's 503 goes to another replica, never back to it; and only when every
replica is busy does the client get a 503, at once, with Retry-After.

A stack of 2 replicas that let nothing wait (API_MAX_WAIT_S=0) and run one job at a time
(API_LONG_JOB_S=0: no second lane beside a long job), so one running job makes a replica
shed, and the paths can be seen with a handful of requests.
"""

import collections
import concurrent.futures
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests import ports
from tests.e2e.conftest import MAX_N, Stack
from tests.e2e.load import LoadLoop
from tests.wait import until

pytestmark = pytest.mark.e2e

# ~1-1.5 s of CPU (API_MAX_N raised below): the replica is busy for all of it, and the job
# still ends well within nginx's proxy_read_timeout (4 s).
HEAVY_N = 3 * MAX_N
HEAVY = f"/api?n={HEAVY_N}"


@pytest.fixture(scope="module")
def tight_stack(docker: None) -> Iterator[Stack]:
    stack = Stack("pycluster-shed", ports.SHED_HTTP)
    stack.env.update(API_MAX_WAIT_S="0", API_LONG_JOB_S="0", API_MAX_N=str(HEAVY_N))
    stack.compose("down", "--volumes", "--remove-orphans", "-t", "5")
    stack.up(2)
    stack.wait_serving(stack.replicas())
    yield stack
    stack.compose("down", "--volumes", "--remove-orphans", "-t", "10")


def running_jobs(stack: Stack) -> dict[str, int]:
    """Jobs admitted on each replica, by its name (X-Replica: the container's hostname),
    asked inside the containers: probes through nginx would take their own turns."""
    return {cid[:12]: stack.readyz(cid).get("jobs", 0) for cid in stack.container_ids("api")}


def tries(entry: dict) -> list[str]:
    """The replicas one logged request went to, in order: "a, b" within one proxy_pass,
    "a : b" across the @second_try round."""
    return [addr.strip() for addr in re.split(r"[,:] ", entry["upstream_addr"]) if addr.strip()]


def test_a_replica_running_a_long_job_gets_no_request_while_the_other_idles(tight_stack: Stack, tally) -> None:
    with httpx.Client(base_url=tight_stack.base_url, timeout=30) as client, \
            concurrent.futures.ThreadPoolExecutor(1) as pool:
        since = time.time()
        heavy = pool.submit(client.get, HEAVY)
        busy, _ = until("the heavy job to run", lambda: running_jobs(tight_stack), lambda jobs: any(jobs.values()), 10)
        light = []
        while not heavy.done():
            light.append(client.get("/api?n=1000"))
        heavy_response = heavy.result()
    busy_replica = next(name for name, jobs in busy.items() if jobs)
    served_by = collections.Counter(r.headers.get("x-replica") for r in light)
    log = tight_stack.access_log(since)
    tally(f"1 heavy job on {busy_replica}, {len(light)} light requests meanwhile, served by {dict(served_by)}; "
          f"{sum(len(tries(e)) > 1 for e in log)} of {len(log)} logged requests tried more than one replica")
    assert heavy_response.headers["x-replica"] == busy_replica
    assert len(light) >= 4 and [r.status_code for r in light] == [200] * len(light)
    # The last one or two may reach the replica in the moment between the heavy job's end
    # and its answer's arrival here; under round-robin every second one would.
    to_busy = [i for i, r in enumerate(light) if r.headers.get("x-replica") == busy_replica]
    assert all(i >= len(light) - 2 for i in to_busy), f"light requests {to_busy} of {len(light)} went to the busy one"
    assert len(served_by) <= 2 and served_by.most_common(1)[0][0] != busy_replica
    assert all(len(tries(e)) == 1 for e in log), "none was shed and retried: the busy replica got none"


def test_a_shed_request_never_goes_back_to_the_replica_that_shed_it(tight_stack: Stack, tally) -> None:
    since = time.time()
    with LoadLoop(f"{tight_stack.base_url}/api?n={MAX_N // 10}", threads=6, pause_s=0) as load:
        load.wait_for(200, timeout=120)
    log = [e for e in tight_stack.access_log(since) if e["request"].startswith("GET /api?")]
    retried = [e for e in log if len(tries(e)) > 1]
    twice = [e for e in log if len(set(tries(e))) < len(tries(e))]
    statuses = collections.Counter(r.status for r in load.results)
    tally(f"6 clients on 2 replicas that let nothing wait: {dict(statuses)}; {len(retried)} of {len(log)} "
          f"requests tried a second replica; {len(twice)} went back to one that had shed them")
    assert len(retried) >= 20, "the load must make replicas shed and nginx retry, or this proves nothing"
    assert all(e["upstream_status"].startswith("503") for e in retried)
    assert twice == [], twice[:5]


def test_when_every_replica_is_busy_the_client_gets_a_fast_503(tight_stack: Stack) -> None:
    with httpx.Client(base_url=tight_stack.base_url, timeout=30) as client, \
            concurrent.futures.ThreadPoolExecutor(2) as pool:
        since = time.time()
        heavy = [pool.submit(client.get, HEAVY) for _ in range(2)]
        # least_conn sends the second to the idle replica: until each replica runs one.
        until("a heavy job on each replica", lambda: running_jobs(tight_stack),
              lambda jobs: all(jobs.values()), 10)
        timed = []
        for _ in range(3):  # the median of 3: one request's time on 2 saturated cores is noise
            started = time.monotonic()
            timed.append((client.get("/api?n=1000"), time.monotonic() - started))
        shed, elapsed = sorted(timed, key=lambda t: t[1])[1]
        assert [f.result().status_code for f in heavy] == [200, 200]
    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "1"
    assert "is busy" in shed.json()["detail"]
    assert elapsed < 0.25, f"a shed request must be answered at once, took {elapsed:.3f} s"
    both = [e for e in tight_stack.access_log(since) if e["upstream_status"] == "503, 503"]
    assert both and all(len(set(tries(e))) == 2 for e in both), "both replicas, each once, should have been tried"


def test_with_every_replica_down_nginx_answers_a_json_503(tight_stack: Stack) -> None:
    tight_stack.compose("stop", "-t", "5", "api")
    try:
        # nginx finds no replica: by its DNS re-read (every 2 s), or its connects failing.
        until("nginx to answer that no replica is left", lambda: httpx.get(
            f"{tight_stack.base_url}/api", timeout=30).status_code, lambda status: status == 503, 15)
        get = httpx.get(f"{tight_stack.base_url}/api", timeout=30)
        post = httpx.post(f"{tight_stack.base_url}/api", timeout=30)
    finally:
        tight_stack.compose("start", "api")
    for response in (get, post):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.headers["retry-after"] == "1"
        assert "no api replica could take the request" in response.json()["detail"]
