"""A fake Docker containers dir: what dockerd writes for each container, and json-file lines."""

import json
from pathlib import Path

from prometheus_client import CollectorRegistry

PROJECT = "pycluster"
SELF_ID = "e" * 64
NGINX_ID = "a" * 64


def add_container(root: Path, cid: str, service: str, *, project: str = PROJECT, running: bool = True,
                  hostname: str = "") -> Path:
    """A container as dockerd keeps it: <id>/config.v2.json and an (empty) <id>-json.log."""
    directory = root / cid
    directory.mkdir(parents=True)
    config = {"ID": cid, "State": {"Running": running},
              "Config": {"Hostname": hostname or cid[:12],
                         "Labels": {"com.docker.compose.project": project, "com.docker.compose.service": service}},
              "LogPath": f"/var/lib/docker/containers/{cid}/{cid}-json.log"}
    (directory / "config.v2.json").write_text(json.dumps(config))
    log = directory / f"{cid}-json.log"
    log.touch()
    return log


def access(status: int = 200, addr: str = "172.18.0.3:8000", upstream_status: str = "200",
           times: str = "0.004", request_time: float = 0.005) -> str:
    """One line of nginx/conf.d/logging.conf's format."""
    return json.dumps({"time": "2026-11-29T11:00:00+00:00", "request_id": "r", "remote_addr": "10.0.0.1",
                       "request": "GET /api HTTP/1.1", "status": status, "bytes_sent": 20,
                       "request_time": request_time, "upstream_addr": addr, "upstream_status": upstream_status,
                       "upstream_response_time": times, "user_agent": "k6"})


def docker_line(message: str, stream: str = "stdout", newline: bool = True) -> bytes:
    entry = {"log": message + ("\n" if newline else ""), "stream": stream, "time": "2026-11-29T11:00:00.1Z"}
    return json.dumps(entry).encode() + b"\n"


def append(log: Path, *lines: bytes) -> None:
    with log.open("ab") as file:
        file.write(b"".join(lines))


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found
