"""uvicorn, configured in one place for every way the app is served.

The product runs ONE uvicorn process per container (`python -m app`) and scales with
more replicas behind nginx. workers > 1 exists only for the comparison profile
(compose/workers.yml, make bench-workers): uvicorn's own multi-process mode, measured
against the replicas with the very same settings.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG, STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from .main import begin_drain, create_app
from .settings import Settings
from .warmup import WarmUp, warm_up

# What each worker process imports and calls to build its own app (and job queue) from
# the environment: uvicorn can only start workers > 1 from an import string.
APP_FACTORY = "app.main:create_app"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging plus the app's lines on stdout, as a dict uvicorn applies itself.

    uvicorn applies it in every process it starts, so worker processes log like a replica.
    """
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["app"] = {"format": LOG_FORMAT}
    config["handlers"]["app"] = {"class": "logging.StreamHandler", "formatter": "app",
                                 "stream": "ext://sys.stdout"}
    config["root"] = {"handlers": ["app"], "level": level.upper()}
    return config


def uvicorn_config(settings: Settings, app: FastAPI | None = None, *, workers: int = 1) -> uvicorn.Config:
    """The one uvicorn.Config behind the replica, the workers profile and make bench-cost.

    app=None: uvicorn builds the app from APP_FACTORY, in each worker process. workers > 1
    needs that, as uvicorn.run() insists; those workers read the same environment again.
    """
    if workers > 1 and app is not None:
        raise ValueError("workers > 1 build their own apps: pass app=None")
    return uvicorn.Config(
        APP_FACTORY if app is None else app,
        factory=app is None,
        workers=workers,
        host=settings.host,
        port=settings.port,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_keep_alive=settings.keep_alive_s,
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
        limit_concurrency=settings.limit_concurrency,
        access_log=settings.access_log,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level),
        server_header=False,
    )


class DrainingServer(uvicorn.Server):
    """Run `on_drain` (flip readiness) before uvicorn starts its graceful shutdown.

    uvicorn then stops accepting, closes idle keep-alive connections and waits for the
    in-flight requests (up to timeout_graceful_shutdown). See
    https://www.uvicorn.org/deployment/#graceful-process-shutdown
    """

    def __init__(self, config: uvicorn.Config, on_drain: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_drain = on_drain

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.on_drain()
        logging.getLogger("app").info("got %s: finishing in-flight requests", signal.Signals(sig).name)
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM and sig in self._captured_signals:
            # uvicorn re-raises captured signals once shut down (Server.capture_signals), so
            # the process would die of SIGTERM (exit 143). A finished drain is a clean exit: 0.
            self._captured_signals.remove(sig)


async def warm_up_uncounted(app: FastAPI, settings: Settings) -> WarmUp:
    """The warm-up's requests are the replica's own: /metrics counts only the clients'."""
    metrics = app.state.metrics
    if metrics:
        metrics.counting = False
    try:
        return await warm_up(uvicorn_config(settings, app), settings.warmup_s)
    finally:
        if metrics:
            metrics.counting = True


def serve(settings: Settings, workers: int = 1) -> None:
    """Serve until SIGTERM, the way uvicorn.run() would, with the config above."""
    if workers == 1:
        app = create_app(settings)
        report = asyncio.run(warm_up_uncounted(app, settings))
        logging.getLogger("app").info("replica=%s warmed up: %s", settings.replica_id, report)
        server = DrainingServer(uvicorn_config(settings, app), on_drain=lambda: begin_drain(app))
        server.run()
        if not server.started:  # e.g. the lifespan startup failed: not a clean exit
            sys.exit(STARTUP_FAILURE)
        return
    # uvicorn.run()'s path for workers > 1 (no warm-up: a comparison profile): bind once, then a supervisor that keeps N
    # worker processes alive and passes SIGTERM on to them (each drains on its own).
    config = uvicorn_config(settings, workers=workers)
    Multiprocess(config, sockets=[config.bind_socket()]).run()
