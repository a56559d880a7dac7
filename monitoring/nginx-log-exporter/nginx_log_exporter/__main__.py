"""`python -m nginx_log_exporter`: serve /metrics on EXPORTER_PORT (9114) and read nginx's log."""

import logging
import os
import signal
import sys
from types import FrameType

from prometheus_client import CollectorRegistry, ProcessCollector, disable_created_metrics, start_http_server

from .exporter import Exporter
from .metrics import Metrics
from .settings import Settings


def _exit(signum: int, frame: FrameType | None) -> None:
    # PID 1 in a container gets no default SIGTERM handler: without this, `docker stop` waits
    # its 10 s and kills. https://docs.docker.com/reference/cli/docker/container/run/#init
    sys.exit(0)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="nginx-log-exporter: %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, _exit)
    settings = Settings.from_env(os.environ)
    # No *_created series beside every counter and histogram. (prometheus_client leaves it untyped.)
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)  # its own CPU and memory: process_cpu_seconds_total
    metrics = Metrics(registry, settings.upstream_limit)
    start_http_server(settings.port, registry=registry)
    logging.getLogger("nginx_log_exporter").info("serving /metrics on port %d, reading %s",
                                                  settings.port, settings.containers_dir)
    Exporter(settings, metrics).run_forever()


if __name__ == "__main__":
    main()
