"""The metrics, and what one access-log line adds to them."""

import re
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .parse import Request

# 1 ms to 10 s: a replica's answer to a cheap request up to a long queue wait plus the job.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Labels carry status codes and replica addresses only: anything else is "other".
_STATUS = re.compile(r"[1-5][0-9][0-9]|-")
_ADDRESS = re.compile(r"(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|\[[0-9a-fA-F:.]+\]):[0-9]{1,5}")
OTHER = "other"

_Metric = TypeVar("_Metric", Counter, Histogram)


class _Children(Generic[_Metric]):
    """A metric's child for one label value, looked up once: prometheus_client's labels()
    checks and locks on every call, the largest cost per line before this."""

    def __init__(self, metric: _Metric) -> None:
        self._metric: _Metric = metric
        self._children: dict[str, _Metric] = {}

    def __getitem__(self, value: str) -> _Metric:
        child = self._children.get(value)
        if child is None:
            child = self._children[value] = self._metric.labels(value)
        return child


class Metrics:
    def __init__(self, registry: CollectorRegistry, upstream_limit: int = 256) -> None:
        self._upstreams: set[str] = set()
        self._upstream_limit = upstream_limit
        self.lines = Counter("nginx_log_lines_total", "Access-log lines read (nginx's stdout)",
                             registry=registry)
        self.parse_errors = Counter("nginx_log_parse_errors_total",
                                    "Lines that are not nginx's JSON access-log format", registry=registry)
        self.requests = Counter("nginx_log_requests_total", "Requests, by the status the client got",
                                ["status"], registry=registry)
        self.retried = Counter("nginx_log_retried_requests_total",
                               "Requests with more than one upstream try, by the first try's status "
                               "('-': no response)", ["first_status"], registry=registry)
        self.tries = Counter("nginx_log_upstream_tries_total", "Upstream tries, by replica address",
                             ["upstream"], registry=registry)
        self.upstream_seconds = Histogram("nginx_log_upstream_response_seconds",
                                          "Each upstream try's $upstream_response_time", ["upstream"],
                                          buckets=BUCKETS, registry=registry)
        self.request_seconds = Histogram("nginx_log_request_seconds",
                                         "$request_time: what clients saw at the proxy", buckets=BUCKETS,
                                         registry=registry)
        self.containers = Gauge("nginx_log_followed_containers", "nginx containers whose log is read",
                                registry=registry)
        self._by_status = _Children(self.requests)
        self._retried_by_status = _Children(self.retried)
        self._tries_by_upstream = _Children(self.tries)
        self._seconds_by_upstream = _Children(self.upstream_seconds)

    def observe(self, request: Request) -> None:
        self._by_status[_status(request.status)].inc()
        self.request_seconds.observe(request.seconds)
        if len(request.tries) > 1:
            self._retried_by_status[_status(request.tries[0].status)].inc()
        for one in request.tries:
            upstream = self._upstream(one.upstream)
            self._tries_by_upstream[upstream].inc()
            if one.seconds is not None:
                self._seconds_by_upstream[upstream].observe(one.seconds)

    def _upstream(self, address: str) -> str:
        """The address as a label; "other" for a non-address (nginx logs the upstream group's
        name when no replica was live) and once `upstream_limit` addresses have been seen."""
        if address in self._upstreams:
            return address
        if _ADDRESS.fullmatch(address) and len(self._upstreams) < self._upstream_limit:
            self._upstreams.add(address)
            return address
        return OTHER


def _status(status: str) -> str:
    return status if _STATUS.fullmatch(status) else OTHER
