"""The base images the stack and the Node reference run, as docker compose resolves them.

compose is the one reader of .env: it applies .env, the environment (which wins) and the
defaults in docker-compose.yml (and in reference/node-cluster/compose.yml, whose .env is a
link to the repository's). Scripts and tests ask it here instead of parsing .env.
The monitoring images (MONITORING below) are resolved by compose too, from a one-line
service per image, so that promtool runs without the monitoring services.

    python3 scripts/images.py                 PYTHON_IMAGE=..., PYPY_IMAGE=..., NGINX_IMAGE=...,
                                              NODE_IMAGE=..., NODE_BUILD_IMAGE=...,
                                              PROMETHEUS_IMAGE=..., NGINX_EXPORTER_IMAGE=... lines
    python3 scripts/images.py NGINX_IMAGE     just that image
    python3 scripts/images.py --env A B       A=... and B=... lines, for these only
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NODE_COMPOSE_FILE = "reference/node-cluster/compose.yml"
# The official images, as docker-compose.yml's ${VAR:-default} must name them too
# (tests/monitoring/test_config.py holds them together); offline, .env names stand-ins.
MONITORING = {"PROMETHEUS_IMAGE": "prom/prometheus:v3.5.0",
              "NGINX_EXPORTER_IMAGE": "nginx/nginx-prometheus-exporter:1.4.2",
              # Not in compose: the swarm lab's registry (scripts/lab.py).
              "REGISTRY_IMAGE": "registry:2",
              # Not in compose either: the acme profile's test CA (tests/e2e/test_acme.py).
              "PEBBLE_IMAGE": "ghcr.io/letsencrypt/pebble:2.6.0"}


def services(*files: str, stdin: str | None = None) -> dict[str, Any]:
    """`docker compose -f FILE... config`; with stdin, a compose file read from it (`-f -`),
    in the repository's project directory, so with its .env."""
    compose = shlex.split(os.environ.get("COMPOSE", "docker compose"))
    args = [arg for name in files for arg in ("-f", name)]
    if stdin is not None:
        args = ["--project-directory", str(ROOT), "-f", "-"]
    # COMPOSE is the caller's own command line (the Makefile's), split without a shell.
    result = subprocess.run([*compose, *args, "config", "--format", "json"], cwd=ROOT,
                            input=stdin, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        sys.exit(f"images: `{shlex.join([*compose, *args])} config` failed: {result.stderr.strip()}")
    found: dict[str, Any] = json.loads(result.stdout)["services"]
    return found


def variable(name: str) -> str:
    """NAME as compose resolves it: the environment, else .env; empty when neither sets it."""
    resolved = services(stdin=f"services:\n  variable:\n    image: scratch\n"
                              f"    environment: {{VALUE: '${{{name}:-}}'}}\n")
    return str(resolved["variable"]["environment"]["VALUE"] or "")


def images(names: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    if not names or {"PYTHON_IMAGE", "PYPY_IMAGE", "NGINX_IMAGE"} & set(names):
        stack = services()
        api = stack["api"]["build"]["args"]
        found |= {"PYTHON_IMAGE": api["PYTHON_IMAGE"], "PYPY_IMAGE": api["PYPY_IMAGE"],
                  "NGINX_IMAGE": stack["nginx"]["image"]}
    if not names or {"NODE_IMAGE", "NODE_BUILD_IMAGE"} & set(names):
        node = services(NODE_COMPOSE_FILE)["node"]["build"]["args"]
        found |= {"NODE_IMAGE": node["NODE_IMAGE"], "NODE_BUILD_IMAGE": node["NODE_BUILD_IMAGE"]}
    wanted = [name for name in MONITORING if not names or name in names]
    if wanted:
        # One service per image, named after its variable: `PROMETHEUS_IMAGE` -> prometheus-image.
        lines = [f"  {name.lower().replace('_', '-')}: {{image: '${{{name}:-{MONITORING[name]}}}'}}"
                 for name in wanted]
        resolved = services(stdin="\n".join(["services:", *lines, ""]))
        found |= {name: resolved[name.lower().replace("_", "-")]["image"] for name in wanted}
    return found


KNOWN = ("PYTHON_IMAGE", "PYPY_IMAGE", "NGINX_IMAGE", "NODE_IMAGE", "NODE_BUILD_IMAGE", *MONITORING)


def main(args: list[str]) -> None:
    lines = not args or args[0] == "--env"
    names = args[1:] if args[:1] == ["--env"] else args
    unknown = set(names) - set(KNOWN)
    if unknown:
        sys.exit(f"images: no such image variable: {', '.join(sorted(unknown))}; known: {', '.join(KNOWN)}")
    found = images(names)
    for name in names or KNOWN:
        print(f"{name}={found[name]}" if lines else found[name])


if __name__ == "__main__":
    main(sys.argv[1:])
