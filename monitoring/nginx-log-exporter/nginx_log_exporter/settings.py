"""The exporter's settings, from environment variables (defaults suit the compose stack)."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    # Docker's default data root; rootless Docker and Docker Desktop keep it elsewhere.
    containers_dir: Path = Path("/var/lib/docker/containers")
    nginx_service: str = "nginx"
    # Empty: the compose project of the exporter's own container.
    project: str = ""
    port: int = 9114
    scan_interval_s: float = 5.0
    poll_interval_s: float = 1.0
    # Replica addresses change with every recreated container: past this, "other".
    upstream_limit: int = 256

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        """Settings from DOCKER_CONTAINERS_DIR, NGINX_SERVICE, COMPOSE_PROJECT and the rest."""
        default = cls()
        try:
            return cls(
                containers_dir=Path(env.get("DOCKER_CONTAINERS_DIR") or default.containers_dir),
                nginx_service=env.get("NGINX_SERVICE") or default.nginx_service,
                project=env.get("COMPOSE_PROJECT", default.project),
                port=int(env.get("EXPORTER_PORT") or default.port),
                scan_interval_s=float(env.get("SCAN_INTERVAL_S") or default.scan_interval_s),
                poll_interval_s=float(env.get("POLL_INTERVAL_S") or default.poll_interval_s),
                upstream_limit=int(env.get("UPSTREAM_LABEL_LIMIT") or default.upstream_limit),
            )
        except ValueError as error:
            raise SystemExit(f"nginx-log-exporter: a setting is not a number: {error}") from None
