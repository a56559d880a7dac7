import asyncio
import re
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from app import runtime
from app.jobs import SWITCH_INTERVAL_S
from app.main import begin_drain, create_app
from app.settings import Settings
from tests.service.queue_kit import until_admitted

pytestmark = pytest.mark.unit

MAX_N = 5000
Check = Callable[[FastAPI, httpx.AsyncClient], Awaitable[None]]


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app in process, lifespan included, behind an httpx client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
            yield app, client


def check(test: Check, **overrides: object) -> None:
    settings = Settings(**{"replica_id": "replica-a", "max_n": MAX_N, "max_wait_s": 0, **overrides})

    async def main() -> None:
        async with serve(settings) as (app, client):
            await test(app, client)

    asyncio.run(main())


def test_api_answers_the_articles_sum() -> None:
    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        response = await client.get("/api")
        assert response.status_code == 200
        assert response.text == "Result number is 339111948196"
        assert response.headers["content-type"].startswith("text/plain")

    check(test, max_n=10_000_000)


def test_api_sizes_the_work_with_n() -> None:
    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        assert (await client.get("/api", params={"n": 10})).text == "Result number is 55"
        top = await client.get("/api", params={"n": MAX_N})
        assert top.text == f"Result number is {MAX_N * (MAX_N + 1) // 2}"

    check(test)


@pytest.mark.parametrize("n", ["-1", str(MAX_N + 1), "ten", "1.5", "", "99999999999999999999"])
def test_bad_n_gets_422_with_the_allowed_range(n: str) -> None:
    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        response = await client.get("/api", params={"n": n})
        assert response.status_code == 422
        body = response.json()
        assert body["message"].startswith("invalid request: query.n: ")
        assert body["message"].endswith(f"Allowed: n is a whole number from 0 to {MAX_N}.")
        assert body["detail"][0]["loc"] == ["query", "n"]

    check(test)


def test_every_response_names_the_replica() -> None:
    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        for path in ["/", "/api?n=3", "/api?n=-3", "/healthz", "/readyz", "/no-such-path"]:
            assert (await client.get(path)).headers["x-replica"] == "replica-a", path

    check(test)


def test_hello_and_unknown_paths_are_json() -> None:
    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        assert (await client.get("/")).json() == {
            "message": "Hello World!", "replica": "replica-a", "runtime": runtime.name()}
        missing = await client.get("/no-such-path")
        assert missing.status_code == 404
        assert missing.json() == {"detail": "Not Found"}

    check(test)


def test_readiness_turns_false_while_draining() -> None:
    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        assert (await client.get("/readyz")).json() == {"status": "ready", "jobs": 0, "wait_s": None}
        begin_drain(app)
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "draining"}
        assert (await client.get("/healthz")).json() == {"status": "ok"}, "liveness stays up"
        assert (await client.get("/api", params={"n": 3})).status_code == 200, "work still completes"

    check(test)


def blocking_job(gate: threading.Event, started: threading.Event) -> Callable[[int], None]:
    def job(n: int) -> None:
        started.set()
        gate.wait(5)
    return job


def test_a_busy_replica_sheds_with_503_and_retry_after() -> None:
    gate = threading.Event()
    started = threading.Event()

    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        busy = asyncio.ensure_future(app.state.jobs.run(blocking_job(gate, started), 0))
        await asyncio.to_thread(started.wait, 5)
        health = await client.get("/healthz")
        shed = await client.get("/api", params={"n": 1})
        gate.set()
        await busy
        assert health.status_code == 200, "health answers while the CPU job runs"
        assert shed.status_code == 503
        assert shed.headers["retry-after"] == "1"
        assert shed.json()["detail"] == ("replica replica-a is busy: 1 job is already waiting (limit 0 s). "
                                         "Retry after 1 s, or add replicas.")
        assert (await client.get("/api", params={"n": 1})).status_code == 200, "it recovers once free"

    check(test)


def test_admission_weighs_each_request_by_its_n_and_readiness_shows_the_wait() -> None:
    """A limit of 1 s: a tiny job running leaves room for an n=5000 request, and readiness
    counts the queued one at the rate learnt from a first n=5000 request (the tiny job has
    long outrun its estimate of one unit, so it counts 0); a running job of n=10**12
    (no machine runs that in 1 s) makes the next request shed. One lane (API_LONG_JOB_S=0):
    two lanes would run the tiny request beside the huge job (tests/service/test_jobs_lanes.py)."""
    gates = [threading.Event(), threading.Event()]
    started = [threading.Event(), threading.Event()]

    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        jobs = app.state.jobs
        jobs.inline_max_s = 0  # every job on the worker thread, where a gate cannot block the loop
        assert (await client.get("/api", params={"n": MAX_N})).status_code == 200
        await until_admitted(jobs, 0)
        rate = jobs.rate.seconds_per_unit

        tiny = asyncio.ensure_future(jobs.run(blocking_job(gates[0], started[0]), 0))
        await asyncio.to_thread(started[0].wait, 5)
        queued = asyncio.ensure_future(client.get("/api", params={"n": MAX_N}))
        await until_admitted(jobs, 2)
        ready = (await client.get("/readyz")).json()
        gates[0].set()
        await tiny
        assert (await queued).status_code == 200
        assert ready == {"status": "ready", "jobs": 2, "wait_s": pytest.approx(rate * (MAX_N + 1))}

        await until_admitted(jobs, 0)
        huge = asyncio.ensure_future(jobs.run(blocking_job(gates[1], started[1]), 10**12))
        await asyncio.to_thread(started[1].wait, 5)
        shed = await client.get("/api", params={"n": 0})
        gates[1].set()
        await huge
        assert shed.status_code == 503
        assert re.fullmatch(r"replica replica-a is busy: about \d+\.\d\d s of work is already waiting "
                            r"\(1 job; limit 1 s\)\. Retry after 1 s, or add replicas\.", shed.json()["detail"])

    check(test, max_wait_s=1, long_job_s=0)


def test_the_app_shortens_the_gil_switch_interval_for_its_two_lanes() -> None:
    """jobs.py: "create_app sets it for the process": a short job beside a long one starts
    within 1 ms, not CPython's default 5 ms."""
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        create_app(Settings(replica_id="r"))
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S) == pytest.approx(0.001)
    finally:
        sys.setswitchinterval(before)
