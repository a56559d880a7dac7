"""The stack as a user runs it: an even spread, scaling under load, a replica killed under load."""

import collections
import subprocess
import time

import httpx
import pytest

from tests.e2e.conftest import RUNTIME_NAME, Stack
from tests.e2e.load import LoadLoop

pytestmark = pytest.mark.e2e

SCALE_DEADLINE_S = 15


def test_api_answers_through_nginx(stack: Stack) -> None:
    response = httpx.get(f"{stack.base_url}/api", timeout=10)
    assert response.status_code == 200
    assert response.text == "Result number is 339111948196"
    assert response.headers["x-replica"] in stack.replicas()
    assert "nginx/" not in response.headers.get("server", ""), "server_tokens must be off"


def test_hello_names_the_runtime_under_test(stack: Stack) -> None:
    hello = httpx.get(f"{stack.base_url}/", timeout=10).json()
    assert hello["runtime"].startswith(RUNTIME_NAME), hello


def test_100_requests_are_spread_evenly_over_4_replicas(stack: Stack, tally) -> None:
    """One request at a time leaves every replica idle: least_conn breaks the tie round-robin."""
    stack.scale(4)
    replicas = stack.replicas()
    assert len(replicas) == 4
    stack.wait_serving(replicas)
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        served = [client.get("/api") for _ in range(100)]
    assert [r.status_code for r in served] == [200] * 100
    counts = collections.Counter(r.headers["x-replica"] for r in served)
    tally(f"100 sequential /api requests over 4 replicas: {dict(counts)}")
    assert set(counts) == replicas
    assert all(23 <= c <= 27 for c in counts.values()), counts


def test_scale_up_to_6_under_load_without_touching_nginx(stack: Stack, tally) -> None:
    stack.scale(4)
    before = stack.replicas()
    nginx_before = stack.nginx_fingerprint()
    with LoadLoop(f"{stack.base_url}/api?n=1000") as load:
        load.wait_for(50)
        stack.scale(6)
        scaled_at = time.monotonic()
        new = stack.replicas() - before
        load.wait_reaches(new, SCALE_DEADLINE_S)
    tally(f"scale 4 -> 6: {load.summary()}")
    assert len(new) == 2
    first = load.first_seen()
    late = {r: round(first[r] - scaled_at, 1) if r in first else None for r in new}
    assert all(r in first and first[r] - scaled_at <= SCALE_DEADLINE_S for r in new), \
        f"new replicas got no traffic within {SCALE_DEADLINE_S} s: {late}"
    assert stack.nginx_fingerprint() == nginx_before, "nginx was restarted or reloaded"
    assert load.failed == [], stack.explain(load.failed)


def test_scale_down_to_2_then_kill_one_under_load_fails_no_get(stack: Stack, tally) -> None:
    stack.scale(6)
    with LoadLoop(f"{stack.base_url}/api?n=1000") as load:
        load.wait_for(50)
        stack.scale(2)
        load.wait_for(len(load.results) + 100)
    tally(f"scale 6 -> 2: {load.summary()}")
    assert load.failed == [], stack.explain(load.failed)
    assert len(stack.replicas()) == 2

    victim, survivor = sorted(stack.container_ids("api"))
    with LoadLoop(f"{stack.base_url}/api?n=1000") as load:
        load.wait_for(50)
        subprocess.run(["docker", "kill", victim], check=True, capture_output=True)
        killed_at = len(load.results)
        load.wait_for(killed_at + 100)
    tally(f"docker kill 1 of 2: {load.summary()}")
    assert load.failed == [], stack.explain(load.failed)
    assert stack.inspect(victim)["State"]["Running"] is False
    after_kill = {r.replica for r in load.results[killed_at + 20:] if r.status == 200}
    assert after_kill == {survivor[:12]}, "traffic should all go to the survivor"
