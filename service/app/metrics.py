"""Prometheus metrics of one replica, at /metrics on the replica's own port.

That port is only on the stack's internal network, where Prometheus scrapes each replica
(monitoring/prometheus/prometheus.yml); on nginx's public port /metrics answers 404.

The hot path pays for two counters and a histogram per request, with the labelled
children cached; queue state and draining are read only when Prometheus scrapes.
https://prometheus.github.io/client_python/collector/custom/
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .jobs import JobQueue

# Seconds, from a cheap request (~0.2 ms) to the largest job a replica admits (~1 s plus
# its wait bound). Histograms cost one bucket series each: keep the list short.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# No *_created series: they would double the series a counter or histogram costs, and
# Prometheus needs none of them. https://prometheus.github.io/client_python/instrumenting/#disabling-_created-metrics
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client

# Any other path (404s, scanners) or method counts as "other": the label values stay a
# short list, whatever clients send.
OTHER = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ReplicaMetrics:
    """One registry per app, so that several apps in one process (the tests) never clash."""

    def __init__(self, jobs: JobQueue, replica: str, version: str, draining: Callable[[], bool]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("api_requests", "HTTP requests answered, by route template, method and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.duration = Histogram("api_request_duration_seconds", "Time from request to the end of the response.",
                                  ["route"], buckets=BUCKETS, registry=self.registry)
        self.job_run = Histogram("api_job_run_seconds", "How long each /api job ran.",
                                 buckets=BUCKETS, registry=self.registry)
        self.job_wait = Histogram("api_job_wait_seconds", "How long each /api job waited in the queue first.",
                                  buckets=BUCKETS, registry=self.registry)
        self.registry.register(QueueCollector(jobs, replica, version, draining))
        # CPU seconds, resident memory and open files, from /proc (Linux): the same on PyPy.
        ProcessCollector(registry=self.registry)
        # False during the warm-up (app/server.py): its requests are the replica's own.
        self.counting = True
        jobs.on_job = self.observe_job

    def observe_job(self, waited: float, took: float) -> None:
        if not self.counting:
            return
        self.job_wait.observe(waited)
        self.job_run.observe(took)

    def response(self, request: Request) -> Response:
        """The exposition, in the format the scraper asks for (Prometheus 3 prefers OpenMetrics)."""
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(self.registry), media_type=content_type)


class QueueCollector(Collector):
    """The job queue's state and the replica's identity, read at scrape time."""

    def __init__(self, jobs: JobQueue, replica: str, version: str, draining: Callable[[], bool]) -> None:
        self.jobs = jobs
        self.draining = draining
        self.info = {"replica": replica, "runtime": sys.implementation.name,
                     "python_version": platform.python_version(), "version": version}

    def collect(self) -> Iterator[Metric]:
        running = self.jobs.running
        yield GaugeMetricFamily("api_jobs_running", "Jobs running now (0 to 2: a short and a long one).",
                                value=running)
        yield GaugeMetricFamily("api_jobs_waiting", "Jobs admitted and waiting for a worker thread.",
                                value=self.jobs.admitted - running)
        wait = self.jobs.expected_wait_s
        yield GaugeMetricFamily("api_expected_wait_seconds", "What a job admitted now would wait (the "
                                "admission estimate; 0 until a job was timed).", value=wait or 0.0)
        # The bound itself, so that alerts compare the wait with it, not with a copied number.
        yield GaugeMetricFamily("api_max_wait_seconds", "API_MAX_WAIT_S: a job that would wait longer is shed "
                                "(503).", value=self.jobs.max_wait_s)
        yield CounterMetricFamily("api_shed", "Requests refused with 503: their wait would pass API_MAX_WAIT_S.",
                                  value=self.jobs.shed)
        yield GaugeMetricFamily("api_draining", "1 while the replica drains after SIGTERM.",
                                value=int(self.draining()))
        info = GaugeMetricFamily("api_runtime_info", "The replica's name, interpreter and app version.",
                                 labels=list(self.info))
        info.add_metric(list(self.info.values()), 1)
        yield info


class RequestMetrics:
    """Pure ASGI middleware: count and time every HTTP request, errors included."""

    def __init__(self, app: ASGIApp, metrics: ReplicaMetrics, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        # Starlette builds the middleware on the first request, when every route exists.
        self.paths = frozenset(route.path for route in routes if isinstance(route, Route))
        self._counters: dict[tuple[str, str, int], Callable[[], None]] = {}
        self._timers: dict[str, Callable[[float], None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.metrics.counting:
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = scope["path"] if scope["path"] in self.paths else OTHER
            self._count(route, scope["method"] if scope["method"] in METHODS else OTHER, status)
            self._time(route, time.perf_counter() - started)

    def _count(self, route: str, method: str, status: int) -> None:
        key = (route, method, status)
        inc = self._counters.get(key)
        if inc is None:
            inc = self._counters[key] = self.metrics.requests.labels(route, method, str(status)).inc
        inc()

    def _time(self, route: str, seconds: float) -> None:
        observe = self._timers.get(route)
        if observe is None:
            observe = self._timers[route] = self.metrics.duration.labels(route).observe
        observe(seconds)
