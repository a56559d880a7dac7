"""Routes: the article's CPU-bound /api, a hello, and liveness/readiness probes."""


import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import runtime
from .jobs import SWITCH_INTERVAL_S, JobQueue, Overloaded
from .metrics import ReplicaMetrics, RequestMetrics
from .settings import Settings
from .work import DEFAULT_N, sum_down

logger = logging.getLogger("app")
API_RANGE = " Allowed: n is a whole number from 0 to {max_n}."


class ReplicaHeader:
    """Pure ASGI middleware: name the replica on every response, errors included."""

    def __init__(self, app: ASGIApp, replica_id: str) -> None:
        self.app = app
        self.header = (b"x-replica", replica_id.encode("latin-1", "replace"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)


def begin_drain(app: FastAPI) -> None:
    """Called on SIGTERM: report not-ready while in-flight requests finish."""
    if not app.state.draining:
        app.state.draining = True
        logger.info("replica=%s draining: /readyz now answers 503", app.state.settings.replica_id)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    sys.setswitchinterval(SWITCH_INTERVAL_S)  # for the process: each worker of --workers builds its own app
    jobs = JobQueue(settings.max_wait_s, long_job_s=settings.long_job_s)
    runtime_name = runtime.name()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("replica=%s ready on port %d (max_n=%d, max_wait_s=%.2f)",
                    settings.replica_id, settings.port, settings.max_n, settings.max_wait_s)
        yield
        jobs.shutdown()
        logger.info("replica=%s stopped", settings.replica_id)

    app = FastAPI(title="CPU-bound API replica", version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.draining = False
    app.state.jobs = jobs
    app.add_middleware(ReplicaHeader, replica_id=settings.replica_id)
    app.state.metrics = None
    if settings.metrics:
        metrics = app.state.metrics = ReplicaMetrics(jobs, settings.replica_id, app.version,
                                                     draining=lambda: app.state.draining)
        # Outermost, so that it times and counts what the client gets, errors included.
        app.add_middleware(RequestMetrics, metrics=metrics, routes=app.router.routes)

        @app.get("/metrics", include_in_schema=False)
        async def prometheus(request: Request) -> Response:
            return metrics.response(request)

    @app.exception_handler(Overloaded)
    async def overloaded(request: Request, exc: Overloaded) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            headers={"Retry-After": str(settings.retry_after_s)},
            content={"detail": f"replica {settings.replica_id} is busy: {exc}. "
                               f"Retry after {settings.retry_after_s} s, or add replicas."},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors())
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        allowed = API_RANGE.format(max_n=settings.max_n) if request.url.path == "/api" else ""
        return JSONResponse(status_code=422, content={
            "detail": errors, "message": f"invalid request: {problems}.{allowed}"})

    @app.get("/", summary="Hello")
    async def hello() -> dict[str, str]:
        return {"message": "Hello World!", "replica": settings.replica_id, "runtime": runtime_name}

    @app.get("/api", response_class=PlainTextResponse, summary="The article's CPU-bound job",
             responses={503: {"description": "Replica busy: retry after Retry-After seconds"}})
    async def api(
        n: Annotated[int, Query(ge=0, le=settings.max_n,
                                description=f"sum i from n down to 0; 0..{settings.max_n}")] = DEFAULT_N,
    ) -> str:
        started = time.perf_counter()
        total = await jobs.run(sum_down, n)
        # DEBUG: nginx's access log already has each request's upstream time, and a line per
        # job cost ~20% of a cheap request's CPU (docs/benchmark.md, high request rates).
        logger.debug("replica=%s job n=%d took %.1f ms", settings.replica_id, n,
                    (time.perf_counter() - started) * 1000)
        return f"Result number is {total}"

    @app.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: false while draining on shutdown",
             responses={503: {"description": "Draining: send no new work here"}})
    async def readyz() -> JSONResponse:
        if app.state.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        return JSONResponse({"status": "ready", "jobs": jobs.admitted, "wait_s": jobs.expected_wait_s})

    return app
