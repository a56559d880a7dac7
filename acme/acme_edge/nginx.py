"""A graceful nginx reload from the acme container, with no Docker socket: compose puts it
in nginx's process namespace (pid: service:nginx) and runs it as nginx's user, so it may
signal nginx's master. SIGHUP: re-read the config and certificates, start new workers, let
the old ones finish their requests. https://nginx.org/en/docs/control.html
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

MASTER = b"nginx: master process"


class NoNginx(Exception):
    pass


def masters(proc: Path = Path("/proc")) -> list[int]:
    found = []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(MASTER):
                    found.append(int(entry.name))
            except OSError:
                continue  # it ended while we looked
    return found


def reload() -> int:
    """SIGHUP to nginx's master; its pid."""
    found = masters()
    if len(found) != 1:
        raise NoNginx(f"found {len(found)} nginx master processes ({found}) where 1 was expected: the acme service"
                      " needs `pid: service:nginx` and nginx's user (docker-compose.yml). Reload by hand:"
                      " docker compose exec nginx nginx -s reload")
    os.kill(found[0], signal.SIGHUP)
    return found[0]
