"""/metrics: what Prometheus reads from a replica, and that clients cannot grow it."""

import asyncio
import threading

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from app.main import begin_drain
from app.settings import Settings
from tests.service.test_main import blocking_job, check, serve

pytestmark = pytest.mark.unit


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by name and sorted labels."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def requests(samples: dict, route: str, status: str, method: str = "GET") -> float:
    return samples.get(("api_requests_total", (("method", method), ("route", route), ("status", status))), 0)


def test_requests_are_counted_by_route_template_method_and_status() -> None:
    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        for path in ["/", "/api?n=3", "/api?n=4", "/api?n=-1", "/healthz"]:
            await client.get(path)
        await client.post("/api")
        samples = await scrape(client)
        assert requests(samples, "/api", "200") == 2
        assert requests(samples, "/api", "422") == 1
        assert requests(samples, "/api", "405", method="POST") == 1
        assert requests(samples, "/", "200") == 1
        assert requests(samples, "/healthz", "200") == 1
        assert samples[("api_request_duration_seconds_count", (("route", "/api"),))] == 4
        assert samples[("api_job_run_seconds_count", ())] == 2, "422s never reach the queue"
        assert samples[("api_job_wait_seconds_count", ())] == 2

    check(test)


def test_the_wait_bound_is_exported_for_the_alert_to_compare_with() -> None:
    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        assert (await scrape(client))[("api_max_wait_seconds", ())] == 0.75

    check(test, max_wait_s=0.75)


def test_unknown_paths_and_methods_share_one_series_each() -> None:
    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        for i in range(20):
            await client.get(f"/scanner/{i}")
            await client.request(f"BREW{i}", "/")
        samples = await scrape(client)
        assert requests(samples, "other", "404") == 20
        assert requests(samples, "/", "405", method="other") == 20
        routes = {dict(labels)["route"] for name, labels in samples if name == "api_requests_total"}
        assert routes == {"/", "other"}

    check(test)


def test_shed_requests_queue_state_and_draining_are_exported() -> None:
    gate, started = threading.Event(), threading.Event()

    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        busy = asyncio.ensure_future(app.state.jobs.run(blocking_job(gate, started), 0))
        await asyncio.to_thread(started.wait, 5)
        assert (await client.get("/api", params={"n": 1})).status_code == 503
        during = await scrape(client)
        gate.set()
        await busy
        begin_drain(app)
        after = await scrape(client)
        assert during[("api_shed_total", ())] == 1
        assert requests(during, "/api", "503") == 1
        assert during[("api_jobs_running", ())] == 1
        assert during[("api_jobs_waiting", ())] == 0
        assert during[("api_draining", ())] == 0
        assert after[("api_jobs_running", ())] == 0
        assert after[("api_draining", ())] == 1

    check(test)


def test_the_replica_names_itself_and_its_runtime() -> None:
    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        samples = await scrape(client)
        info = [dict(labels) for name, labels in samples if name == "api_runtime_info"]
        assert len(info) == 1
        assert info[0]["replica"] == "replica-a"
        assert info[0]["runtime"] in {"cpython", "pypy"}
        assert info[0]["version"] == app.version
        assert samples[("process_resident_memory_bytes", ())] > 0

    check(test)


def test_apps_in_one_process_keep_their_own_counts() -> None:
    async def main() -> None:
        async with serve(Settings(replica_id="a")) as (_, first), serve(Settings(replica_id="b")) as (_, second):
            await first.get("/")
            await first.get("/")
            await second.get("/")
            assert requests(await scrape(first), "/", "200") == 2
            assert requests(await scrape(second), "/", "200") == 1

    asyncio.run(main())


def test_metrics_off_means_no_endpoint_and_no_observer() -> None:
    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/api", params={"n": 3})).status_code == 200

    check(test, metrics=False)
