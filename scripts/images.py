"""The base images the stack and the Node reference run, as docker compose resolves them.

compose is the one reader of .env: it applies .env, the environment (which wins) and the
defaults in docker-compose.yml (and in reference/node-cluster/compose.yml, whose .env is a
link to the repository's). Scripts and tests ask it here instead of parsing .env.

    python3 scripts/images.py                 NAME=image lines: PYTHON_IMAGE, PYPY_IMAGE, NGINX_IMAGE,
                                              NODE_IMAGE, NODE_BUILD_IMAGE
    python3 scripts/images.py --values        just the images, one per line, each once
    python3 scripts/images.py NGINX_IMAGE     just that image
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


def services(*files: str) -> dict[str, Any]:
    compose = shlex.split(os.environ.get("COMPOSE", "docker compose"))
    args = [arg for name in files for arg in ("-f", name)]
    # COMPOSE is the caller's own command line (the Makefile's), split without a shell.
    result = subprocess.run([*compose, *args, "config", "--format", "json"], cwd=ROOT,  # noqa: S603
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        sys.exit(f"images: `{shlex.join([*compose, *args])} config` failed: {result.stderr.strip()}")
    found: dict[str, Any] = json.loads(result.stdout)["services"]
    return found


STACK = ("PYTHON_IMAGE", "PYPY_IMAGE", "NGINX_IMAGE")
NODE = ("NODE_IMAGE", "NODE_BUILD_IMAGE")
KNOWN = (*STACK, *NODE)


def images(names: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    if not names or set(STACK) & set(names):
        stack = services()
        args = stack["api"]["build"]["args"]
        found |= {"PYTHON_IMAGE": args["PYTHON_IMAGE"], "PYPY_IMAGE": args["PYPY_IMAGE"],
                  "NGINX_IMAGE": stack["nginx"]["image"]}
    if not names or set(NODE) & set(names):
        node = services(NODE_COMPOSE_FILE)["node"]["build"]["args"]
        found |= {"NODE_IMAGE": node["NODE_IMAGE"], "NODE_BUILD_IMAGE": node["NODE_BUILD_IMAGE"]}
    return found


def main(names: list[str]) -> None:
    if names == ["--values"]:
        print("\n".join(dict.fromkeys(images([]).values())))
        return
    unknown = set(names) - set(KNOWN)
    if unknown:
        sys.exit(f"images: no such image variable: {', '.join(sorted(unknown))}; known: {', '.join(KNOWN)}")
    found = images(names)
    for name in names or KNOWN:
        print(found[name] if names else f"{name}={found[name]}")


if __name__ == "__main__":
    main(sys.argv[1:])
