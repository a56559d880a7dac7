"""The base images the stack runs, as docker compose resolves them.

compose is the one reader of .env: it applies .env, the environment (which wins) and the
defaults in docker-compose.yml. Scripts and tests ask it here instead of parsing .env.

    python3 scripts/images.py                 NAME=image lines: PYTHON_IMAGE, PYPY_IMAGE, NGINX_IMAGE
    python3 scripts/images.py --values        just the images, one per line
    python3 scripts/images.py NGINX_IMAGE     just that image
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def images() -> dict[str, str]:
    compose = shlex.split(os.environ.get("COMPOSE", "docker compose"))
    # COMPOSE is the caller's own command line (the Makefile's), split without a shell.
    result = subprocess.run([*compose, "config", "--format", "json"], cwd=ROOT,  # noqa: S603
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        sys.exit(f"images: `{shlex.join(compose)} config` failed: {result.stderr.strip()}")
    services = json.loads(result.stdout)["services"]
    args = services["api"]["build"]["args"]
    return {"PYTHON_IMAGE": args["PYTHON_IMAGE"], "PYPY_IMAGE": args["PYPY_IMAGE"],
            "NGINX_IMAGE": services["nginx"]["image"]}


def main(names: list[str]) -> None:
    found = images()
    if names == ["--values"]:
        print("\n".join(found.values()))
        return
    unknown = set(names) - set(found)
    if unknown:
        sys.exit(f"images: no such image variable: {', '.join(sorted(unknown))}; known: {', '.join(found)}")
    for name in names or found:
        print(found[name] if names else f"{name}={found[name]}")


if __name__ == "__main__":
    main(sys.argv[1:])
