"""`python -m bench cost`: server CPU per /api request against the bare loop, in one process,
then with the replica's metrics on against off (bench/studies/metrics_cost.py).

The replica (uvicorn + FastAPI + the job queue, logging as in production) runs in this
process on a thread; a client in another process sends sequential requests, so its CPU is
not counted. Then the same process times the bare loop. The ratio is what the HTTP stack
costs on top of the work. Target: at most 1.15.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from datetime import datetime

import uvicorn

from app.main import create_app
from app.server import uvicorn_config
from app.settings import Settings as AppSettings
from app.work import sum_down

from ..progress import note
from ..settings import BenchError, Settings
from .metrics_cost import TARGET, implied_ratio, line, metrics_cost

CLIENT = """
import sys, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
for _ in range(n):
    with urllib.request.urlopen(url) as r:
        assert r.read() == b"Result number is 339111948196"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(port: int) -> uvicorn.Server:
    settings = AppSettings(replica_id="cost", host="127.0.0.1", port=port)
    # The replica's own uvicorn config (app.server), so the cost is the production stack's.
    server = uvicorn.Server(uvicorn_config(settings, create_app(settings)))
    # The job log goes through the same formatting as in production, to a sink; uvicorn's
    # startup lines stay off the console, which shows only the result.
    sink = open(os.devnull, "w")  # noqa: SIM115 - the handlers write to it until the process ends
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise BenchError("the in-process replica did not start within 15 s")
        time.sleep(0.05)
    return server


def cpu_per_request(port: int, requests: int) -> float:
    client = [sys.executable, "-c", CLIENT, f"http://127.0.0.1:{port}/api"]
    subprocess.run([*client, "20"], check=True)  # warm-up
    started = time.process_time()
    subprocess.run([*client, str(requests)], check=True)
    return (time.process_time() - started) / requests


def bare_loop_cpu(runs: int) -> float:
    started = time.process_time()
    for _ in range(runs):
        sum_down()
    return (time.process_time() - started) / runs


def cost(settings: Settings) -> dict[str, object]:
    requests = settings.cost_requests
    port = free_port()
    note(f"cost: {requests} sequential /api requests to an in-process replica, then the bare loop")
    server = serve(port)
    try:
        served = cpu_per_request(port, requests)
    finally:
        server.should_exit = True
    bare = bare_loop_cpu(requests)
    result: dict[str, object] = {
        "requests": requests, "server_cpu_ms_per_request": round(served * 1000, 3),
        "bare_loop_cpu_ms": round(bare * 1000, 3), "ratio": round(served / bare, 3), "target": 1.15}
    print(f"server CPU per /api request: {result['server_cpu_ms_per_request']} ms; bare loop: "
          f"{result['bare_loop_cpu_ms']} ms; ratio {result['ratio']} (target <= 1.15)", flush=True)
    costs = metrics_cost(settings)
    implied = implied_ratio(*costs)
    result["metrics"] = {"target": TARGET, "jobs": [asdict(c) for c in costs], "implied_article_ratio": implied}
    print("\n".join(line(c) for c in costs))
    print(f"the cheap job's fixed cost ({costs[1].fixed_ms * 1000:+.1f} us per request) on the article's job: "
          f"ratio {implied}")
    out = settings.results_dir / f"cost-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Results: {out}")
    return result
