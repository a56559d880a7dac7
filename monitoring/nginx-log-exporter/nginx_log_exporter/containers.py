"""The containers in Docker's containers dir (one `<id>/config.v2.json` each), and which is ours."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
# Docker bind-mounts <containers dir>/<id>/{hostname,hosts,resolv.conf} into each container;
# /proc/self/mountinfo shows that source path (relative to its filesystem's root).
_OWN_ID = re.compile(r"/containers/([0-9a-f]{64})/(?:hostname|hosts|resolv\.conf) ")


@dataclass(frozen=True)
class Container:
    """What a container's config.v2.json says about it (the fields we use)."""

    id: str
    hostname: str
    project: str
    service: str
    running: bool
    log_path: Path | None  # None: not the json-file logging driver


def list_containers(root: Path) -> list[Container]:
    """Every container in `root` with a readable config; OSError when `root` cannot be listed."""
    containers = []
    for directory in sorted(root.iterdir()):
        container = read_container(directory)
        if container is not None:
            containers.append(container)
    return containers


def read_container(directory: Path) -> Container | None:
    """The container in `directory`, or None if its config is missing or half-written."""
    try:
        config = json.loads((directory / "config.v2.json").read_bytes())
        labels = config["Config"].get("Labels") or {}
        log_path = config.get("LogPath") or ""
        return Container(
            id=config["ID"],
            hostname=config["Config"].get("Hostname", ""),
            project=labels.get(PROJECT_LABEL, ""),
            service=labels.get(SERVICE_LABEL, ""),
            running=bool(config["State"]["Running"]),
            # LogPath is the path on the Docker host: the same file under our mount of the dir.
            log_path=directory / Path(log_path).name if log_path else None,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def find_self(containers: list[Container], mountinfo: str, hostname: str) -> Container | None:
    """Our own container: by the id in our mounts, else by hostname (the short id by default).

    The mounts come first: they hold the full id whatever the hostname (compose's `hostname:`
    changes it) and on cgroup v2, where /proc/self/cgroup no longer shows the id."""
    by_id = {c.id: c for c in containers}
    for own_id in _OWN_ID.findall(mountinfo):
        if own_id in by_id:
            return by_id[own_id]
    if not hostname:
        return None
    short_id = len(hostname) == 12
    matches = [c for c in containers
               if c.running and ((short_id and c.id.startswith(hostname)) or c.hostname == hostname)]
    return matches[0] if len(matches) == 1 else None
