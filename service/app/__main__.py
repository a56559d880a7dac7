"""Entry point: `python -m app` serves ONE uvicorn process, configured from the environment.

Scaling is done by running more replicas behind nginx, never with --workers here.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import uvicorn

from .main import begin_drain, create_app
from .settings import Settings, SettingsError


class DrainingServer(uvicorn.Server):
    """Flip readiness before uvicorn starts its graceful shutdown.

    uvicorn then stops accepting, closes idle keep-alive connections and waits for the
    in-flight requests (up to timeout_graceful_shutdown). See
    https://www.uvicorn.org/deployment/#graceful-process-shutdown
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        begin_drain(self.config.app)
        logging.getLogger("app").info("got %s: finishing in-flight requests", signal.Signals(sig).name)
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM and sig in self._captured_signals:
            # uvicorn re-raises captured signals once shut down (Server.capture_signals), so
            # the process would die of SIGTERM (exit 143). A finished drain is a clean exit: 0.
            self._captured_signals.remove(sig)


def main() -> None:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"configuration error: {exc}")
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_keep_alive=settings.keep_alive_s,
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
        limit_concurrency=settings.limit_concurrency,
        access_log=settings.access_log,
        log_level=settings.log_level,
        server_header=False,
    )
    DrainingServer(config).run()


if __name__ == "__main__":
    main()
