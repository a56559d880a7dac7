"""The Node reference's files (reference/node-cluster/), checked without running it: the
code parses, the pins are exact and hashed, and compose finds NODE_IMAGE from the root."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.config

REF = ROOT / "reference" / "node-cluster"
NODE_VARS = ("NODE_IMAGE", "NODE_BUILD_IMAGE", "NODE_BIND", "NODE_PORT", "SCALE", "NODE_REF_IMAGE")


@pytest.mark.parametrize("script", ["app.js", "healthcheck.js"])
def test_the_scripts_parse(script: str) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("SKIPPED, NOT PASSED: node is not installed here (the e2e tests run it in Docker)")
    result = subprocess.run([node, "--check", str(REF / script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_express_is_pinned_and_the_lockfile_hashes_every_package() -> None:
    package = json.loads((REF / "package.json").read_text())
    lock = json.loads((REF / "package-lock.json").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+", package["dependencies"]["express"]), "pin an exact version"
    assert lock["lockfileVersion"] >= 2, "npm ci needs a v2+ lockfile"
    assert lock["packages"][""]["dependencies"] == package["dependencies"], "npm install, then commit the lock"
    assert lock["packages"]["node_modules/express"]["version"] == package["dependencies"]["express"]
    installed = {name: entry for name, entry in lock["packages"].items() if name}
    assert len(installed) > 10
    unhashed = [name for name, entry in installed.items() if not entry.get("integrity", "").startswith("sha512-")]
    assert unhashed == []


def dockerfile(instruction: str) -> list[str]:
    text = (REF / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in text.splitlines() if line.split()[:1] == [instruction]]


def test_dockerfile_installs_from_the_lockfile_and_runs_as_a_user() -> None:
    assert dockerfile("ARG")[:2] == ["NODE_IMAGE=node:24-slim", "NODE_BUILD_IMAGE=${NODE_IMAGE}"]
    assert [run for run in dockerfile("RUN") if "npm" in run] == ["npm ci --omit=dev --no-audit --no-fund"]
    assert dockerfile("USER") == ["10001:10001"]
    assert dockerfile("CMD") == ['["node", "app.js"]'], "exec form: the primary gets SIGTERM"
    (health,) = dockerfile("HEALTHCHECK")
    assert health.endswith('CMD ["node", "healthcheck.js"]')


def compose_config(compose_file: Path, cwd: Path) -> dict:
    """`docker compose -f FILE config` from CWD, as a user runs it, with none of the
    reference's variables in the environment: only .env may set them."""
    env = {k: v for k, v in os.environ.items() if k not in NODE_VARS}
    result = subprocess.run(["docker", "compose", "-f", str(compose_file), "config", "--format", "json"],
                            capture_output=True, text=True, timeout=60, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    config: dict = json.loads(result.stdout)
    return config


def test_the_env_link_points_at_the_repository_env() -> None:
    link = REF / ".env"
    assert link.is_symlink() and os.readlink(link) == "../../.env", \
        "compose reads .env from the compose file's folder: it must be the repository's"


def test_compose_reads_node_image_from_the_root_env(docker: None, tmp_path: Path) -> None:
    """The stock command from the repository root, on a copy with a known .env."""
    copy = tmp_path / "reference" / "node-cluster"
    copy.mkdir(parents=True)
    shutil.copy(REF / "compose.yml", copy)
    (copy / ".env").symlink_to(os.readlink(REF / ".env"))
    (tmp_path / ".env").write_text("NODE_IMAGE=example/node:from-root-env\n")
    args = compose_config(copy / "compose.yml", cwd=tmp_path)["services"]["node"]["build"]["args"]
    assert args == {"NODE_IMAGE": "example/node:from-root-env", "NODE_BUILD_IMAGE": "example/node:from-root-env"}
    (tmp_path / ".env").write_text("NODE_IMAGE=example/node:run\nNODE_BUILD_IMAGE=example/node:build\n")
    args = compose_config(copy / "compose.yml", cwd=tmp_path)["services"]["node"]["build"]["args"]
    assert args == {"NODE_IMAGE": "example/node:run", "NODE_BUILD_IMAGE": "example/node:build"}
    (tmp_path / ".env").unlink()
    args = compose_config(copy / "compose.yml", cwd=tmp_path)["services"]["node"]["build"]["args"]
    assert args == {"NODE_IMAGE": "node:24-slim", "NODE_BUILD_IMAGE": "node:24-slim"}


def test_compose_runs_the_cluster_directly_and_hardened(docker: None) -> None:
    config = compose_config(REF / "compose.yml", cwd=ROOT)
    assert config["name"] == "pycluster-node"
    assert list(config["services"]) == ["node"], "no nginx: the article ran the cluster directly"
    node = config["services"]["node"]
    assert node["environment"] == {"WORKERS": ""}, "empty: one worker per core"
    assert node["ports"] == [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 3000, "published": "3000",
                              "protocol": "tcp"}]
    assert node["init"] is True and node["read_only"] is True
    assert node["cap_drop"] == ["ALL"] and "no-new-privileges:true" in node["security_opt"]
    assert node["build"]["context"] == str(REF)


def test_n_is_bounded_as_the_service_bounds_it() -> None:
    """app.js: "The bound is the service's API_MAX_N default", so the same mix runs on both."""
    from app.settings import Settings

    bound = re.search(r"^const MAX_N = (\d+);$", (REF / "app.js").read_text(), re.MULTILINE)
    assert bound and int(bound[1]) == Settings.max_n, f"app.js MAX_N vs settings.py max_n {Settings.max_n}"
