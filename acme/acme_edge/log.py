"""One logger for every command, on stdout: certbot shows a hook's stderr as "error output"."""

import logging
import sys

log = logging.getLogger("acme")


def setup(command: str) -> None:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format=f"acme {command} %(levelname)s: %(message)s")
