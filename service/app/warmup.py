"""Warm a replica up before its port opens, so that no client pays for a cold start.

On PyPy the first requests run in the interpreter until the JIT has compiled the request
path: uvicorn's h11 parser, FastAPI and the job (docs/runtimes.md has the cold and warm
latencies). So the replica first serves real HTTP requests to itself, through a private
server on a loopback port, for `warmup_s` seconds; only then does it bind the port nginx
uses. Meanwhile nginx finds that port closed and sends the request to another replica
(proxy_next_upstream error). Every route runs at least once on any runtime: a self-test
before the replica takes traffic, and the first /api jobs teach the job queue its job time.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import statistics
import time
from dataclasses import dataclass

import uvicorn

PATHS = ("/api", "/api?n=1000", "/")
# What nginx sends (nginx/conf.d/proxy.conf), so that the JIT also compiles the paths that
# read them (uvicorn's proxy headers) before the first real request.
NGINX_HEADERS = ("Host: warm-up\r\nX-Real-IP: 127.0.0.1\r\nX-Forwarded-For: 127.0.0.1\r\n"
                 "X-Forwarded-Proto: http\r\nX-Request-Id: 0123456789abcdef0123456789abcdef\r\n"
                 "User-Agent: warm-up\r\nAccept: */*\r\n")


@dataclass(frozen=True)
class WarmUp:
    requests: int
    seconds: float
    first_ms: float  # the first request, cold
    last_ms: float  # median of the last round of requests, warm

    def __str__(self) -> str:
        return (f"{self.requests} requests in {self.seconds:.1f} s; GET {PATHS[0]} took "
                f"{self.first_ms:.1f} ms cold, {self.last_ms:.2f} ms at the end")


async def get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
    """One keep-alive GET, written and read by hand on the server's own event loop: the image
    has no HTTP client library, and a client thread would only compete for the GIL."""
    writer.write(f"GET {path} HTTP/1.1\r\n{NGINX_HEADERS}\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    length = next((int(line.split(b":", 1)[1]) for line in head.lower().split(b"\r\n")
                   if line.startswith(b"content-length:")), 0)
    body = await reader.readexactly(length)
    if status != b"200":
        raise RuntimeError(f"warm-up: GET {path} answered {status.decode()}: {body[:200]!r}")


async def drive(port: int, seconds: float) -> WarmUp:
    """GET each of PATHS in turn, over one keep-alive connection, until `seconds` are up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    first: list[float] = []  # GET /api's times, in order
    requests = 0
    try:
        while not first or time.monotonic() - started < seconds:
            for path in PATHS:
                sent = time.perf_counter()
                await get(reader, writer, path)
                requests += 1
                if path == PATHS[0]:
                    first.append((time.perf_counter() - sent) * 1000)
    finally:
        writer.close()
    return WarmUp(requests, time.monotonic() - started, first[0], statistics.median(first[-50:]))


async def warm_up(config: uvicorn.Config, seconds: float) -> WarmUp:
    """Serve `config.app` on a loopback port while drive() sends it requests."""
    config.lifespan = "off"  # the real server runs the app's lifespan afterwards
    config.access_log = False
    # proto=IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets that say
    # they are TCP, and without it each response's body waits ~40 ms behind its headers.
    # https://github.com/python/cpython/blob/3.11/Lib/asyncio/base_events.py (_set_nodelay)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(config)
    # uvicorn's "Started server"/"running on" lines would announce a server nobody may use.
    quiet = logging.getLogger("uvicorn.error")
    level, quiet.level = quiet.level, logging.WARNING
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped it
                raise RuntimeError("warm-up: the private server stopped before it started")
            await asyncio.sleep(0.01)
        return await drive(sock.getsockname()[1], seconds)
    finally:
        server.should_exit = True
        await serving
        sock.close()
        quiet.setLevel(level)
