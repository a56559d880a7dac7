"""A bounded request loop that counts every request: the e2e tests' load generator."""

from __future__ import annotations

import collections
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.wait import until


@dataclass
class Result:
    started: float
    status: int | None  # None: the request failed before any response
    replica: str | None
    error: str | None = None
    retried: bool = False  # sent again after the server closed its idle connection (below)
    seconds: float = 0.0  # how long the client waited for the answer (or the error)


@dataclass
class LoadLoop:
    """`threads` keep-alive clients sending GET `path` until stopped (or `max_seconds`)."""

    url: str
    threads: int = 4
    pause_s: float = 0.1  # a steady load: 4 threads stay under 40 r/s, below NGINX_LIMITS=on's 50 r/s
    max_seconds: float = 120
    # An nginx reload retires the old workers, which close their idle keep-alive connections
    # at once; a GET sent on one at that instant gets no response. curl, browsers and Go's
    # client (so k6) send such a GET again on a new connection, by themselves; with this
    # set, so does this loop, once, and counts it (Result.retried). Off: any such loss fails.
    retry_closed_idle: bool = False
    # HTTPS: what to trust (an SSLContext with a test CA), as httpx takes it.
    verify: ssl.SSLContext | bool = True
    results: list[Result] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]

    def __enter__(self) -> LoadLoop:
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(30)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(timeout=30, verify=self.verify) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    response, retried = self._get(client)
                    result = Result(started, response.status_code, response.headers.get("x-replica"),
                                    None if response.status_code == 200 else response.text[:200], retried)
                except httpx.HTTPError as exc:
                    result = Result(started, None, None, f"{type(exc).__name__}: {exc}")
                result.seconds = time.monotonic() - started
                with self._lock:
                    self.results.append(result)
                time.sleep(self.pause_s)  # the load's pace, the thing this loop is for

    def _get(self, client: httpx.Client) -> tuple[httpx.Response, bool]:
        try:
            return client.get(self.url), False
        except httpx.RemoteProtocolError as exc:
            if not self.retry_closed_idle or "disconnected without sending a response" not in str(exc):
                raise
            return client.get(self.url), True  # the closed connection left the pool: a new one

    def wait_for(self, count: int, timeout: float = 30) -> None:
        until(f"{count} requests", lambda: len(self.results), lambda done: done >= count, timeout,
              describe=lambda done: f"only {done} requests")

    def wait_reaches(self, replicas: set[str], timeout: float = 30) -> None:
        """Until this load itself has been served by each of `replicas` (not a side probe:
        a replica that a probe reached may still be removed before the load gets to it)."""
        until("the load to reach every replica (last seen: the ones it missed)",
              lambda: replicas - set(self.per_replica()), lambda missing: not missing, timeout)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.status != 200]

    def per_replica(self) -> dict[str, int]:
        return dict(collections.Counter(r.replica for r in self.results if r.status == 200))

    def first_seen(self) -> dict[str, float]:
        seen: dict[str, float] = {}
        for r in sorted(self.results, key=lambda r: r.started):
            if r.status == 200 and r.replica:
                seen.setdefault(r.replica, r.started)
        return seen

    def summary(self) -> str:
        errors = collections.Counter(r.error for r in self.failed)
        retried = sum(r.retried for r in self.results)
        return (f"{len(self.results)} requests, {len(self.failed)} failed"
                + (f" {dict(errors)}" if errors else "")
                + (f", {retried} sent again after nginx closed an idle connection" if retried else "")
                + f", per replica {self.per_replica()}")


@dataclass
class ServiceLoad(LoadLoop):
    """A LoadLoop through a Kubernetes Service (tests/e2e/kube.py): each request to one of
    `endpoints` (the ready pods' base URLs) at random, as kube-proxy picks one for each
    connection; `url` is the path. drop() is the Service dropping a terminating pod."""

    endpoints: list[str] = field(default_factory=list)
    sent: collections.Counter[str] = field(default_factory=collections.Counter)

    def drop(self, endpoint: str) -> None:
        with self._lock:
            self.endpoints.remove(endpoint)

    def _get(self, client: httpx.Client) -> tuple[httpx.Response, bool]:
        with self._lock:
            base = secrets.choice(self.endpoints)
            self.sent[base] += 1
        return client.get(base + self.url), False


def wait_serving(base_url: str, replicas: set[str], timeout: float = 30,
                 verify: bool | ssl.SSLContext = True) -> None:
    """Until nginx has routed to each of `replicas` (by X-Replica; it re-reads DNS every 2 s).
    `verify`: for an https base URL, a context that trusts its CA, or False."""
    seen: set[str] = set()
    with httpx.Client(base_url=base_url, timeout=10, verify=verify) as client:
        def missing() -> set[str]:
            response = client.get("/")
            if response.status_code == 200:
                seen.add(response.headers["x-replica"])
            return replicas - seen
        until("nginx to reach every replica", missing, lambda left: not left, timeout, every_s=0,
              describe=lambda left: f"it never reached {left}")
