"""acme-edge init | run | deploy | check: the acme profile's commands (docker-compose.yml)."""

import sys

from acme_edge import deploy, init, loop
from acme_edge.log import setup

COMMANDS = {"init": init.main, "run": loop.run, "deploy": deploy.main, "check": loop.check}

if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) == 2 else ""
    if command not in COMMANDS:
        sys.exit(f"usage: acme-edge {' | '.join(COMMANDS)}")
    setup(command)
    sys.exit(COMMANDS[command]())
