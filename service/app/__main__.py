"""Entry point: `python -m app` serves ONE uvicorn process, configured from the environment.

Scaling is done by running more replicas behind nginx. `--workers N` exists only for the
comparison profile (compose/workers.yml), which measures uvicorn's own multi-process mode.
"""

from __future__ import annotations

import argparse
import logging.config
import sys

from .server import log_config, serve
from .settings import Settings, SettingsError, ignored


def process_count(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{raw} is not a number of processes (1 or more)")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app",
                                     description="One replica of the API, configured by API_* variables.")
    parser.add_argument("--workers", type=process_count, default=1, metavar="N",
                        help="uvicorn worker processes; only for the comparison profile (default: 1)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"configuration error: {exc}")
    # Here, once, in the replica's log format: worker processes read the environment again.
    logging.config.dictConfig(log_config(settings.log_level))
    for warning in ignored():
        logging.getLogger("app").warning(warning)
    serve(settings, workers=args.workers)


if __name__ == "__main__":
    main()
