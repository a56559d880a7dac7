"""The acme profile in docker-compose.yml: off unless asked for, and as hardened as the rest."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import images
from tests.conftest import ROOT
from tests.test_compose import config

pytestmark = pytest.mark.config

ACME = {"acme-init", "acme"}
PEBBLE_OVERRIDE = "tests/e2e/acme/compose.yml"  # tests/e2e/test_acme.py's


def test_without_the_profile_nothing_of_acme_runs_and_nginx_needs_no_acme_init(docker: None) -> None:
    services = config(env={k: v for k, v in os.environ.items() if k != "COMPOSE_PROFILES"})["services"]
    assert ACME.isdisjoint(services)
    assert services["nginx"]["depends_on"]["acme-init"] == {
        "condition": "service_completed_successfully", "required": False}


def test_acme_services_are_hardened_and_reach_nginx_without_a_docker_socket(docker: None) -> None:
    services = config(env={**os.environ, "COMPOSE_PROFILES": "acme"})["services"]
    init, acme = services["acme-init"], services["acme"]
    for service in (init, acme):
        assert service["read_only"] and service["cap_drop"] == ["ALL"], service
        assert "no-new-privileges:true" in service["security_opt"]
        assert all("docker.sock" not in str(volume) for volume in service["volumes"])
    assert (init["user"], sorted(init["cap_add"]), init["network_mode"]) == ("0:0", ["CHOWN", "SETGID", "SETUID"],
                                                                              "none")
    assert (acme["user"], acme["pid"], acme.get("cap_add")) == ("101:101", "service:nginx", None)
    assert acme["depends_on"]["acme-init"]["condition"] == "service_completed_successfully"


def test_the_acme_image_and_its_healthcheck_are_each_written_once(docker: None) -> None:
    services = config(env={**os.environ, "COMPOSE_PROFILES": "acme"})["services"]
    assert services["acme-init"]["image"] == services["acme"]["image"]
    assert (ROOT / "docker-compose.yml").read_text().count("${ACME_IMAGE:-") == 1, "one default, one anchor"
    assert services["acme"]["healthcheck"]["test"] == ["CMD", "acme-edge", "check"]
    assert "HEALTHCHECK" not in "".join(
        line.split("#")[0] for line in (ROOT / "acme/Dockerfile").read_text().splitlines()), \
        "the healthcheck's one home is docker-compose.yml"


def test_the_pebble_override_takes_its_image_from_scripts_images_and_needs_no_shell_in_it(
        docker: None, tmp_path: Path) -> None:
    (tmp_path / "empty.env").write_text("")
    env = {k: v for k, v in os.environ.items() if k != "PEBBLE_IMAGE"} | {"COMPOSE_PROFILES": "acme"}
    args = ["docker", "compose", "--project-directory", str(ROOT), "--env-file", str(tmp_path / "empty.env"),
            "-f", str(ROOT / "docker-compose.yml"), "-f", str(ROOT / PEBBLE_OVERRIDE), "config", "--format", "json"]
    unset = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert unset.returncode != 0 and "scripts/setup.sh images PEBBLE_IMAGE" in unset.stderr, unset.stderr
    default = images.MONITORING["PEBBLE_IMAGE"]
    done = subprocess.run(args, capture_output=True, text=True, env=env | {"PEBBLE_IMAGE": default}, timeout=60)
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    pebble = services["pebble"]
    assert pebble["image"] == default
    assert "healthcheck" not in pebble, "the official image has no bash (maybe no shell): the test waits from the host"
    assert {(p["target"], p.get("host_ip")) for p in pebble["ports"]} == {(14000, "127.0.0.1"), (15000, "127.0.0.1")}
    assert services["acme"]["depends_on"]["pebble"]["condition"] == "service_started"
