"""docs/your-api.md: a second CPU-bound route, written as the page says, shares /api's queue.

The route below is the page's example, and the page must quote it as it is here, so the
test checks what users copy.
"""

import asyncio
import inspect
import re
import textwrap
import threading
from typing import Annotated

import httpx
from fastapi import FastAPI, Query

from tests.conftest import ROOT
from tests.service.test_main import blocking_job, check

PAGE = ROOT / "docs" / "your-api.md"


def checksum(n: int) -> int:
    """A stand-in for your own CPU-bound function: n steps of a 32-bit FNV-1a hash."""
    h = 2166136261
    for i in range(n):
        h = ((h ^ (i & 0xFF)) * 16777619) & 0xFFFFFFFF
    return h


def add_checksum_route(app: FastAPI) -> None:
    jobs, settings = app.state.jobs, app.state.settings

    @app.get("/checksum", summary="Your CPU-bound job",
             responses={503: {"description": "Replica busy: retry after Retry-After seconds"}})
    async def checksum_route(n: Annotated[int, Query(ge=0, le=settings.max_n)] = 1000) -> dict[str, int]:
        # The same queue as /api: one job at a time, admitted by the wait it would face.
        return {"checksum": await jobs.run(checksum, n)}


def test_the_page_quotes_the_route_and_the_job_as_tested() -> None:
    blocks = [textwrap.dedent(block) for block in re.findall(r"```python\n(.*?)^\s*```", PAGE.read_text(), re.S | re.M)]
    for example in (checksum, add_checksum_route):
        assert inspect.getsource(example) in blocks, f"docs/your-api.md no longer shows {example.__name__} as tested"


def test_the_second_route_answers_and_validates_like_api() -> None:
    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        add_checksum_route(app)
        ok = await client.get("/checksum", params={"n": 3})
        assert ok.status_code == 200 and ok.json() == {"checksum": checksum(3)}
        too_big = await client.get("/checksum", params={"n": app.state.settings.max_n + 1})
        assert too_big.status_code == 422

    check(test)


def test_a_second_route_waits_in_the_same_queue_as_api() -> None:
    """While /api's job runs, a /checksum job is shed (no wait allowed): one queue, one core."""
    gate, started = threading.Event(), threading.Event()

    async def test(app: FastAPI, client: httpx.AsyncClient) -> None:
        add_checksum_route(app)
        busy = asyncio.ensure_future(app.state.jobs.run(blocking_job(gate, started), 0))
        await asyncio.to_thread(started.wait, 5)
        shed = await client.get("/checksum", params={"n": 10})
        assert (shed.status_code, shed.headers["retry-after"]) == (503, "1")
        assert "is busy" in shed.json()["detail"]
        gate.set()
        await busy
        assert (await client.get("/checksum", params={"n": 10})).status_code == 200
        assert app.state.jobs.shed == 1

    check(test)
