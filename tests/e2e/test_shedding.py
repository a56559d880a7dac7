"""Load shedding through nginx: a busy replica's 503 goes to another replica, and only when
every replica is busy does the client get a 503, at once, with Retry-After.

A stack of 2 replicas that let nothing wait (API_MAX_WAIT_S=0), so one running job makes a
replica shed, and the retry path can be seen with a handful of requests.
"""

import concurrent.futures
import time
from collections.abc import Iterator

import httpx
import pytest

from tests import ports
from tests.e2e.conftest import MAX_N, Stack
from tests.wait import until

pytestmark = pytest.mark.e2e

HEAVY_N = 10 * MAX_N  # 2-4 s of CPU (API_MAX_N raised below): the replica is busy for all of it
HEAVY = f"/api?n={HEAVY_N}"


@pytest.fixture(scope="module")
def tight_stack(docker: None) -> Iterator[Stack]:
    stack = Stack("pycluster-shed", ports.SHED_HTTP)
    stack.env.update(API_MAX_WAIT_S="0", API_MAX_N=str(HEAVY_N))
    stack.compose("down", "--remove-orphans", "-t", "5")
    stack.up(2)
    stack.wait_serving(stack.replicas())
    yield stack
    stack.compose("down", "--remove-orphans", "-t", "10")


def running_jobs(stack: Stack) -> list[int]:
    """Jobs admitted on each replica, asked inside the containers: probes through nginx would
    take their own turns in its round-robin."""
    return [stack.readyz(cid).get("jobs", 0) for cid in stack.container_ids("api")]


def upstream_statuses(stack: Stack) -> list[str]:
    """$upstream_status of each logged request: "503 : 200" is a 503, then a second try."""
    return [entry["upstream_status"] for entry in stack.access_log()]


def test_a_busy_replicas_503_is_retried_on_the_other(tight_stack: Stack, tally) -> None:
    with httpx.Client(base_url=tight_stack.base_url, timeout=30) as client, \
            concurrent.futures.ThreadPoolExecutor(1) as pool:
        heavy = pool.submit(client.get, HEAVY)
        until("the heavy job to run", lambda: running_jobs(tight_stack), any, 10)
        light = []
        while not heavy.done():
            light.append(client.get("/api?n=1000"))
        heavy_response = heavy.result()
    retried = [s for s in upstream_statuses(tight_stack) if s == "503 : 200"]
    tally(f"1 heavy job running, {len(light)} light requests meanwhile: "
          f"{sum(r.status_code == 200 for r in light)} ok, {len(retried)} of them after a 503")
    assert heavy_response.status_code == 200
    assert len(light) >= 4 and [r.status_code for r in light] == [200] * len(light)
    assert retried, "no request was shed by the busy replica and served by the other"


def test_when_every_replica_is_busy_the_client_gets_a_fast_503(tight_stack: Stack) -> None:
    with httpx.Client(base_url=tight_stack.base_url, timeout=30) as client, \
            concurrent.futures.ThreadPoolExecutor(2) as pool:
        heavy = [pool.submit(client.get, HEAVY) for _ in range(2)]
        # Until each replica runs one. Probes through nginx could send a heavy one's second try
        # back to the busy replica, which sheds it.
        until("a heavy job on each replica", lambda: running_jobs(tight_stack), all, 10)
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
    assert "503 : 503" in upstream_statuses(tight_stack), "both replicas should have been tried"


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
