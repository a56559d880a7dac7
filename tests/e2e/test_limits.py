"""Per-client limits: off as shipped, so one client gets no 429 however fast it asks; with
NGINX_LIMITS=on, 50 r/s (burst 100) per address on /api, answered with a JSON 429."""

import concurrent.futures
import time

import httpx
import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

BURST = 400  # 4 x the burst nginx serves at once with limits on: 300 of them would be 429


def burst(stack: Stack) -> tuple[list[httpx.Response], list[int]]:
    """BURST /api requests from one client as fast as 16 threads go, then 150 health checks."""
    with httpx.Client(base_url=stack.base_url, timeout=10) as client, \
            concurrent.futures.ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda _: client.get("/api?n=0"), range(BURST)))
        health = [client.get("/healthz").status_code for _ in range(150)]
    return responses, health


def test_limits_on_one_client_past_the_rate_limit_gets_429_but_health_does_not(stack: Stack, tally) -> None:
    with stack.with_limits("on"):
        time.sleep(2.5)  # a full bucket (50 r/s, burst 100), whatever came before
        responses, health = burst(stack)
    codes = [r.status_code for r in responses]
    limited = [r for r in responses if r.status_code == 429]
    tally(f"limits on: {BURST} /api requests as fast as one client can: {codes.count(200)} ok, {len(limited)} 429")
    assert set(codes) == {200, 429}
    assert codes.count(200) >= 100, "the burst of 100 must be served"
    assert limited[0].headers["retry-after"] == "1"
    assert limited[0].headers["content-type"] == "application/json"
    assert "slow down" in limited[0].json()["detail"]
    assert health == [200] * 150, "only /api is rate limited"


def test_limits_off_the_same_burst_gets_no_429(stack: Stack, tally) -> None:
    responses, health = burst(stack)
    codes = [r.status_code for r in responses]
    tally(f"limits off (as shipped): {BURST} /api requests as fast as one client can: "
          f"{codes.count(200)} ok, {codes.count(429)} 429, others {sorted(set(codes) - {200, 429})}")
    assert codes == [200] * BURST
    assert health == [200] * 150
