"""The stack file scripts/swarm.py deploys: docker-compose.yml + compose/swarm.yml as compose
renders them, less what the stack loader refuses (why the detour: compose/swarm.yml).

compose is the one reader of .env, here as in scripts/images.py: it interpolates .env and
the environment, and renders only the services of the active profiles (COMPOSE_PROFILES).
"""

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from proc import output

ROOT = Path(__file__).resolve().parents[1]
FILES = ("docker-compose.yml", "compose/swarm.yml")
# NGINX_TLS=on adds this one: HTTPS, and the certificate as secrets, which TLS off must not
# require. compose/swarm.yml's x-nginx-tls says which, as compose resolves it (.env included).
TLS_FILE = "compose/swarm-tls.yml"
TLS_SWITCH = "x-nginx-tls"
# Compose-only services: nginx-log-exporter reads the local engine's container logs by
# compose labels (a swarm task has neither); grafana waits on a healthcheck condition.
NOT_ON_SWARM = frozenset({"nginx-log-exporter", "grafana"})

Config = dict[str, Any]


def render(stack: str, env: Mapping[str, str]) -> Config:
    """`docker compose config` of the two files (three with NGINX_TLS=on), as JSON (which is
    YAML to the stack loader). -p STACK: network names come out as STACK_edge, STACK_backend,
    as the stack names them."""
    rendered = compose_config(stack, env, FILES)
    tls = rendered.get(TLS_SWITCH)
    if tls not in ("on", "off"):
        raise ValueError(f"NGINX_TLS={tls} is not a switch: use NGINX_TLS=on or NGINX_TLS=off")
    return compose_config(stack, env, (*FILES, TLS_FILE)) if tls == "on" else rendered


def compose_config(stack: str, env: Mapping[str, str], files: tuple[str, ...]) -> Config:
    args = [arg for name in files for arg in ("-f", name)]
    rendered: Config = json.loads(output(["docker", "compose", "--project-directory", str(ROOT), *args,
                                          "-p", stack, "config", "--format", "json"], env=env))
    return rendered


def for_swarm(config: Config, scale: int | None) -> Config:
    """The rendered config as the stack loader takes it; scale: the api's replica count
    (None: none set, swarm's default of 1)."""
    services = {name: typed(service) for name, service in config["services"].items() if name not in NOT_ON_SWARM}
    if "api" in services:
        services["api"] = with_replicas(services["api"], scale)
    used = {volume.get("source") for service in services.values() for volume in service.get("volumes", [])}
    volumes = {name: volume for name, volume in config.get("volumes", {}).items() if name in used}
    # The top-level name is refused; the stack name comes from `docker stack deploy`.
    rest = {key: value for key, value in config.items()
            if key not in ("name", "services", "volumes", "secrets", TLS_SWITCH)}
    secrets = {name: versioned(secret) for name, secret in config.get("secrets", {}).items()}
    return rest | {"services": services, "volumes": volumes} | ({"secrets": secrets} if secrets else {})


def versioned(secret: Config) -> Config:
    """A secret from a file, named after a hash of its bytes: swarm refuses to change a
    secret, so a renewed certificate must be a new one (and nginx's task is updated to it)."""
    if "file" not in secret:
        return secret
    try:
        data = Path(secret["file"]).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {secret['file']} for the secret {secret['name']}: {exc.strerror}. "
                         "With NGINX_TLS=on: make certs, or set TLS_CERTS (a folder) or TLS_CERT and "
                         "TLS_KEY to files this user can read (docs/edge.md)") from None
    digest = hashlib.sha256(data).hexdigest()[:12]
    return secret | {"name": f"{secret['name']}-{digest}"}


def typed(service: Config) -> Config:
    """One service, as the stack loader types it: compose writes a published port and a tmpfs
    size as strings, and null for an unset command or entrypoint, which the loader refuses."""
    service = {key: value for key, value in service.items() if value is not None and key != "profiles"}
    if "ports" in service:
        service["ports"] = [port | {"published": int(port["published"])} if "published" in port else port
                            for port in service["ports"]]
    if "volumes" in service:
        service["volumes"] = [with_tmpfs_size(volume) for volume in service["volumes"]]
    if "secrets" in service:
        # compose writes a mode as an octal string ("0400"); the loader takes a number.
        service["secrets"] = [secret | {"mode": int(secret["mode"], 8)} if isinstance(secret.get("mode"), str)
                              else secret for secret in service["secrets"]]
    return service


def with_tmpfs_size(volume: Config) -> Config:
    if "size" not in volume.get("tmpfs", {}):
        return volume
    return volume | {"tmpfs": volume["tmpfs"] | {"size": int(volume["tmpfs"]["size"])}}


def with_replicas(service: Config, scale: int | None) -> Config:
    """SCALE is the one replica count: it replaces whatever docker-compose.yml says."""
    deploy = {key: value for key, value in service.get("deploy", {}).items() if key != "replicas"}
    if scale is not None:
        deploy["replicas"] = scale
    return service | {"deploy": deploy}


def mirrored(config: Config, registry: str) -> tuple[Config, dict[str, str]]:
    """Every image but the api's (built and pushed on its own) renamed to its copy in registry,
    and which image goes to which copy: the lab's nodes reach no other registry."""
    copies: dict[str, str] = {}
    services = dict(config["services"])
    for name, service in services.items():
        if name != "api":
            copies[service["image"]] = copy_name(service["image"], registry)
            services[name] = service | {"image": copies[service["image"]]}
    return config | {"services": services}, copies


def copy_name(image: str, registry: str) -> str:
    """registry/ + the image's last path part: local/python-base:bookworm -> REGISTRY/python-base:bookworm."""
    return f"{registry}/{image.rsplit('/', 1)[-1]}"


def stack_file(config: Config) -> str:
    """The text for `docker stack deploy -c -`. compose has interpolated every variable, so a
    `$` left is a literal one: escaped as `$$`, or the stack loader would interpolate again."""
    return json.dumps(config, indent=1).replace("$", "$$")
